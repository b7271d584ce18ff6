/**
 * The transport-wide pool of large data buffers (SPDK lib/nvmf/tcp.c's shared data buffer pool,
 * `num_shared_buffers` × `io_unit_size`, made when the transport is created).
 *
 * A request whose data does not fit its own small buffer (sized for in-capsule data) borrows one
 * buffer of `maxIoSize` from here for the life of the command. When none is free it waits
 * (request phase `need-buffer`, SPDK's NEED_BUFFER state) in one FIFO shared by every
 * connection, and the next buffer given back goes straight to the oldest waiter. So the memory
 * of large transfers is bounded by the pool, not by connections × queue depth × maxIoSize, and
 * the hot path allocates nothing.
 *
 * No deadlock: a request holds at most one pool buffer and waits for nothing else while
 * holding it (its command executes, its H2CData arrives for R2Ts already sent, or its response
 * drains), and a waiting request holds no pool buffer.
 *
 * One connection holds at most `perConnection` buffers at once: a host that stops reading its
 * responses (or never sends the H2CData it was asked for) keeps the buffers it holds, so
 * without that cap a single such host could starve every other connection.
 */

/** A data buffer and the views of it cached by the request using it (re-made only on a size change). */
export interface DataBuf {
  readonly buf: Buffer;
  /** The data, `buf[dataOff, dataOff + n)`. */
  view: Buffer;
  /** The whole response `buf[0, n)` last written. */
  txView: Buffer;
}

/** A connection: how many pool buffers it holds now. */
export interface BufferOwner {
  held: number;
}

/** Something waiting for a pool buffer: called with it once one is free. */
export interface BufferWaiter {
  readonly owner: BufferOwner;
  readonly onBuffer: (b: DataBuf) => void;
}

export interface SharedBufferPoolStats {
  /** Buffers in the pool (free + lent), and how many one connection may hold. */
  readonly count: number;
  readonly perConnection: number;
  /** Bytes of each buffer. */
  readonly bufferSize: number;
  /** Buffers lent right now, and the most ever lent at once. */
  readonly inUse: number;
  readonly maxInUse: number;
  /** Requests waiting now, and how many times a request had to wait. */
  readonly waiting: number;
  readonly waits: number;
  /** Buffers left to a command the core still executed when its connection died (replaced). */
  readonly abandoned: number;
}

function makeBuf(buf: Buffer): DataBuf {
  return { buf, view: buf, txView: buf };
}

export class SharedBufferPool {
  private readonly free: DataBuf[] = [];
  private readonly waiters: BufferWaiter[] = [];
  private inUse = 0;
  private maxInUse = 0;
  private waits = 0;
  private abandoned = 0;

  constructor(
    readonly count: number,
    readonly bufferSize: number,
    readonly perConnection: number,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('numSharedBuffers must be a positive integer');
    if (!Number.isInteger(perConnection) || perConnection < 1) throw new RangeError('sharedBuffersPerConnection must be a positive integer');
    // One slab for the whole pool, made once.
    const slab = Buffer.allocUnsafeSlow(count * bufferSize);
    for (let i = 0; i < count; i++) this.free.push(makeBuf(slab.subarray(i * bufferSize, (i + 1) * bufferSize)));
  }

  /**
   * A free buffer, or undefined after queueing `w` (it gets `onBuffer` later). Waiters are
   * served first come, first served among connections under their cap: a new request never
   * overtakes one that could take the buffer.
   */
  get(w: BufferWaiter): DataBuf | undefined {
    if (w.owner.held < this.perConnection && this.firstEligible() < 0) {
      const b = this.free.pop();
      if (b !== undefined) {
        this.lent(w.owner);
        return b;
      }
    }
    this.waits++;
    this.waiters.push(w);
    return undefined;
  }

  /** `owner` gives `b` back: to the oldest waiter under its cap if any, else to the free list. */
  put(b: DataBuf, owner: BufferOwner | undefined): void {
    if (owner !== undefined) owner.held--;
    this.inUse--;
    const i = this.firstEligible();
    if (i < 0) {
      this.free.push(b);
      return;
    }
    const w = this.waiters[i];
    if (w === undefined) return;
    this.waiters.splice(i, 1);
    this.lent(w.owner);
    w.onBuffer(b);
  }

  /** Index of the oldest waiter whose connection may take one more buffer, or -1. */
  private firstEligible(): number {
    const ws = this.waiters;
    for (let i = 0; i < ws.length; i++) if ((ws[i]?.owner.held ?? this.perConnection) < this.perConnection) return i;
    return -1;
  }

  /** Withdraw a waiter (its connection closed). */
  cancel(w: BufferWaiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /**
   * A lent buffer will never come back (the core may still write into it for a command whose
   * connection died, and says nothing when it is done): replace it so the pool keeps its size.
   * Allocates, but only on a connection loss, never per I/O.
   */
  abandon(owner: BufferOwner): void {
    this.abandoned++;
    this.put(makeBuf(Buffer.allocUnsafeSlow(this.bufferSize)), owner);
  }

  stats(): SharedBufferPoolStats {
    return {
      count: this.count,
      perConnection: this.perConnection,
      bufferSize: this.bufferSize,
      inUse: this.inUse,
      maxInUse: this.maxInUse,
      waiting: this.waiters.length,
      waits: this.waits,
      abandoned: this.abandoned,
    };
  }

  private lent(owner: BufferOwner): void {
    owner.held++;
    this.inUse++;
    if (this.inUse > this.maxInUse) this.maxInUse = this.inUse;
  }
}
