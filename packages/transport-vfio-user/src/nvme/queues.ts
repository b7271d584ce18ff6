/**
 * Submission and completion queues in guest memory (NVMe Base 2.0 §3.3.1): circular rings of
 * 64-byte SQEs and 16-byte CQEs the host allocated (physically contiguous: CAP.CQR = 1, so every
 * queue is one PRP1 range), with their doorbells.
 *
 * Two ways to reach a ring: a Buffer over shared guest RAM (zero copy, allocation free), or, when
 * the client mapped the RAM without an fd, DMA_READ of the new SQEs and DMA_WRITE of CQEs
 * through a staging copy (async). `mem` says which: a Buffer, or undefined for the slow way.
 *
 * Flow control as SPDK's vfio_user.c does it: a command is fetched from an SQ only while its CQ
 * has a free slot reserved for its completion, so a CQE is never written over one the host has
 * not consumed (NVMe Base 2.0 §3.3.1.2: the queue is full when tail + 1 == head).
 */
import type { QPair } from '@nvmu/nvmf';

/** One doorbell: a 32-bit word in BAR0's doorbell page or in the shadow doorbell buffer. */
export interface Doorbell {
  /** The words (BAR0 doorbell page, or a Doorbell Buffer Config page). */
  words: Uint32Array;
  /** Word index of this doorbell. */
  index: number;
}

export type QueueState =
  /** Fetching / posting. */
  | 'live'
  /** Its guest memory was unmapped under it (DMA_UNMAP): waits for a mapping to come back. */
  | 'unmapped'
  /** Deleted (Delete I/O SQ/CQ, controller reset, detach): nothing more is read or written. */
  | 'deleted';

export class CompletionQueue {
  readonly qid: number;
  /** Entries (CDW10 QSIZE + 1). */
  readonly size: number;
  /** Guest address of entry 0 (PRP1). */
  readonly iova: number;
  /** Interrupts enabled (Create I/O CQ CDW11 bit 1; always for the admin CQ). */
  readonly ien: boolean;
  /** MSI-X vector (Create I/O CQ CDW11 31:16; 0 for the admin CQ). */
  readonly iv: number;
  state: QueueState = 'live';
  /** Shared ring, or undefined: CQEs go out by DMA_WRITE from `staging`. */
  mem: Buffer | undefined;
  dv: DataView | undefined;
  /** Staging copy of the ring for the slow way (allocated only then). */
  staging: Buffer | undefined;
  /** Writes in flight in the slow way; the interrupt waits for them. */
  writesInFlight = 0;
  readonly head: Doorbell;
  /** Next slot the controller writes. */
  tail = 0;
  /** Phase tag of the current pass (starts at 1, NVMe Base 2.0 §4.6). */
  phase = 1;
  /** Last head the host reported through the doorbell. */
  lastHead = 0;
  /** Completions owed to commands already fetched (slots promised). */
  reserved = 0;
  /** SQs that post here (a CQ in use cannot be deleted). */
  sqRefs = 0;
  /** A completion was posted since the last interrupt. */
  irqPending = false;
  /** Shadow doorbell event index word for this CQ (Doorbell Buffer Config), if any. */
  eventIdx: Doorbell | undefined;
  /** Last invalid head value reported (one Asynchronous Event per bad value, not per poll). */
  badHead = -1;
  /** DataView over `staging`. */
  stagingDv: DataView | undefined;

  constructor(qid: number, size: number, iova: number, ien: boolean, iv: number, head: Doorbell) {
    this.qid = qid;
    this.size = size;
    this.iova = iova;
    this.ien = ien;
    this.iv = iv;
    this.head = head;
    this.mem = undefined;
    this.dv = undefined;
  }

  get bytes(): number {
    return this.size * 16;
  }

  setMemory(mem: Buffer | undefined): void {
    this.mem = mem;
    this.dv = mem === undefined ? undefined : new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    if (mem === undefined && this.staging === undefined) {
      this.staging = Buffer.alloc(this.bytes);
      this.stagingDv = new DataView(this.staging.buffer, this.staging.byteOffset, this.staging.byteLength);
    }
  }

  /** Free slots as far as the last known head says (one slot always stays empty). */
  freeSlots(): number {
    const used = this.tail >= this.lastHead ? this.tail - this.lastHead : this.size - (this.lastHead - this.tail);
    return this.size - 1 - used;
  }

  /** Entries posted and not yet consumed by the host. */
  used(): number {
    return this.size - 1 - this.freeSlots();
  }
}

export class SubmissionQueue {
  readonly qid: number;
  readonly size: number;
  readonly iova: number;
  readonly cq: CompletionQueue;
  /** The core qpair commands of this SQ run on (the admin qpair for qid 0). */
  readonly qpair: QPair;
  state: QueueState = 'live';
  mem: Buffer | undefined;
  /** DataView over `mem` (SQEs are copied out as words: no native Buffer.copy per command). */
  dv: DataView | undefined;
  /** Slow way: SQEs fetched by DMA_READ land here (allocated only then). */
  fetchBuf: Buffer | undefined;
  /** DataView over `fetchBuf`. */
  fetchDv: DataView | undefined;
  /** A DMA_READ of SQEs is in flight. */
  fetching = false;
  readonly tailDb: Doorbell;
  /** Shadow doorbell event index word for this SQ (Doorbell Buffer Config), if any. */
  eventIdx: Doorbell | undefined;
  /** Next entry the controller consumes (reported as SQHD). */
  head = 0;
  /** Last valid tail the host rang. */
  tail = 0;
  /** Commands fetched and not yet completed. */
  outstanding = 0;
  /** Last invalid tail value reported (one Asynchronous Event per bad value, not per poll). */
  badTail = -1;

  constructor(qid: number, size: number, iova: number, cq: CompletionQueue, qpair: QPair, tailDb: Doorbell) {
    this.qid = qid;
    this.size = size;
    this.iova = iova;
    this.cq = cq;
    this.qpair = qpair;
    this.tailDb = tailDb;
    this.mem = undefined;
    this.dv = undefined;
  }

  get bytes(): number {
    return this.size * 64;
  }

  setMemory(mem: Buffer | undefined): void {
    this.mem = mem;
    this.dv = mem === undefined ? undefined : new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    if (mem === undefined && this.fetchBuf === undefined) {
      this.fetchBuf = Buffer.alloc(this.bytes);
      this.fetchDv = new DataView(this.fetchBuf.buffer, this.fetchBuf.byteOffset, this.fetchBuf.byteLength);
    }
  }

  /** Entries between head and tail. */
  pending(): number {
    return this.tail >= this.head ? this.tail - this.head : this.size - (this.head - this.tail);
  }
}
