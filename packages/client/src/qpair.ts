/**
 * The client's queue pair: preallocated command slots indexed by CID over one transport
 * {@link HostQPair}. SPDK's `struct nvme_qpair` + `nvme_request` pool, in one class.
 *
 * Two submission styles share the slots:
 * - the callback path (`submitRead`, `submitWrite`, ...): caller-owned buffers, one reusable
 *   callback plus a context argument, nothing allocated per I/O; throws
 *   {@link NvmeQueueFullError} when the caller exceeds {@link QPair.maxOutstanding};
 * - the promise path (`execute`): allocates a promise per command and waits for a free slot.
 *
 * A slot is busy from submission until its CQE (or an abort) arrives; the CID is its index, so
 * the completion finds its slot with one array read.
 */
import { CDW12_DEAC, CDW12_FUA, SqeView } from '@nvmu/nvme-spec';
import {
  type AbortReason,
  type CommandSet,
  NvmeCommandAbortedError,
  NvmeCommandError,
  type NvmeError,
  NvmeQueueFullError,
  commandInfo,
} from './errors.js';
import type { HostDataDirection, HostQPair, HostQPairHandler } from './transport.js';

/** Callback of the allocation-free path: `error` is undefined on success. */
export type IoCallback<T = unknown> = (error: NvmeError | undefined, ctx: T) => void;

/** Result of a command on the promise path. */
export interface CommandResult {
  /** CQE DW0 (command specific: Set Features result, Connect's cntlid, Property Get low half). */
  readonly dw0: number;
  /** CQE DW1 (Property Get high half). */
  readonly dw1: number;
}

/** What the I/O helpers need to know about a namespace. */
export interface NamespaceLike {
  readonly nsid: number;
  /** Logical block size in bytes. */
  readonly blockSize: number;
}

/** The qpair's life; a string-literal union (STYLE.md). */
export type QPairState =
  /** No transport qpair (not yet connected, or lost and waiting for the controller's reset). */
  | 'disconnected'
  /** A transport qpair is attached; the Connect command (fabrics) is in flight. */
  | 'connecting'
  /** Carrying commands. */
  | 'connected'
  /** Freed by the application; never used again. */
  | 'closed';

/** Who is told about a qpair's failures: the controller. */
export interface QPairOwner {
  /** The transport qpair dropped; outstanding commands are already failed. */
  qpairDisconnected(qpair: QPair, error: Error | undefined): void;
  /** A command exceeded its timeout; the owner resets the controller. */
  qpairTimedOut(qpair: QPair): void;
}

type InternalDone = (error: NvmeError | undefined, dw0: number, dw1: number) => void;

class Slot {
  busy = false;
  cb: IoCallback<never> | undefined = undefined;
  ctx: unknown = undefined;
  done: InternalDone | undefined = undefined;
  /** Tick of submission, for timeouts; -1 = never times out (Asynchronous Event Request). */
  tick = 0;
  constructor(
    readonly cid: number,
    readonly sqeBytes: Buffer,
    readonly sqe: SqeView,
  ) {}
}

// NVM opcodes (NVM Command Set 1.0 Figure 16).
const OP_FLUSH = 0x00;
const OP_WRITE = 0x01;
const OP_READ = 0x02;
const OP_COMPARE = 0x05;
const OP_WRITE_ZEROES = 0x08;
// The CDW12 bits live in @nvmu/nvme-spec; the client re-exports them as it always did.
export { CDW12_FUA, CDW12_DEAC };

function rethrowLater(e: unknown): void {
  process.nextTick(() => {
    throw e;
  });
}

/** Direction of an opcode's data from its low two bits (NVMe Base 2.0 Figure 89). */
export function directionOf(opcodeOrFctype: number): HostDataDirection {
  const bits = opcodeOrFctype & 3;
  if (bits === 1) return 'h2c';
  if (bits === 2) return 'c2h';
  if (bits === 0) return 'none';
  throw new RangeError(`bidirectional data transfer (opcode 0x${opcodeOrFctype.toString(16)}) is not supported`);
}

/** A queue pair (admin when qid is 0). Created by the controller. */
export class QPair implements HostQPairHandler {
  readonly qid: number;
  /** Entries of the queue (1's based), as given in Connect's SQSIZE + 1. */
  readonly queueSize: number;
  /** Commands that may be outstanding at once: `queueSize - 1`. */
  readonly maxOutstanding: number;
  /** Command set the opcodes of this queue belong to. */
  readonly set: CommandSet;
  state: QPairState = 'disconnected';
  /** Coarse clock advanced by the owner's timer; slots remember it at submission. */
  tick = 0;
  /** Ticks after which an outstanding command times out (0 = never). */
  timeoutTicks = 0;
  /** Largest data of one command in bytes (set by the controller from MDTS and the transport), 0 = no limit. */
  maxTransferSize = 0;
  /** Commands handed to the transport since creation (counters for tools; never reset). */
  submittedCount = 0;
  /** Commands that completed (with any status) or were aborted. */
  completedCount = 0;
  /** Of those, the ones that ended with an error. */
  errorCount = 0;

  protected host: HostQPair | undefined;
  protected readonly slots: Slot[];
  private readonly freeCids: Uint16Array;
  private freeTop: number;
  private waiters: (() => void)[] = [];
  private readonly owner: QPairOwner;
  private outstandingCount = 0;

  constructor(owner: QPairOwner, qid: number, queueSize: number) {
    if (!Number.isInteger(queueSize) || queueSize < 2 || queueSize > 65536) throw new RangeError(`queue size ${queueSize} not in 2..65536`);
    this.owner = owner;
    this.qid = qid;
    this.queueSize = queueSize;
    this.maxOutstanding = queueSize - 1;
    this.set = qid === 0 ? 'admin' : 'nvm';
    // One slab for every SQE of the queue: one ArrayBuffer, so one DataView serves all SqeViews.
    const slab = Buffer.alloc(64 * this.maxOutstanding);
    this.slots = [];
    this.freeCids = new Uint16Array(this.maxOutstanding);
    for (let cid = 0; cid < this.maxOutstanding; cid++) {
      const bytes = slab.subarray(cid * 64, cid * 64 + 64);
      this.slots.push(new Slot(cid, bytes, new SqeView(bytes)));
      // Stack of free CIDs, lowest on top.
      this.freeCids[cid] = this.maxOutstanding - 1 - cid;
    }
    this.freeTop = this.maxOutstanding;
  }

  /** Commands submitted and not yet completed. */
  get outstanding(): number {
    return this.outstandingCount;
  }

  /** The transport qpair, while attached. */
  get transportQPair(): HostQPair | undefined {
    return this.host;
  }

  /** @internal Attaches a freshly connected transport qpair (before Connect). */
  attach(host: HostQPair): void {
    if (this.state === 'closed') {
      // Closed while the connection was being made (close() during a reconnect).
      void host.close();
      throw new NvmeCommandAbortedError('closed', undefined);
    }
    this.host = host;
    this.state = 'connecting';
  }

  /** @internal Connect succeeded. */
  markConnected(): void {
    this.state = 'connected';
  }

  // ---- HostQPairHandler (called by the transport) ----

  /** @internal One CQE from the transport (NVMe Base 2.0 §4.6, Figure 97). */
  completion(cqe: Uint8Array): void {
    const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
    const slot = this.slots[cid];
    if (!slot?.busy) return; // a CQE for no command: ignore, as Linux warns and drops
    const dw0 = ((cqe[0] ?? 0) | ((cqe[1] ?? 0) << 8) | ((cqe[2] ?? 0) << 16) | ((cqe[3] ?? 0) << 24)) >>> 0;
    const dw1 = ((cqe[4] ?? 0) | ((cqe[5] ?? 0) << 8) | ((cqe[6] ?? 0) << 16) | ((cqe[7] ?? 0) << 24)) >>> 0;
    // Status field: DW3 bits 31:17 (bit 16 is the phase tag).
    const status = ((cqe[14] ?? 0) | ((cqe[15] ?? 0) << 8)) >>> 1;
    this.finish(slot, status === 0 ? undefined : new NvmeCommandError(status, commandInfo(slot.sqeBytes, this.set, this.qid), dw0), dw0, dw1);
  }

  /** @internal The transport connection dropped. */
  disconnected(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.host = undefined;
    this.state = 'disconnected';
    this.abortAll('disconnected', error);
    this.owner.qpairDisconnected(this, error);
  }

  // ---- slots ----

  private allocSlot(): Slot | undefined {
    if (this.freeTop === 0) return undefined;
    const cid = this.freeCids[--this.freeTop] ?? 0;
    const slot = this.slots[cid];
    if (slot === undefined) return undefined;
    slot.busy = true;
    this.outstandingCount++;
    return slot;
  }

  private releaseSlot(slot: Slot): void {
    slot.busy = false;
    slot.cb = undefined;
    slot.ctx = undefined;
    slot.done = undefined;
    this.freeCids[this.freeTop++] = slot.cid;
    this.outstandingCount--;
  }

  private finish(slot: Slot, error: NvmeError | undefined, dw0: number, dw1: number): void {
    const cb = slot.cb as IoCallback | undefined;
    const ctx = slot.ctx;
    const done = slot.done;
    this.releaseSlot(slot);
    this.completedCount++;
    if (error !== undefined) this.errorCount++;
    try {
      if (done !== undefined) done(error, dw0, dw1);
      else if (cb !== undefined) cb(error, ctx);
    } catch (e) {
      // An application callback threw: surface it like an EventEmitter listener would, without
      // breaking the transport's delivery loop.
      rethrowLater(e);
    }
    if (this.waiters.length > 0 && this.freeTop > 0) this.waiters.shift()?.();
  }

  /** Fails every outstanding command with an abort error (controller reset, close, drop). */
  abortAll(reason: AbortReason, cause?: unknown): void {
    for (const slot of this.slots) {
      if (!slot.busy) continue;
      const err = new NvmeCommandAbortedError(reason, commandInfo(slot.sqeBytes, this.set, this.qid), cause === undefined ? undefined : { cause });
      this.finish(slot, err, 0, 0);
    }
  }

  /** @internal Owner's timer: advance the clock, report a command older than the timeout. */
  checkTimeouts(): boolean {
    this.tick++;
    if (this.timeoutTicks === 0 || this.outstandingCount === 0) return false;
    for (const slot of this.slots) {
      if (slot.busy && slot.tick >= 0 && this.tick - slot.tick > this.timeoutTicks) {
        this.owner.qpairTimedOut(this);
        return true;
      }
    }
    return false;
  }

  /** Sends the slot's SQE; on a transport throw the slot is released and the error rethrown. */
  private send(slot: Slot, data: Uint8Array | undefined, offset: number, length: number, dir: HostDataDirection): void {
    const host = this.host;
    if (host === undefined) {
      this.releaseSlot(slot);
      throw new NvmeCommandAbortedError('disconnected', commandInfo(slot.sqeBytes, this.set, this.qid));
    }
    try {
      host.submit(slot.sqeBytes, data, offset, length, dir);
      this.submittedCount++;
    } catch (e) {
      this.releaseSlot(slot);
      throw e;
    }
  }

  // ---- promise path ----

  /**
   * Runs one command: `fill` writes the SQE (it is zeroed, CID set afterwards); resolves with
   * DW0/DW1 or rejects with an {@link NvmeError}. Waits for a free slot when the queue is full.
   * `internal` allows submission while the qpair is still connecting (the Connect itself).
   */
  async execute(
    fill: (sqe: SqeView) => void,
    data?: Uint8Array,
    direction?: HostDataDirection,
    opts: { internal?: boolean; noTimeout?: boolean } = {},
  ): Promise<CommandResult> {
    for (;;) {
      if (this.state === 'closed') throw new NvmeCommandAbortedError('closed', undefined);
      if (this.state !== 'connected' && opts.internal !== true) {
        throw new NvmeCommandAbortedError('disconnected', undefined);
      }
      if (this.freeTop > 0) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const slot = this.allocSlot();
    if (slot === undefined) throw new NvmeQueueFullError(this.qid);
    const sqe = slot.sqe;
    sqe.clear();
    fill(sqe);
    sqe.cid = slot.cid;
    slot.tick = opts.noTimeout === true ? -1 : this.tick;
    const dir = direction ?? (data === undefined ? 'none' : directionOf(sqe.opcode === 0x7f ? sqe.fctype : sqe.opcode));
    return new Promise<CommandResult>((resolve, reject) => {
      slot.done = (error, dw0, dw1) => {
        if (error !== undefined) reject(error);
        else resolve({ dw0, dw1 });
      };
      try {
        this.send(slot, data, 0, data?.byteLength ?? 0, data === undefined ? 'none' : dir);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Wakes promise-path waiters so they see a state change (close, disconnect). */
  wakeWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // ---- callback path (no allocation per I/O) ----

  /**
   * Submits a raw command on the callback path. `fill` must not allocate (use a shared
   * function); prefer the typed helpers. The SQE is zeroed and the CID set for you.
   */
  submitRaw<T>(
    sqeTemplate: Uint8Array,
    data: Uint8Array | undefined,
    dataOffset: number,
    dataLength: number,
    cb: IoCallback<T>,
    ctx: T,
  ): void {
    this.checkUsable();
    if (sqeTemplate.byteLength !== 64) throw new RangeError(`an SQE is 64 bytes, got ${sqeTemplate.byteLength}`);
    const slot = this.allocSlot();
    if (slot === undefined) throw new NvmeQueueFullError(this.qid);
    slot.sqeBytes.set(sqeTemplate);
    slot.sqe.cid = slot.cid;
    slot.tick = this.tick;
    slot.cb = cb;
    slot.ctx = ctx;
    const op = sqeTemplate[0] ?? 0;
    let dir: HostDataDirection;
    try {
      dir = data === undefined || dataLength === 0 ? 'none' : directionOf(op === 0x7f ? (sqeTemplate[4] ?? 0) : op);
    } catch (e) {
      this.releaseSlot(slot);
      throw e;
    }
    this.send(slot, data, dataOffset, dataLength, dir);
  }

  private checkUsable(): void {
    if (this.state !== 'connected') {
      throw new NvmeCommandAbortedError(this.state === 'closed' ? 'closed' : 'disconnected', undefined);
    }
  }

  /** Common body of Read / Write / Compare / Write Zeroes on the callback path. */
  protected submitRw<T>(
    opcode: number,
    ns: NamespaceLike,
    lba: number,
    nlb: number,
    buf: Uint8Array | undefined,
    bufOffset: number,
    cdw12Flags: number,
    dir: HostDataDirection,
    cb: IoCallback<T>,
    ctx: T,
  ): void {
    this.checkUsable();
    if (nlb < 1 || nlb > 0x10000) throw new RangeError(`nlb ${nlb} not in 1..65536`);
    const length = dir === 'none' ? 0 : nlb * ns.blockSize;
    if (this.maxTransferSize !== 0 && length > this.maxTransferSize) {
      throw new RangeError(`${length} bytes exceed the controller's ${this.maxTransferSize}-byte transfer limit`);
    }
    if (buf !== undefined && bufOffset + length > buf.byteLength) {
      throw new RangeError(`buffer of ${buf.byteLength} bytes is too small for ${nlb} blocks of ${ns.blockSize} at offset ${bufOffset}`);
    }
    const slot = this.allocSlot();
    if (slot === undefined) throw new NvmeQueueFullError(this.qid);
    const sqe = slot.sqe;
    sqe.clear();
    sqe.opcode = opcode;
    sqe.cid = slot.cid;
    sqe.nsid = ns.nsid;
    sqe.slba = lba; // CDW10-11 (NVM Command Set 1.0 §3.2.4)
    sqe.cdw12 = ((nlb - 1) | cdw12Flags) >>> 0; // NLB is 0's based, bits 15:0
    slot.tick = this.tick;
    slot.cb = cb;
    slot.ctx = ctx;
    this.send(slot, buf, bufOffset, length, dir);
  }

  /** Read `nlb` blocks at `lba` into `buf` (from `bufOffset`). No allocation. */
  submitRead<T>(ns: NamespaceLike, lba: number, nlb: number, buf: Uint8Array, cb: IoCallback<T>, ctx: T, bufOffset = 0): void {
    this.submitRw(OP_READ, ns, lba, nlb, buf, bufOffset, 0, 'c2h', cb, ctx);
  }

  /** Write `nlb` blocks from `buf` at `lba`; `fua` sets Force Unit Access. No allocation. */
  submitWrite<T>(ns: NamespaceLike, lba: number, nlb: number, buf: Uint8Array, cb: IoCallback<T>, ctx: T, fua = false, bufOffset = 0): void {
    this.submitRw(OP_WRITE, ns, lba, nlb, buf, bufOffset, fua ? CDW12_FUA : 0, 'h2c', cb, ctx);
  }

  /** Compare `nlb` blocks at `lba` with `buf`; a mismatch fails with MediaError/CompareFailure. */
  submitCompare<T>(ns: NamespaceLike, lba: number, nlb: number, buf: Uint8Array, cb: IoCallback<T>, ctx: T, bufOffset = 0): void {
    this.submitRw(OP_COMPARE, ns, lba, nlb, buf, bufOffset, 0, 'h2c', cb, ctx);
  }

  /** Write Zeroes over `nlb` blocks at `lba`; `deallocate` sets DEAC. No data transfer. */
  submitWriteZeroes<T>(ns: NamespaceLike, lba: number, nlb: number, cb: IoCallback<T>, ctx: T, deallocate = false, fua = false): void {
    this.submitRw(OP_WRITE_ZEROES, ns, lba, nlb, undefined, 0, (deallocate ? CDW12_DEAC : 0) | (fua ? CDW12_FUA : 0), 'none', cb, ctx);
  }

  /** Flush the namespace's volatile write cache (NVM Command Set 1.0 §3.2.2). */
  submitFlush<T>(ns: NamespaceLike, cb: IoCallback<T>, ctx: T): void {
    this.checkUsable();
    const slot = this.allocSlot();
    if (slot === undefined) throw new NvmeQueueFullError(this.qid);
    const sqe = slot.sqe;
    sqe.clear();
    sqe.opcode = OP_FLUSH;
    sqe.cid = slot.cid;
    sqe.nsid = ns.nsid;
    slot.tick = this.tick;
    slot.cb = cb;
    slot.ctx = ctx;
    this.send(slot, undefined, 0, 0, 'none');
  }

  /** @internal Marks the qpair closed and fails what is outstanding. */
  markClosed(): void {
    this.state = 'closed';
    this.abortAll('closed');
    this.wakeWaiters();
  }

  /** @internal Detaches the transport qpair (controller reset). */
  detach(reason: AbortReason): HostQPair | undefined {
    const h = this.host;
    this.host = undefined;
    if (this.state !== 'closed') this.state = 'disconnected';
    this.abortAll(reason);
    return h;
  }
}
