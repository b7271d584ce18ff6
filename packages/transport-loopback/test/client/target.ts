/**
 * An in-process target: the real @nvmu/nvmf core behind @nvmu/transport-loopback. The loopback
 * package is imported from its sources (not by name) so the client and the loopback package do
 * not depend on each other in both directions (the loopback package imports the client's types).
 */
import { randomUUID } from 'node:crypto';
import { ErrorBdev, MallocBdev, NullBdev, Target, type Bdev, type ListenAddress, type Subsystem } from '@nvmu/nvmf';
import { registerHostTransport } from '@nvmu/client';
import { LoopbackTargetTransport, loopbackHostTransportFactory } from '../../src/index.js';
import '../../src/host.js';

export const NQN = 'nqn.2026-01.io.nvmu:client-test';

export interface TestTarget {
  target: Target;
  loopback: LoopbackTargetTransport;
  subsystem: Subsystem;
  bdev: Bdev;
  /** The error-injecting wrapper when started with `errors: true`. */
  errorBdev: ErrorBdev | undefined;
  traddr: string;
  addr: ListenAddress;
  /** SPDK-notation transport ID of the test subsystem. */
  trid: string;
  close(): Promise<void>;
}

export async function startTarget(
  opts: { bdev?: 'malloc' | 'null'; blockSize?: number; blocks?: number; errors?: boolean; allowAnyHost?: boolean } = {},
): Promise<TestTarget> {
  const target = new Target();
  const loopback = new LoopbackTargetTransport();
  await target.addTransport(loopback);
  const subsystem = target.createSubsystem({ nqn: NQN, allowAnyHost: opts.allowAnyHost ?? true, serial: 'NVMUCLIENT01', model: 'nvmu client test' });
  const blockSize = opts.blockSize ?? 512;
  const numBlocks = opts.blocks ?? 8192;
  const bdev = opts.bdev === 'null' ? new NullBdev({ name: 'null0', blockSize, numBlocks }) : new MallocBdev({ name: 'malloc0', blockSize, numBlocks });
  target.addBdev(bdev);
  const errorBdev = opts.errors === true ? new ErrorBdev(bdev) : undefined;
  if (errorBdev !== undefined) target.addBdev(errorBdev);
  subsystem.addNamespace({ bdev: errorBdev ?? bdev });
  // A unique name per target: the listener registry is process-wide.
  const traddr = `client-test-${randomUUID()}`;
  const addr: ListenAddress = { trtype: 'loopback', adrfam: 'intra-host', traddr, trsvcid: '' };
  await target.listen(addr);
  await subsystem.addListener(addr);
  subsystem.start();
  return {
    target,
    loopback,
    subsystem,
    bdev,
    errorBdev,
    traddr,
    addr,
    trid: `trtype:loopback traddr:${traddr} subnqn:${NQN}`,
    close: () => target.close(),
  };
}

/** A deterministic byte pattern that differs per `seed`. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Resolves when `emitter` emits `event` (first argument). */
export function once<T>(emitter: { once(event: string, fn: (arg: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** What an interposed transport does with one submitted command. */
export type SubmitVerdict = 'pass' | 'swallow';

/**
 * Registers trtype `name`: the loopback transport with a hook in front of every submission, so
 * a test can lose a command (a silent target) or act on the target between two commands.
 * Transport IDs use `trtype:<name> traddr:<loopback name>`.
 */
export function registerInterposer(name: string, onSubmit: (qid: number, sqe: Uint8Array) => SubmitVerdict): void {
  registerHostTransport({
    trtype: name,
    kind: 'fabrics',
    async open(trid, opts) {
      const inner = await loopbackHostTransportFactory.open({ ...trid, trtype: 'loopback' }, opts);
      return {
        kind: 'fabrics',
        trid,
        maxTransferSize: inner.maxTransferSize,
        close: () => inner.close(),
        async connectQPair(o) {
          const q = await inner.connectQPair(o);
          return {
            qid: q.qid,
            queueSize: q.queueSize,
            inCapsuleDataSize: q.inCapsuleDataSize,
            submit(sqe, data, off, len, dir) {
              if (onSubmit(o.qid, sqe) === 'swallow') return;
              q.submit(sqe, data, off, len, dir);
            },
            close: () => q.close(),
          };
        },
      };
    },
  });
}
