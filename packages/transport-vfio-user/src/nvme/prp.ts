/**
 * PRP data pointers (NVMe Base 2.0 §4.3.1, Figures 109-110) resolved to guest memory: first to
 * a list of (address, length) segments, then to views that become the Request's iov, so the
 * block device reads and writes guest RAM in place.
 *
 * The fast path (shared RAM) allocates nothing for page-aligned transfers: segments go to a
 * per-request Float64Array, list pages and data pages come from GuestMemory's page cache, and
 * list entries are read byte by byte from the page. RAM that is mapped but not shared (no fd)
 * takes the slow path: the list pages are fetched by DMA_READ and the data moves through a
 * bounce buffer.
 */
import { GenericStatus, SqeField, makeStatus } from '@nvmu/nvme-spec';
import { PAGE_SIZE, type GuestMemory } from './guest-memory.js';

/** Outcome of collecting segments that is not a segment count. */
export const PrpOutcome = {
  /** A PRP list page is mapped but not shared: collect again with `collectPrpsSlow`. */
  slow: -1,
} as const;

/** Status for a PRP entry with a bad offset (NVMe Base 2.0 §4.3.1: Invalid PRP Offset). */
export const STATUS_INVALID_PRP_OFFSET = makeStatus(0, GenericStatus.InvalidPrpOffset);
/** Status for a PRP (or list) outside every mapping the client gave: Data Transfer Error. */
export const STATUS_DATA_TRANSFER_ERROR = makeStatus(0, GenericStatus.DataTransferError);

/** Per-request segment scratch: pairs (address, length) in `segs`, `count` of them. */
export class PrpSegments {
  readonly segs: Float64Array;
  count = 0;
  /** Capacity in segments. */
  readonly max: number;

  constructor(maxTransfer: number) {
    // One segment a page plus one for a PRP1 that starts inside a page.
    this.max = Math.ceil(maxTransfer / PAGE_SIZE) + 1;
    this.segs = new Float64Array(this.max * 2);
  }

  push(addr: number, len: number): void {
    const i = this.count * 2;
    this.segs[i] = addr;
    this.segs[i + 1] = len;
    this.count++;
  }

  addr(i: number): number {
    return this.segs[i * 2] ?? 0;
  }

  len(i: number): number {
    return this.segs[i * 2 + 1] ?? 0;
  }

  /** Merge segments that are contiguous in guest memory (only needed past MAX_IOVCNT). */
  coalesce(): void {
    if (this.count === 0) return;
    let w = 0;
    for (let r = 1; r < this.count; r++) {
      const a = this.addr(r);
      const l = this.len(r);
      if (this.addr(w) + this.len(w) === a) this.segs[w * 2 + 1] = this.len(w) + l;
      else {
        w++;
        this.segs[w * 2] = a;
        this.segs[w * 2 + 1] = l;
      }
    }
    this.count = w + 1;
  }
}

/** Little-endian u64 (exact below 2^53) at `off` of `b`, without a DataView. */
function readU64(b: Uint8Array, off: number): number {
  const lo = ((b[off] ?? 0) | ((b[off + 1] ?? 0) << 8) | ((b[off + 2] ?? 0) << 16) | ((b[off + 3] ?? 0) << 24)) >>> 0;
  const hi = ((b[off + 4] ?? 0) | ((b[off + 5] ?? 0) << 8) | ((b[off + 6] ?? 0) << 16) | ((b[off + 7] ?? 0) << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** `prpsBeforeList` result: PRP2 points at a PRP list. */
const NEEDS_LIST = 0x1_0000;
/** PRP Entry 1 and 2 in the SQE's Data Pointer (NVMe Base 2.0 Figure 87). */
const PRP1 = SqeField.DPTR;
const PRP1_HIGH = SqeField.DPTR + 4;
const PRP2 = SqeField.DPTR + 8;
const PRP2_HIGH = SqeField.DPTR + 12;

/**
 * PRP1, and PRP2 when the transfer ends in the second page: the segment count, `-status` for a
 * bad offset, or NEEDS_LIST (PRP1 pushed, PRP2 is a qword-aligned list pointer).
 */
function prpsBeforeList(prp1: number, prp2: number, length: number, out: PrpSegments): number {
  out.count = 0;
  if (length <= 0) return 0;
  if (prp1 % 4 !== 0) return -STATUS_INVALID_PRP_OFFSET;
  const first = Math.min(length, PAGE_SIZE - (prp1 % PAGE_SIZE));
  out.push(prp1, first);
  const remaining = length - first;
  if (remaining === 0) return 1;
  if (remaining <= PAGE_SIZE) {
    if (prp2 % PAGE_SIZE !== 0) return -STATUS_INVALID_PRP_OFFSET;
    out.push(prp2, remaining);
    return 2;
  }
  if (prp2 % 8 !== 0) return -STATUS_INVALID_PRP_OFFSET;
  return NEEDS_LIST;
}

/**
 * Walk the SQE's PRP1/PRP2 (bytes 24-39) for `length` bytes into `out` through shared memory.
 * Returns the number of segments, `PrpOutcome.slow` when a list page is only reachable by
 * DMA_READ, or a negative status (`-status`) for a PRP with a bad offset or outside every
 * mapping. The PRPs are read here, not passed in: a guest address at or above 2^31 (every
 * address of a client whose IOVAs start at 4 GiB, as nvmu's host does) is a double, and
 * passing one to a function V8 does not inline boxes it (16 bytes of heap per command).
 */
export function collectPrps(mem: GuestMemory, sqe: DataView, length: number, out: PrpSegments): number {
  const prp1 = sqe.getUint32(PRP1, true) + sqe.getUint32(PRP1_HIGH, true) * 0x1_0000_0000;
  const prp2 = sqe.getUint32(PRP2, true) + sqe.getUint32(PRP2_HIGH, true) * 0x1_0000_0000;
  const head = prpsBeforeList(prp1, prp2, length, out);
  if (head !== NEEDS_LIST) return head;
  let remaining = length - out.len(0);
  let listAddr = prp2;
  while (remaining > 0) {
    const inPage = listAddr % PAGE_SIZE;
    const pageBase = listAddr - inPage;
    const page = mem.page(pageBase);
    if (page === undefined) return mem.covers(listAddr, 8, false) ? PrpOutcome.slow : -STATUS_DATA_TRANSFER_ERROR;
    const slots = (PAGE_SIZE - inPage) / 8;
    const needed = Math.ceil(remaining / PAGE_SIZE);
    const chain = needed > slots;
    const take = chain ? slots - 1 : needed;
    // A list that is nothing but a chain pointer makes no progress: a host could loop us forever.
    if (take === 0) return -STATUS_INVALID_PRP_OFFSET;
    for (let i = 0; i < take; i++) {
      const entry = readU64(page, inPage + i * 8);
      if (entry % PAGE_SIZE !== 0) return -STATUS_INVALID_PRP_OFFSET;
      const len = Math.min(remaining, PAGE_SIZE);
      out.push(entry, len);
      remaining -= len;
    }
    if (chain) {
      // The last slot of a full list page points at the next list (NVMe Base 2.0 Figure 110).
      const next = readU64(page, inPage + (slots - 1) * 8);
      if (next % 8 !== 0) return -STATUS_INVALID_PRP_OFFSET;
      listAddr = next;
    }
  }
  return out.count;
}

/** `collectPrps` for list pages in RAM that is not shared: each list page by DMA_READ. */
export async function collectPrpsSlow(mem: GuestMemory, prp1: number, prp2: number, length: number, out: PrpSegments): Promise<number> {
  const head = prpsBeforeList(prp1, prp2, length, out);
  if (head !== NEEDS_LIST) return head;
  let remaining = length - out.len(0);
  const list = Buffer.alloc(PAGE_SIZE);
  let listAddr = prp2;
  while (remaining > 0) {
    const inPage = listAddr % PAGE_SIZE;
    const slots = (PAGE_SIZE - inPage) / 8;
    const needed = Math.ceil(remaining / PAGE_SIZE);
    const chain = needed > slots;
    const take = chain ? slots : needed;
    if (!mem.covers(listAddr, take * 8, false)) return -STATUS_DATA_TRANSFER_ERROR;
    try {
      await mem.dma.read(listAddr, list.subarray(0, take * 8));
    } catch {
      return -STATUS_DATA_TRANSFER_ERROR;
    }
    const entries = chain ? take - 1 : take;
    if (entries === 0) return -STATUS_INVALID_PRP_OFFSET; // no progress (see collectPrps)
    for (let i = 0; i < entries; i++) {
      const entry = readU64(list, i * 8);
      if (entry % PAGE_SIZE !== 0) return -STATUS_INVALID_PRP_OFFSET;
      const len = Math.min(remaining, PAGE_SIZE);
      out.push(entry, len);
      remaining -= len;
    }
    if (chain) {
      const next = readU64(list, (take - 1) * 8);
      if (next % 8 !== 0) return -STATUS_INVALID_PRP_OFFSET;
      listAddr = next;
    }
  }
  return out.count;
}

/**
 * Point `iov` at the segments in shared memory. Returns the number of iov entries used, 0 when
 * some segment is not shared or there are more segments than iovs (take the slow path), or
 * `-status` when a segment is outside every mapping.
 */
export function segmentsToIov(mem: GuestMemory, s: PrpSegments, iov: Uint8Array[], maxIov: number, write: boolean): number {
  if (s.count > maxIov) {
    s.coalesce();
    // More pages than a Request carries iovs (an MDTS-sized transfer starting inside a page):
    // the slow path moves it through one bounce buffer.
    if (s.count > maxIov) return segmentsCovered(mem, s, write) ? 0 : -STATUS_DATA_TRANSFER_ERROR;
  }
  for (let i = 0; i < s.count; i++) {
    const a = s.addr(i);
    const l = s.len(i);
    const v = mem.segment(a, l);
    if (v === undefined) return mem.covers(a, l, write) ? 0 : -STATUS_DATA_TRANSFER_ERROR;
    iov[i] = v;
  }
  return s.count;
}

/** True when every segment is covered by mappings allowing the access (shared or not). */
export function segmentsCovered(mem: GuestMemory, s: PrpSegments, write: boolean): boolean {
  for (let i = 0; i < s.count; i++) if (!mem.covers(s.addr(i), s.len(i), write)) return false;
  return true;
}
