/**
 * Batched socket writes: every PDU written during one turn of the event loop goes out in one
 * `writev` (the socket is corked on the first write of a turn and uncorked on the next tick),
 * so a burst of completions costs one system call, not one per PDU. Buffers handed to `write`
 * are not copied: they must stay untouched until their callback runs (pooled per-request
 * buffers are given back to their pool from that callback).
 */

import type { Socket } from 'node:net';

export type WriteCallback = (err?: Error | null) => void;

export class TxBatch {
  private corked = false;
  private readonly flush: () => void;

  /**
   * @param afterFlush called after each uncork, e.g. to apply backpressure when the socket's
   *   write queue has grown past a limit.
   * @param beforeFlush called just before each uncork, to add what was gathered over the turn
   *   (target/resp-batch.ts) as the turn's last writes.
   */
  constructor(
    private readonly socket: Socket,
    afterFlush?: () => void,
    beforeFlush?: () => void,
  ) {
    this.flush = () => {
      this.corked = false;
      beforeFlush?.();
      this.socket.uncork();
      afterFlush?.();
    };
  }

  /** Start this turn's batch if it is not started (cork; uncork on the next tick). */
  begin(): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.flush);
    }
  }

  /** Queue `buf` for this turn's writev; `cb` runs once the kernel took it (or on error). */
  write(buf: Uint8Array, cb?: WriteCallback): void {
    this.begin();
    this.socket.write(buf, cb);
  }
}
