/**
 * An in-process target for @nvmu/client's tests: the real @nvmu/nvmf core behind
 * @nvmu/transport-loopback, whose `./host` entry registers trtype `loopback` in the client.
 *
 * The kit reaches the client, the core and the loopback transport as peer dependencies, which
 * are not edges of turbo's package graph: so the client's tests can depend on the kit while the
 * loopback package depends on the client (turbo.json orders the kit's build after theirs).
 */
import { randomUUID } from 'node:crypto';
import { ErrorBdev, MallocBdev, NullBdev, Target, type Bdev, type ListenAddress, type Subsystem } from '@nvmu/nvmf';
import { connect, registerHostTransport, type Controller, type ControllerOptions, type HostQPairHandler } from '@nvmu/client';
import { LOOPBACK_TRTYPE, LoopbackTargetTransport, loopbackHostTransportFactory } from '@nvmu/transport-loopback';
import '@nvmu/transport-loopback/host';

export { LoopbackTargetTransport };

export const LOOPBACK_NQN = 'nqn.2026-01.io.nvmu:client-test';

export interface LoopbackTarget {
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

export interface StartLoopbackTargetOptions {
  /** Namespace bdev: RAM (default) or null. */
  bdev?: 'malloc' | 'null';
  /** Default 512. */
  blockSize?: number;
  /** Default 8192. */
  blocks?: number;
  /** Put an error-injecting wrapper (`errorBdev`) in front of the bdev. */
  errors?: boolean;
  /** Default true. */
  allowAnyHost?: boolean;
}

/** Starts a Target with a loopback listener of its own and one subsystem (`LOOPBACK_NQN`) with one namespace. */
export async function startLoopbackTarget(opts: StartLoopbackTargetOptions = {}): Promise<LoopbackTarget> {
  const target = new Target();
  const loopback = new LoopbackTargetTransport();
  await target.addTransport(loopback);
  const subsystem = target.createSubsystem({ nqn: LOOPBACK_NQN, allowAnyHost: opts.allowAnyHost ?? true, serial: 'NVMUCLIENT01', model: 'nvmu client test' });
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
    trid: `trtype:loopback traddr:${traddr} subnqn:${LOOPBACK_NQN}`,
    close: () => target.close(),
  };
}

/**
 * One test file's loopback target and the controllers its tests connect, closed after each
 * test: the set-up the client's end-to-end tests share. A file makes one and hands its
 * `cleanup` to the runner:
 *
 * ```ts
 * const f = loopbackClientFixture();
 * afterEach(f.cleanup);
 * it('...', async () => {
 *   const c = await f.open();          // starts the target on first use, then connects
 *   f.target.subsystem.addHost(...);   // the running target
 * });
 * ```
 */
export interface LoopbackClientFixture {
  /** The running target (from {@link start} or the first {@link open}); throws when none runs. */
  readonly target: LoopbackTarget;
  /** Whether a target runs. */
  readonly started: boolean;
  /** Starts the target with `opts`; throws if one already runs (a test wants its own). */
  start(opts?: StartLoopbackTargetOptions): Promise<LoopbackTarget>;
  /**
   * Connects a controller to the target (started with `targetOpts` when none runs yet), with
   * `reconnect: false` and the fixture's defaults under `opts`; closed at cleanup.
   */
  open(opts?: ControllerOptions, targetOpts?: StartLoopbackTargetOptions): Promise<Controller>;
  /**
   * {@link open} through the host transport registered as `trtype` (an interposer, the PCIe
   * shim) to the same target's subsystem: `trtype:<trtype> traddr:<the target's> subnqn:...`.
   */
  openAs(trtype: string, opts?: ControllerOptions, targetOpts?: StartLoopbackTargetOptions): Promise<Controller>;
  /** Closes `c` at cleanup (a controller connected otherwise: another trid, a discovery controller). */
  track<C extends { close(): Promise<void> }>(c: C): C;
  /** Closes the target now (a test of it going away, or to start another); its controllers stay tracked. */
  stop(): Promise<void>;
  /** Closes every tracked controller (their errors ignored), then the target. For `afterEach`. */
  readonly cleanup: () => Promise<void>;
}

/** A {@link LoopbackClientFixture}; `defaults` go into every {@link LoopbackClientFixture.open}. */
export function loopbackClientFixture(defaults: ControllerOptions = {}): LoopbackClientFixture {
  let running: LoopbackTarget | undefined;
  const tracked: { close(): Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    const t = running;
    running = undefined;
    await t?.close();
  };
  const fixture: LoopbackClientFixture = {
    get target(): LoopbackTarget {
      if (running === undefined) throw new Error('loopbackClientFixture: no target runs (call start() or open() first)');
      return running;
    },
    get started(): boolean {
      return running !== undefined;
    },
    async start(opts = {}) {
      if (running !== undefined) throw new Error('loopbackClientFixture: a target already runs');
      running = await startLoopbackTarget(opts);
      return running;
    },
    open: (opts = {}, targetOpts = {}) => fixture.openAs(LOOPBACK_TRTYPE, opts, targetOpts),
    async openAs(trtype, opts = {}, targetOpts = {}) {
      running ??= await startLoopbackTarget(targetOpts);
      const trid = `trtype:${trtype} traddr:${running.traddr} subnqn:${LOOPBACK_NQN}`;
      return fixture.track(await connect(trid, { reconnect: false, ...defaults, ...opts }));
    },
    track(c) {
      tracked.push(c);
      return c;
    },
    stop,
    async cleanup() {
      await Promise.all(tracked.splice(0).map((c) => c.close().catch(() => undefined)));
      await stop();
    },
  };
  return fixture;
}

/** Resolves when `emitter` emits `event` (first argument). */
export function once<T>(emitter: { once(event: string, fn: (arg: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** What an interposed transport does with one submitted command. */
export type SubmitVerdict = 'pass' | 'swallow';

/**
 * Registers trtype `name`: the loopback transport with a hook in front of every submission, so
 * a test can lose a command (a silent target) or act on the target between two commands, and
 * optionally one in front of every completion (given the command's SQE), which may rewrite the
 * CQE in place — a controller reporting other register values than the core's.
 * Transport IDs use `trtype:<name> traddr:<loopback name>`.
 */
export function registerInterposer(
  name: string,
  onSubmit: (qid: number, sqe: Uint8Array) => SubmitVerdict,
  onCompletion?: (qid: number, sqe: Uint8Array, cqe: Uint8Array) => void,
): void {
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
          // SQEs by CID, copied at submission, for the completion hook.
          const sent = new Map<number, Uint8Array>();
          const handler: HostQPairHandler = {
            completion(cqe) {
              const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
              const sqe = sent.get(cid);
              if (onCompletion !== undefined && sqe !== undefined) onCompletion(o.qid, sqe, cqe);
              o.handler.completion(cqe);
            },
            disconnected: (err) => {
              o.handler.disconnected(err);
            },
          };
          const q = await inner.connectQPair({ ...o, handler });
          return {
            qid: q.qid,
            queueSize: q.queueSize,
            inCapsuleDataSize: q.inCapsuleDataSize,
            submit(sqe, data, off, len, dir) {
              if (onSubmit(o.qid, sqe) === 'swallow') return;
              sent.set((sqe[2] ?? 0) | ((sqe[3] ?? 0) << 8), Uint8Array.from(sqe));
              q.submit(sqe, data, off, len, dir);
            },
            close: () => q.close(),
          };
        },
      };
    },
  });
}

/** Fabrics Property Get (NVMe-oF 1.1 §3.4): the register offset it reads, else undefined. */
export function propertyGetOffset(sqe: Uint8Array): number | undefined {
  if (sqe[0] !== 0x7f || sqe[4] !== 0x04) return undefined;
  return Buffer.from(sqe.buffer, sqe.byteOffset, 64).readUInt32LE(44);
}
