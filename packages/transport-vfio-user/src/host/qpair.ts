/**
 * One NVMe queue pair driven over vfio-user (SPDK lib/nvme/nvme_pcie_common.c's
 * nvme_pcie_qpair_submit_tracker / nvme_pcie_qpair_process_completions, in TS): SQEs written
 * into the submission queue in DMA memory, data pointers as PRPs (NVMe Base 2.0 §4.1.1),
 * doorbells in BAR0's mmapped page (or the shadow page, §5.8), completions found by the phase
 * tag (§4.6) on the completion queue.
 *
 * Data: the client hands a buffer of its own; each CID has a bounce slot of
 * `maxTransferSize` bytes in DMA memory (allocated with the queue), so a command's data is one
 * memcpy on the host and none on the server. Everything per command lives in arrays indexed by
 * CID: submit and completion allocate nothing.
 */
import type { HostDataDirection, HostDmaMemory, HostQPair, HostQPairHandler } from '@nvmu/client';
import { setPrpListEntry, setSqePrp1, setSqePrp2 } from '@nvmu/nvme-spec';
import type { DmaRegion } from './memory.js';

const PAGE = 4096;
const DIR_NONE = 0;
const DIR_H2C = 1;
const DIR_C2H = 2;
/** Admin opcode Asynchronous Event Request: outstanding for long, so it does not keep a poller spinning. */
const OPC_AER = 0x0c;

/** Where the qpair rings its doorbells. */
export interface DoorbellSink {
  /**
   * Writes doorbell `index` (2·qid for the SQ tail, 2·qid + 1 for the CQ head; NVMe Base 2.0
   * §3.1.3.x with the stride applied by the sink).
   */
  ring(index: number, value: number): void;
}

/** Shadow doorbell and event index pages (Doorbell Buffer Config, NVMe Base 2.0 §5.8). */
export interface ShadowDoorbells {
  readonly shadow: Uint32Array;
  readonly eventIdx: Uint32Array;
}

/** What the transport tells a qpair at creation. */
export interface QPairConfig {
  readonly qid: number;
  readonly queueSize: number;
  readonly sq: HostDmaMemory;
  readonly cq: HostDmaMemory;
  /** Bounce slots, `maxTransferSize` bytes a CID, page aligned. */
  readonly bounce: DmaRegion;
  /** PRP list pages, one a CID. */
  readonly prpLists: DmaRegion;
  readonly maxTransferSize: number;
  readonly handler: HostQPairHandler;
  readonly doorbells: DoorbellSink;
  /** Shadow doorbells for this queue (I/O queues once Doorbell Buffer Config succeeded). */
  readonly shadow: ShadowDoorbells | undefined;
  /** Called when the qpair goes from idle to busy (a poller starts spinning). */
  readonly kick: (qp: VfioUserHostQPair) => void;
  readonly onClose: (qp: VfioUserHostQPair) => Promise<void>;
}

/** Counters (diagnostics and tests). */
export interface QPairStats {
  submitted: number;
  completed: number;
  /** Doorbell writes that reached BAR0 (with shadow doorbells, only those the event index asked for). */
  doorbellWrites: number;
}

export class VfioUserHostQPair implements HostQPair {
  readonly qid: number;
  readonly queueSize: number;
  readonly inCapsuleDataSize = 0;
  readonly stats: QPairStats = { submitted: 0, completed: 0, doorbellWrites: 0 };
  readonly #sq: Uint8Array;
  readonly #sqWords: DataView;
  readonly #cqWords: Uint32Array;
  readonly #cqeViews: Uint8Array[];
  readonly #bounce: Uint8Array;
  readonly #bounceIova: number;
  readonly #prp: DataView;
  readonly #prpIova: number;
  readonly #maxTransfer: number;
  readonly #slot: number;
  #handler: HostQPairHandler | undefined;
  readonly #doorbells: DoorbellSink;
  readonly #shadow: ShadowDoorbells | undefined;
  readonly #kick: (qp: VfioUserHostQPair) => void;
  readonly #onClose: (qp: VfioUserHostQPair) => Promise<void>;
  #tail = 0;
  #head = 0;
  #phase = 1;
  /** Per CID: the caller's buffer, offset and direction, for the copy back. */
  readonly #data: (Uint8Array | undefined)[];
  readonly #dataOffset: Int32Array;
  readonly #dataLength: Int32Array;
  readonly #dir: Uint8Array;
  /** Per CID: 1 while outstanding. */
  readonly #busy: Uint8Array;
  /** Per CID: 1 for commands that must not keep a poller spinning (AER). */
  readonly #parked: Uint8Array;
  #outstanding = 0;
  #parkedCount = 0;
  /** A command of the transport's own (bring-up), completed to it rather than to the handler. */
  #privateWaiter: ((status: number, dw0: number) => void) | undefined;
  #privateCid = -1;
  #closed = false;
  #failed = false;
  /**
   * True while processCompletions hands completions out. Submissions made then (a handler that
   * resubmits) only move the tail; the SQ tail doorbell is rung once after the CQ head doorbell,
   * as SPDK's PCIe driver does with delay_cmd_submit. Ringing it first would let a controller
   * that polls (SPDK's vfio-user target) run and complete the new commands while the CQ entries
   * just taken still count as unread: with as many commands outstanding as the CQ holds, it
   * sees the CQ full (SPDK logs "cqid:N full" and the completions are lost).
   */
  #reaping = false;
  /** The tail the SQ tail doorbell last carried. */
  #rungTail = 0;

  constructor(cfg: QPairConfig) {
    this.qid = cfg.qid;
    this.queueSize = cfg.queueSize;
    this.#sq = cfg.sq.buffer;
    this.#sqWords = new DataView(cfg.sq.buffer.buffer, cfg.sq.buffer.byteOffset, cfg.sq.buffer.byteLength);
    this.#cqWords = new Uint32Array(cfg.cq.buffer.buffer, cfg.cq.buffer.byteOffset, cfg.queueSize * 4);
    this.#cqeViews = [];
    for (let i = 0; i < cfg.queueSize; i++) this.#cqeViews.push(cfg.cq.buffer.subarray(i * 16, i * 16 + 16));
    this.#bounce = cfg.bounce.bytes;
    this.#bounceIova = cfg.bounce.iova;
    this.#prp = new DataView(cfg.prpLists.bytes.buffer, cfg.prpLists.bytes.byteOffset, cfg.prpLists.bytes.byteLength);
    this.#prpIova = cfg.prpLists.iova;
    this.#maxTransfer = cfg.maxTransferSize;
    this.#slot = Math.ceil(cfg.maxTransferSize / PAGE) * PAGE;
    this.#handler = cfg.handler;
    this.#doorbells = cfg.doorbells;
    this.#shadow = cfg.shadow;
    this.#kick = cfg.kick;
    this.#onClose = cfg.onClose;
    this.#data = new Array<Uint8Array | undefined>(cfg.queueSize).fill(undefined);
    this.#dataOffset = new Int32Array(cfg.queueSize);
    this.#dataLength = new Int32Array(cfg.queueSize);
    this.#dir = new Uint8Array(cfg.queueSize);
    this.#busy = new Uint8Array(cfg.queueSize);
    this.#parked = new Uint8Array(cfg.queueSize);
  }

  /** Commands outstanding that a poller should spin for (AERs excluded). */
  get spinning(): boolean {
    return this.#outstanding > this.#parkedCount;
  }

  /** Commands outstanding. */
  get outstanding(): number {
    return this.#outstanding;
  }

  get closed(): boolean {
    return this.#closed;
  }

  submit(sqe: Uint8Array, data: Uint8Array | undefined, dataOffset: number, dataLength: number, direction: HostDataDirection): void {
    if (this.#closed || this.#failed) throw new Error(`vfio-user qpair ${this.qid} is closed`);
    const cid = (sqe[2] ?? 0) | ((sqe[3] ?? 0) << 8);
    if (cid >= this.queueSize) throw new RangeError(`CID ${cid} out of range for queue size ${this.queueSize}`);
    if (dataLength > this.#maxTransfer) throw new RangeError(`transfer of ${dataLength} bytes above the transport's ${this.#maxTransfer}`);
    const off = this.#tail * 64;
    const sqMem = this.#sq;
    sqMem.set(sqe, off);
    const dv = this.#sqWords;
    // PSDT 00b: PRPs (NVMe Base 2.0 Figure 88).
    sqMem[off + 1] = (sqMem[off + 1] ?? 0) & 0x3f;
    let dir = DIR_NONE;
    if (direction !== 'none' && dataLength > 0 && data !== undefined) {
      dir = direction === 'h2c' ? DIR_H2C : DIR_C2H;
      const slot = cid * this.#slot;
      if (dir === DIR_H2C) copyBytes(data, dataOffset, this.#bounce, slot, dataLength);
      const iova = this.#bounceIova + slot;
      setSqePrp1(dv, off, iova);
      const pages = Math.ceil(dataLength / PAGE);
      if (pages <= 1) setSqePrp2(dv, off, 0);
      else if (pages === 2) setSqePrp2(dv, off, iova + PAGE);
      else {
        // PRP list (NVMe Base 2.0 §4.1.1.1): PRP2 points at entries for pages 1..n-1.
        const list = cid * PAGE;
        const prp = this.#prp;
        for (let i = 1; i < pages; i++) setPrpListEntry(prp, list, i - 1, iova + i * PAGE);
        setSqePrp2(dv, off, this.#prpIova + list);
      }
      this.#data[cid] = data;
      this.#dataOffset[cid] = dataOffset;
      this.#dataLength[cid] = dataLength;
    } else {
      // No data: DPTR stays as the client wrote it (Create I/O CQ/SQ carry the queue's PRP1).
      this.#data[cid] = undefined;
    }
    this.#dir[cid] = dir;
    if (this.#busy[cid] === 0) this.#outstanding++;
    this.#busy[cid] = 1;
    const parked = this.qid === 0 && sqe[0] === OPC_AER ? 1 : 0;
    this.#parked[cid] = parked;
    this.#parkedCount += parked;
    const tail = this.#tail + 1 === this.queueSize ? 0 : this.#tail + 1;
    this.#tail = tail;
    this.stats.submitted++;
    if (!this.#reaping) this.#ringSqTail();
    this.#kick(this);
  }

  /**
   * Takes every new completion (phase tag), hands each to the handler, then rings the CQ head
   * doorbell once. Returns how many were taken.
   */
  processCompletions(): number {
    if (this.#closed || this.#reaping) return 0;
    this.#reaping = true;
    let n = 0;
    try {
      n = this.#takeCompletions();
    } finally {
      this.#reaping = false;
    }
    if (this.#isClosed()) return n; // a handler closed the qpair
    if (n > 0) this.#ring(2 * this.qid + 1, this.#head);
    if (this.#tail !== this.#rungTail) this.#ringSqTail();
    return n;
  }

  /** The loop of processCompletions: CQ head and SQ tail doorbells are its caller's. */
  #takeCompletions(): number {
    const cq = this.#cqWords;
    let head = this.#head;
    let phase = this.#phase;
    let n = 0;
    for (;;) {
      const dw3 = cq[head * 4 + 3] ?? 0;
      if (((dw3 >>> 16) & 1) !== phase) break;
      const cid = dw3 & 0xffff;
      const view = this.#cqeViews[head] ?? EMPTY;
      head++;
      if (head === this.queueSize) {
        head = 0;
        phase ^= 1;
      }
      n++;
      // Commit the head before calling out: the handler may resubmit or close.
      this.#head = head;
      this.#phase = phase;
      if (cid === this.#privateCid && this.#privateWaiter !== undefined) {
        const w = this.#privateWaiter;
        this.#privateWaiter = undefined;
        this.#privateCid = -1;
        this.#busy[cid] = 0;
        this.#outstanding--;
        w((dw3 >>> 17) & 0x7fff, cq[(head === 0 ? this.queueSize : head) * 4 - 4] ?? 0);
        continue;
      }
      if (cid >= this.queueSize || this.#busy[cid] === 0) continue; // not ours: a confused controller
      if (this.#dir[cid] === DIR_C2H) {
        const d = this.#data[cid];
        if (d !== undefined) copyBytes(this.#bounce, cid * this.#slot, d, this.#dataOffset[cid] ?? 0, this.#dataLength[cid] ?? 0);
      }
      this.#data[cid] = undefined;
      this.#busy[cid] = 0;
      this.#outstanding--;
      this.#parkedCount -= this.#parked[cid] ?? 0;
      this.stats.completed++;
      this.#handler?.completion(view);
      if (this.#isClosed()) return n;
    }
    return n;
  }

  /**
   * Runs one command of the transport's own on this (idle) queue — bring-up before the client
   * uses it — and resolves with its status and DW0.
   */
  privateCommand(sqe: Uint8Array, cid: number): Promise<{ status: number; dw0: number }> {
    return new Promise((resolve) => {
      this.#privateCid = cid;
      this.#privateWaiter = (status, dw0) => {
        resolve({ status, dw0 });
      };
      const off = this.#tail * 64;
      this.#sq.set(sqe, off);
      this.#sq[off + 2] = cid & 0xff;
      this.#sq[off + 3] = cid >> 8;
      this.#busy[cid] = 1;
      this.#outstanding++;
      this.#tail = this.#tail + 1 === this.queueSize ? 0 : this.#tail + 1;
      this.#ringSqTail();
      this.#kick(this);
    });
  }

  /** The connection died: the handler learns once; outstanding commands never complete here. */
  fail(error: Error): void {
    if (this.#closed || this.#failed) return;
    this.#failed = true;
    const h = this.#handler;
    this.#handler = undefined;
    h?.disconnected(error);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    await this.#onClose(this);
  }

  #isClosed(): boolean {
    return this.#closed;
  }

  #ringSqTail(): void {
    this.#rungTail = this.#tail;
    this.#ring(2 * this.qid, this.#tail);
  }

  #ring(index: number, value: number): void {
    const shadow = this.#shadow;
    if (shadow !== undefined) {
      // Linux nvme_dbbuf_update_and_check_event: write the shadow, then the real doorbell only
      // if the controller's event index lies between the old and the new value (§5.8).
      const old = shadow.shadow[index] ?? 0;
      shadow.shadow[index] = value;
      const ev = shadow.eventIdx[index] ?? 0;
      if (((value - ev - 1) & 0xffff) >= ((value - old) & 0xffff)) return;
    }
    this.stats.doorbellWrites++;
    this.#doorbells.ring(index, value);
  }
}

const EMPTY = new Uint8Array(16);

/** Buffer.prototype.copy takes offsets and does the memmove natively, on any Uint8Array. */
type CopyFn = (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call on a Uint8Array
const bufferCopy: CopyFn = (Buffer.prototype as Buffer).copy;

/** Copies src[srcOff, srcOff+len) to dst[dstOff..] without making a view (no allocation). */
function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  bufferCopy.call(src, dst, dstOff, srcOff, srcOff + len);
}
