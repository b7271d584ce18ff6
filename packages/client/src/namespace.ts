/**
 * A namespace of a controller, with promise-returning I/O for convenience. The high queue
 * depth, allocation-free path is on {@link QPair} (`qpair.submitRead(ns, ...)`).
 * Commands: NVM Command Set 1.0 §3.2 (Read, Write, Flush, Write Zeroes, Dataset Management,
 * Compare).
 */
import { CDW12_DEAC, CDW12_FUA, DsmRangeView, MediaStatus, StatusCodeType } from '@nvmu/nvme-spec';
import { NvmeCommandError } from './errors.js';
import type { NamespaceData, NamespaceIds } from './identify.js';
import { type CommandResult, type NamespaceLike, type QPair } from './qpair.js';

/** What a namespace needs from its controller. */
export interface NamespaceOwner {
  /** The qpair to use: the one given, or the controller's default I/O qpair (waiting out a reset). */
  ioQPair(qpair: QPair | undefined): Promise<QPair>;
  /** Largest data of one command in bytes (MDTS and the transport), 0 = no limit. */
  readonly maxTransferSize: number;
}

/** Options common to the promise I/O methods. */
export interface IoOptions {
  /** Submit on this qpair instead of the controller's default one. */
  readonly qpair?: QPair | undefined;
}

/** Options of writes. */
export interface WriteOptions extends IoOptions {
  /** Force Unit Access: the data is on non-volatile media when the command completes. */
  readonly fua?: boolean | undefined;
}

/** One range for {@link Namespace.deallocate}. */
export interface LbaRange {
  readonly lba: number;
  readonly nlb: number;
}

// NVM opcodes (NVM Command Set 1.0 Figure 16).
const OP_FLUSH = 0x00;
const OP_WRITE = 0x01;
const OP_READ = 0x02;
const OP_COMPARE = 0x05;
const OP_WRITE_ZEROES = 0x08;
const OP_DSM = 0x09;

/** A namespace as the host sees it. */
export class Namespace implements NamespaceLike {
  readonly nsid: number;
  /** Logical block size in bytes (2^LBADS of the format in use). */
  blockSize: number;
  /** Namespace size in blocks (NSZE). */
  blockCount: number;
  /** Identify Namespace, decoded (refreshed on namespace change events). */
  data: NamespaceData;
  /** Identifiers from the Namespace Identification Descriptor list (empty if unsupported). */
  ids: NamespaceIds = {};
  /** False once the controller reported the namespace gone. */
  active = true;
  private readonly owner: NamespaceOwner;

  /** @internal Created by the controller's namespace scan. */
  constructor(owner: NamespaceOwner, nsid: number, data: NamespaceData) {
    this.owner = owner;
    this.nsid = nsid;
    this.data = data;
    this.blockSize = 2 ** data.lbaFormat.lbads;
    this.blockCount = data.nsze;
  }

  /** The namespace UUID, when the controller reports one. */
  get uuid(): string | undefined {
    return this.ids.uuid;
  }

  /** Size in bytes. */
  get size(): number {
    return this.blockCount * this.blockSize;
  }

  /** @internal New Identify data after a change; returns whether size or format changed. */
  update(data: NamespaceData): boolean {
    const blockSize = 2 ** data.lbaFormat.lbads;
    const changed = blockSize !== this.blockSize || data.nsze !== this.blockCount || data.ncap !== this.data.ncap;
    this.data = data;
    this.blockSize = blockSize;
    this.blockCount = data.nsze;
    return changed;
  }

  /**
   * One Read/Write/Compare/Write Zeroes; with data longer than the controller's transfer limit
   * (MDTS, the transport's), split into commands of at most that size, sent together (the
   * promise path's convenience; the callback path sends exactly one command).
   */
  private async rw(qp: QPair | undefined, op: number, lba: number, nlb: number, cdw12: number, data: Uint8Array | undefined): Promise<void> {
    if (!Number.isInteger(nlb) || nlb < 1) throw new RangeError(`nlb ${nlb} must be a positive integer`);
    if (!Number.isSafeInteger(lba) || lba < 0) throw new RangeError(`lba ${lba} is not a block address`);
    const max = this.owner.maxTransferSize;
    const perCommand = Math.min(0x10000, data === undefined || max === 0 ? 0x10000 : Math.max(1, Math.floor(max / this.blockSize)));
    if (nlb <= perCommand) {
      await this.one(qp, op, lba, nlb, cdw12, data);
      return;
    }
    const parts: Promise<CommandResult>[] = [];
    for (let done = 0; done < nlb; done += perCommand) {
      const n = Math.min(perCommand, nlb - done);
      const part = data?.subarray(done * this.blockSize, (done + n) * this.blockSize);
      parts.push(this.one(qp, op, lba + done, n, cdw12, part));
    }
    await Promise.all(parts);
  }

  private async one(qp: QPair | undefined, op: number, lba: number, nlb: number, cdw12: number, data: Uint8Array | undefined): Promise<CommandResult> {
    const q = await this.owner.ioQPair(qp);
    return q.execute(
      (sqe) => {
        sqe.opcode = op;
        sqe.nsid = this.nsid;
        sqe.slba = lba;
        sqe.cdw12 = ((nlb - 1) | cdw12) >>> 0;
      },
      data,
    );
  }

  /** Reads `nlb` blocks at `lba`; into `buf` if given (at least nlb × blockSize bytes), else a new Buffer. */
  async read(lba: number, nlb: number, buf?: Uint8Array, opts: IoOptions = {}): Promise<Uint8Array> {
    const len = nlb * this.blockSize;
    const target = buf === undefined ? Buffer.alloc(len) : buf.byteLength === len ? buf : buf.subarray(0, len);
    if (target.byteLength < len) throw new RangeError(`buffer of ${target.byteLength} bytes is too small for ${nlb} blocks`);
    await this.rw(opts.qpair, OP_READ, lba, nlb, 0, target);
    return target;
  }

  /** Writes `data` (a whole number of blocks) at `lba`. */
  async write(lba: number, data: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const nlb = this.blocksOf(data);
    await this.rw(opts.qpair, OP_WRITE, lba, nlb, opts.fua === true ? CDW12_FUA : 0, data);
  }

  /** Flushes the volatile write cache to media. */
  async flush(opts: IoOptions = {}): Promise<void> {
    const q = await this.owner.ioQPair(opts.qpair);
    await q.execute((sqe) => {
      sqe.opcode = OP_FLUSH;
      sqe.nsid = this.nsid;
    });
  }

  /** Write Zeroes over `nlb` blocks at `lba`; `deallocate` lets the controller unmap them. */
  async writeZeroes(lba: number, nlb: number, opts: WriteOptions & { deallocate?: boolean } = {}): Promise<void> {
    const flags = (opts.deallocate === true ? CDW12_DEAC : 0) | (opts.fua === true ? CDW12_FUA : 0);
    await this.rw(opts.qpair, OP_WRITE_ZEROES, lba, nlb, flags, undefined);
  }

  /**
   * Deallocates (TRIMs) ranges with Dataset Management, attribute AD (NVM Command Set 1.0
   * §3.2.3): up to 256 ranges of 16 bytes each (context attributes, length, starting LBA).
   */
  async deallocate(ranges: LbaRange | readonly LbaRange[], opts: IoOptions = {}): Promise<void> {
    const list = Array.isArray(ranges) ? (ranges as readonly LbaRange[]) : [ranges as LbaRange];
    if (list.length < 1 || list.length > 256) throw new RangeError(`${list.length} ranges: Dataset Management takes 1..256`);
    const data = Buffer.alloc(DsmRangeView.SIZE * list.length);
    list.forEach((r, i) => {
      const range = new DsmRangeView(data, i * DsmRangeView.SIZE);
      range.nlb = r.nlb;
      range.slbaBig = BigInt(r.lba);
    });
    const q = await this.owner.ioQPair(opts.qpair);
    await q.execute(
      (sqe) => {
        sqe.opcode = OP_DSM;
        sqe.nsid = this.nsid;
        sqe.cdw10 = list.length - 1; // NR, 0's based
        sqe.cdw11 = 1 << 2; // AD: attribute deallocate
      },
      data,
      'h2c',
    );
  }

  /**
   * Compares `data` with the blocks at `lba`: resolves true when equal, false on Compare
   * Failure (SCT 2h, SC 85h); other statuses reject with {@link NvmeCommandError}.
   */
  async compare(lba: number, data: Uint8Array, opts: IoOptions = {}): Promise<boolean> {
    try {
      await this.rw(opts.qpair, OP_COMPARE, lba, this.blocksOf(data), 0, data);
      return true;
    } catch (e) {
      if (e instanceof NvmeCommandError && e.sct === StatusCodeType.MediaError && e.sc === MediaStatus.CompareFailure) return false;
      throw e;
    }
  }

  private blocksOf(data: Uint8Array): number {
    if (data.byteLength === 0 || data.byteLength % this.blockSize !== 0) {
      throw new RangeError(`${data.byteLength} bytes is not a whole number of ${this.blockSize}-byte blocks`);
    }
    return data.byteLength / this.blockSize;
  }
}
