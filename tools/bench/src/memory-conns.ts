/**
 * The memory bench's connections (memory.ts), each step bounded: a connection the target
 * refuses, closes before its ICResp or never answers is counted with the reason and reported,
 * never waited on forever (a bench that hangs reports nothing). The target closes a connection
 * before ICResp when it is at its connection limit (`maxConnections`), and after ICResp when
 * no Connect came within its deadline (`connectTimeoutMs`, 10 s by default).
 */
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';

import { IcReqView } from '@nvmu/nvme-spec';

/** Bytes of an ICResp (NVMe/TCP 1.0 Figure 27: HLEN = PLEN = 128). */
const ICRESP_SIZE = 128;

/** An ICReq (NVMe/TCP 1.0 Figure 26): type 0, HLEN = PLEN = 128, PFV 0, no digests. */
function icreq(): Buffer {
  const b = Buffer.alloc(IcReqView.SIZE);
  new IcReqView(b).init();
  return b;
}

/** Failures counted by reason ("closed before ICResp", "no ICResp within 10000 ms", "ECONNRESET", ...). */
export class Failures {
  readonly byReason = new Map<string, number>();
  count = 0;

  add(reason: string): void {
    this.count++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }

  /** "3 (closed before ICResp: 2, ECONNRESET: 1)", or "0". */
  toString(): string {
    if (this.count === 0) return '0';
    return `${this.count} (${[...this.byReason].map(([r, n]) => `${r}: ${n}`).join(', ')})`;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.byReason);
  }
}

/** The reason an operation failed, short: the errno code when there is one, else the message. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : err.message;
  }
  return String(err);
}

/**
 * `p`, or a rejection with "`what` took more than `ms` ms" once `ms` passed (the operation is
 * left running: the caller cleans up what it started).
 */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} took more than ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One connection that sends an ICReq and nothing else, resolved once its ICResp arrived (the
 * target has then handled the ICReq). Rejects if the target closes or resets it first, or no
 * ICResp came within `timeoutMs`; the socket is then destroyed.
 */
export function openIdle(port: number, host: string, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect({ port, host });
    let got = 0;
    const fail = (reason: string): void => {
      clearTimeout(timer);
      s.removeAllListeners('data');
      s.destroy();
      reject(new Error(reason));
    };
    const timer = setTimeout(() => { fail(`no ICResp within ${timeoutMs} ms`); }, timeoutMs);
    s.on('error', (err) => { fail(reasonOf(err)); });
    s.on('close', () => { fail('closed before ICResp'); });
    s.once('connect', () => s.write(icreq()));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got < ICRESP_SIZE) return;
      clearTimeout(timer);
      s.removeAllListeners('data');
      s.removeAllListeners('close');
      // Errors after this point (the target closing it at its Connect deadline) are not ours to report here.
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

export interface IdleConnections {
  /** The connections that got their ICResp. */
  readonly open: Socket[];
  /** The ones that did not, by reason. */
  readonly failures: Failures;
}

/**
 * `n` idle connections (ICReq only), `batch` at a time (so all are open well within the
 * target's Connect deadline); every one either opens or is counted as failed within `timeoutMs`.
 */
export async function openIdleConnections(port: number, n: number, opts: { host?: string; batch?: number; timeoutMs?: number } = {}): Promise<IdleConnections> {
  const host = opts.host ?? '127.0.0.1';
  const batch = Math.max(1, opts.batch ?? 100);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const open: Socket[] = [];
  const failures = new Failures();
  for (let started = 0; started < n; started += batch) {
    const results = await Promise.allSettled(Array.from({ length: Math.min(batch, n - started) }, () => openIdle(port, host, timeoutMs)));
    for (const r of results) {
      if (r.status === 'fulfilled') open.push(r.value);
      else failures.add(reasonOf(r.reason));
    }
  }
  return { open, failures };
}

/**
 * Closes every socket and waits for each to be closed, at most `timeoutMs` for all. Returns how
 * many the target had already closed (its Connect deadline, a reset) before this was called.
 */
export async function closeAll(socks: readonly Socket[], timeoutMs = 10_000): Promise<number> {
  let closedByPeer = 0;
  const closing: Promise<unknown>[] = [];
  for (const s of socks) {
    // A socket that is already closed emits no second 'close': waiting for one would hang.
    if (s.closed || s.destroyed) {
      closedByPeer++;
      continue;
    }
    closing.push(once(s, 'close'));
    s.destroy();
  }
  await bounded(Promise.all(closing), timeoutMs, `closing ${closing.length} connections`);
  return closedByPeer;
}
