/**
 * Physical Region Page entries and lists (NVMe Base 2.0 §4.3.1, Figures 109-110).
 *
 * A PRP entry is a 64-bit memory address; bits 1:0 are 0 (dword aligned). PRP1 may start at any
 * offset in a page; every later entry must be page aligned. PRP2 is either the second page
 * (transfer spans exactly two pages) or a pointer to a PRP list. A PRP list fills a page with
 * entries; when more are needed, the last entry of a full list page points at the next list.
 *
 * Addresses are numbers (exact below 2^53; physical / IOVA addresses are far below that).
 */
import { NvmeBufferTooShortError } from './view.js';

/** Offset of `addr` inside its memory page of `pageSize` bytes (a power of two). */
export function prpPageOffset(addr: number, pageSize: number): number {
  return addr % pageSize;
}

/** Number of memory pages a transfer of `length` bytes starting at `prp1` touches. */
export function prpPageCount(prp1: number, length: number, pageSize: number): number {
  if (length <= 0) return 0;
  return Math.ceil((prpPageOffset(prp1, pageSize) + length) / pageSize);
}

/** How PRP2 is used for a transfer: unused, a second page, or a pointer to a PRP list. */
export type Prp2Use = 'none' | 'page' | 'list';
export function prp2Use(prp1: number, length: number, pageSize: number): Prp2Use {
  const n = prpPageCount(prp1, length, pageSize);
  return n <= 1 ? 'none' : n === 2 ? 'page' : 'list';
}

/** Number of PRP list entries needed (0 when no list), counting chain pointers. */
export function prpListEntryCount(prp1: number, length: number, pageSize: number): number {
  const n = prpPageCount(prp1, length, pageSize);
  if (n <= 2) return 0;
  const pages = n - 1; // pages after the first
  const perList = pageSize / 8;
  if (pages <= perList) return pages;
  // Every full list page but the last gives one slot to the chain pointer.
  const extraLists = Math.ceil((pages - perList) / (perList - 1));
  return pages + extraLists;
}

/** Thrown by `walkPrps` for a PRP that breaks the rules (offset, alignment). */
export class PrpError extends Error {
  override readonly name = 'PrpError';
  constructor(
    message: string,
    /** Generic status code to complete with: Invalid PRP Offset (0x13), or Data Transfer Error (0x04) when the list cannot be read. */
    readonly sc: number,
  ) {
    super(message);
  }
}

/**
 * Walk the data pointer of a PRP command: calls `onSegment(addr, len)` for every contiguous piece
 * (one per page, in order), reading PRP list pages through `readList(addr, bytes)` which returns
 * `bytes` bytes of host memory at `addr` (a list may start mid-page). Returns the number of
 * segments. Throws PrpError for misaligned entries (status Invalid PRP Offset, 0x13).
 */
export function walkPrps(
  prp1: number,
  prp2: number,
  length: number,
  pageSize: number,
  readList: (addr: number, bytes: number) => Uint8Array,
  onSegment: (addr: number, len: number) => void,
): number {
  if (length <= 0) return 0;
  if (prp1 % 4 !== 0) throw new PrpError('PRP1 is not dword aligned', 0x13);
  const first = Math.min(length, pageSize - prpPageOffset(prp1, pageSize));
  onSegment(prp1, first);
  let remaining = length - first;
  if (remaining === 0) return 1;
  let segments = 1;
  if (remaining <= pageSize) {
    if (prp2 % pageSize !== 0) throw new PrpError('PRP2 is not page aligned', 0x13);
    onSegment(prp2, remaining);
    return 2;
  }
  // PRP2 points to a list; it may start at an offset but must be qword aligned.
  if (prp2 % 8 !== 0) throw new PrpError('PRP list pointer is not qword aligned', 0x13);
  let listAddr = prp2;
  while (remaining > 0) {
    const slots = (pageSize - prpPageOffset(listAddr, pageSize)) / 8;
    const needed = Math.ceil(remaining / pageSize);
    const take = Math.min(slots, needed);
    const list = readList(listAddr, take * 8);
    if (list.byteLength < take * 8) throw new PrpError('PRP list read returned too few bytes', 0x04);
    const dv = new DataView(list.buffer, list.byteOffset, take * 8);
    const before = remaining;
    for (let i = 0; i < take; i++) {
      const entry = dv.getUint32(i * 8, true) + dv.getUint32(i * 8 + 4, true) * 0x1_0000_0000;
      if (i === slots - 1 && needed > slots) {
        // Last slot of a full list page chains to the next list.
        if (entry % 8 !== 0) throw new PrpError('PRP list chain pointer is not qword aligned', 0x13);
        listAddr = entry;
        break;
      }
      if (entry % pageSize !== 0) throw new PrpError('PRP list entry is not page aligned', 0x13);
      const len = Math.min(remaining, pageSize);
      onSegment(entry, len);
      segments++;
      remaining -= len;
    }
    // A list holding nothing but a chain pointer makes no progress: a host could loop us forever.
    if (remaining === before) throw new PrpError('PRP list chain makes no progress', 0x13);
  }
  return segments;
}

/**
 * A PRP list as a view of `count` 8-byte entries (a list page, or the part of it in use).
 * `attach()` re-points it without allocating when the ArrayBuffer stays the same.
 */
export class PrpListView {
  private dv: DataView;
  private base: number;
  count: number;

  constructor(buf: Uint8Array, offset = 0, count = Math.floor((buf.byteLength - offset) / 8)) {
    PrpListView.check(buf, offset, count);
    this.dv = new DataView(buf.buffer);
    this.base = buf.byteOffset + offset;
    this.count = count;
  }

  attach(buf: Uint8Array, offset = 0, count = Math.floor((buf.byteLength - offset) / 8)): this {
    PrpListView.check(buf, offset, count);
    if (buf.buffer !== this.dv.buffer) this.dv = new DataView(buf.buffer);
    this.base = buf.byteOffset + offset;
    this.count = count;
    return this;
  }

  private static check(buf: Uint8Array, offset: number, count: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 0 || offset + count * 8 > buf.byteLength) {
      throw new NvmeBufferTooShortError('PrpListView', offset + count * 8, buf.byteLength);
    }
  }

  /** Entry `i` as a number (exact below 2^53). */
  entry(i: number): number {
    this.checkIndex(i);
    const o = this.base + i * 8;
    return this.dv.getUint32(o, true) + this.dv.getUint32(o + 4, true) * 0x1_0000_0000;
  }
  setEntry(i: number, addr: number): void {
    this.checkIndex(i);
    const o = this.base + i * 8;
    this.dv.setUint32(o, addr % 0x1_0000_0000 >>> 0, true);
    this.dv.setUint32(o + 4, Math.floor(addr / 0x1_0000_0000) >>> 0, true);
  }
  entryBig(i: number): bigint {
    this.checkIndex(i);
    return this.dv.getBigUint64(this.base + i * 8, true);
  }
  setEntryBig(i: number, addr: bigint): void {
    this.checkIndex(i);
    this.dv.setBigUint64(this.base + i * 8, BigInt.asUintN(64, addr), true);
  }
  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`PRP list index ${i} outside 0..${this.count - 1}`);
  }
}
