/**
 * CapsuleResp PDUs of one event-loop turn, back to back in one buffer, written as one chunk.
 *
 * A write command's response is a lone 24-byte CapsuleResp (28 with a header digest). Written
 * one `socket.write` each, every response costs Node's Writable its own queue entry, callback
 * and bookkeeping — on the 4 KiB write path at QD 128 about a fifth of the target's time, more
 * than the kernel's copy of the 24 bytes. Here the responses of a turn are laid out in a ring
 * of fixed-size slots (one per response) and the turn's run of slots goes to the socket as one
 * chunk just before the turn's batch is uncorked (tx.ts), with one callback that hands every
 * request of the run back.
 *
 * The ring has two slots per request of the queue. A slot is reused only after `capacity`
 * more responses, and at most one response per request is unsent at any time, so fewer than
 * half the slots are ever in flight: a slot is never overwritten before its bytes were sent.
 * Runs are contiguous: at the end of the ring a run is cut and the next starts at slot 0.
 * Node calls write callbacks in the order of the writes, so runs finish first in, first out.
 */

/** What is done with each request once the run holding its response was sent (or failed). */
export type ResponsesSent<R> = (req: R, err?: Error | null) => void;

export class ResponseBatch<R> {
  /** The ring: `capacity` slots of `stride` bytes. */
  readonly ring: Buffer;
  readonly stride: number;
  readonly capacity: number;
  private readonly owners: (R | undefined)[];
  /** Next free slot, and the first slot of the run not yet written. */
  private head = 0;
  private runStart = 0;
  /** Runs written and not yet sent: [start, end) pairs, FIFO. */
  private readonly runs: Int32Array;
  private runsHead = 0;
  private runsTail = 0;
  private readonly onWritten: (err?: Error | null) => void;

  /**
   * @param requests how many requests the queue has (each has at most one response unsent)
   * @param stride bytes of one response (24, or 28 with a header digest)
   * @param write hands a run to the socket (in the turn's corked batch), `cb` once sent
   * @param sent called for each request of a run once it was sent
   */
  constructor(
    requests: number,
    stride: number,
    private readonly write: (run: Buffer, cb: (err?: Error | null) => void) => void,
    private readonly sent: ResponsesSent<R>,
  ) {
    this.stride = stride;
    this.capacity = 2 * Math.max(1, requests);
    this.ring = Buffer.alloc(this.capacity * stride);
    this.owners = new Array<R | undefined>(this.capacity).fill(undefined);
    this.runs = new Int32Array(2 * (this.capacity + 1));
    this.onWritten = (err?: Error | null) => {
      this.runDone(err);
    };
  }

  /** True when responses are waiting for `flush()`. */
  get pending(): boolean {
    return this.head !== this.runStart;
  }

  /** The next slot for `req`'s response: write its `stride` bytes at the returned offset. */
  add(req: R): number {
    const slot = this.head;
    this.owners[slot] = req;
    this.head = slot + 1;
    if (this.head === this.capacity) {
      // The run reaches the end of the ring: write it now, the next run starts at slot 0.
      this.flush();
      this.head = 0;
      this.runStart = 0;
    }
    return slot * this.stride;
  }

  /** Write the run collected since the last flush (called once per turn, before uncork). */
  flush(): void {
    const start = this.runStart;
    const end = this.head;
    if (end === start) return;
    this.runStart = end;
    const t = this.runsTail;
    this.runs[2 * t] = start;
    this.runs[2 * t + 1] = end;
    this.runsTail = t + 1 === this.runs.length / 2 ? 0 : t + 1;
    this.write(this.ring.subarray(start * this.stride, end * this.stride), this.onWritten);
  }

  private runDone(err?: Error | null): void {
    const h = this.runsHead;
    const start = this.runs[2 * h] ?? 0;
    const end = this.runs[2 * h + 1] ?? 0;
    this.runsHead = h + 1 === this.runs.length / 2 ? 0 : h + 1;
    for (let i = start; i < end; i++) {
      const req = this.owners[i];
      this.owners[i] = undefined;
      if (req !== undefined) this.sent(req, err);
    }
  }
}
