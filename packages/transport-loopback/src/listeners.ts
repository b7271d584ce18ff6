/**
 * The process-wide registry of loopback listeners, by `traddr` name. The target side adds an
 * entry on `listen()`, the host side looks names up on `open()`/`connectQPair()`. It lives on
 * `globalThis` under `Symbol.for('nvmu.loopbackListeners')` so that two copies of this package
 * loaded in one process (a bundler, a test runner's module graph) still meet.
 */
import type { HostQPairOptions } from '@nvmu/client';
import type { LoopbackConnection } from './connection.js';

/** What a listener offers the host side. @internal between this package's two halves. */
export interface LoopbackListener {
  /** The name hosts use as `traddr`. */
  readonly traddr: string;
  /** Largest data of one command (the target transport's `maxIoSize`). */
  readonly maxTransferSize: number;
  /** Opens one connection (one qpair); throws if the listener stopped or the target closed. */
  connect(opts: HostQPairOptions): LoopbackConnection;
}

const KEY = Symbol.for('nvmu.loopbackListeners');

/** The registry: traddr → listener. */
export function loopbackListeners(): Map<string, LoopbackListener> {
  const holder = globalThis as { [KEY]?: Map<string, LoopbackListener> };
  return (holder[KEY] ??= new Map<string, LoopbackListener>());
}
