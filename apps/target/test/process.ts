/**
 * Test fixture: the daemon started as a user starts it (`node dist/main.js ...`, a process of its
 * own), and a JSON-RPC client that speaks SPDK's rpc.py wire format from this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

export const MAIN = join(import.meta.dirname, '..', 'dist', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => {
        resolvePort(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

export interface DaemonProcess {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Send `signal` and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Start `node dist/main.js args`; resolves once it logged that it serves (or rejects with its output if it exits first). */
export async function startDaemonProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the workspace first (pnpm build)`);
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    });
  });
  const d: DaemonProcess = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    // Ready once it logged "serving" and printed its banner (signal handlers are in place by then).
    const check = (): void => {
      if (/\bserving\b/.test(err) && out.includes('\n')) {
        proc.stderr.off('data', check);
        proc.stdout.off('data', check);
        resolve();
      }
    };
    proc.stderr.on('data', check);
    proc.stdout.on('data', check);
    void exited.then((code) => {
      reject(new Error(`daemon exited (${String(code)}) before serving:\n${out}\n${err}`));
    });
  });
  return d;
}

/** What a JSON-RPC response holds. */
export interface RpcResponse {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

/**
 * Send `text` on a new connection and collect `count` newline-terminated responses (or what came
 * before the server closed the connection).
 */
export function exchange(socketPath: string, text: string | readonly string[], count: number): Promise<{ responses: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socketPath);
    let buf = '';
    const responses: unknown[] = [];
    let closed = false;
    const finish = (): void => {
      s.destroy();
      resolve({ responses, closed });
    };
    s.on('connect', () => {
      const parts = typeof text === 'string' ? [text] : text;
      // Pieces written one by one: the server must join them into one request.
      let i = 0;
      const next = (): void => {
        const p = parts[i++];
        if (p === undefined) return;
        s.write(p, () => setTimeout(next, 10));
      };
      next();
    });
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        responses.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (responses.length >= count) finish();
    });
    s.on('end', () => {
      closed = true;
      finish();
    });
    s.on('error', reject);
  });
}

/** One call the way rpc.py makes it: one request, read until one response. */
export async function rpc(socketPath: string, method: string, params?: unknown): Promise<RpcResponse> {
  const req: Record<string, unknown> = { jsonrpc: '2.0', method, id: 1 };
  if (params !== undefined) req.params = params;
  const { responses } = await exchange(socketPath, JSON.stringify(req), 1);
  const r = responses[0] as RpcResponse | undefined;
  if (r === undefined) throw new Error(`no response to ${method}`);
  return r;
}

/** The result of a call that must succeed. */
export async function call<T = unknown>(socketPath: string, method: string, params?: unknown): Promise<T> {
  const r = await rpc(socketPath, method, params);
  if (r.error !== undefined) throw new Error(`${method} failed: ${r.error.code} ${r.error.message}`);
  return r.result as T;
}
