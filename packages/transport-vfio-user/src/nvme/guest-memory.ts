/**
 * Guest memory as the NVMe controller uses it: zero-copy views of fd-shared RAM (vfio-user
 * §VFIO_USER_DMA_MAP with a file descriptor), cached per 4 KiB page so that a page-aligned I/O
 * costs a Map lookup and no allocation, and the slow path (DMA_READ / DMA_WRITE messages) for
 * RAM the client did not share.
 *
 * Views die with their mapping: `unmapping()` drops every cached view before the server unmaps
 * (a view of unmapped memory would fault the process, not throw).
 */
import type { DmaRange, DmaSpace } from '../server/device.js';

/** NVMe memory page size this controller runs with: CC.MPS = 0 (CAP.MPSMIN = MPSMAX = 0). */
export const PAGE_SIZE = 4096;

/** Cached page views before the cache is emptied (bounds memory for a large, random guest). */
const PAGE_CACHE_MAX = 1 << 16;

export class GuestMemory {
  readonly dma: DmaSpace;
  private readonly pages = new Map<number, Buffer>();

  constructor(dma: DmaSpace) {
    this.dma = dma;
  }

  /**
   * A Buffer over [iova, iova+length) when that range lies in one shared mapping, else
   * undefined (not shared, not mapped, or spanning mappings). Allocates the view; use for
   * queues and other long-lived structures.
   */
  view(iova: number, length: number): Buffer | undefined {
    const u8 = this.dma.view(iova, length);
    if (u8 === undefined) return undefined;
    return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  }

  /**
   * The whole 4 KiB page at page-aligned `iova` (cached: no allocation after the first use),
   * or undefined when it is not in shared memory.
   */
  page(iova: number): Buffer | undefined {
    const key = iova / PAGE_SIZE;
    let v = this.pages.get(key);
    if (v !== undefined) return v;
    v = this.view(iova, PAGE_SIZE);
    if (v === undefined) return undefined;
    if (this.pages.size >= PAGE_CACHE_MAX) this.pages.clear();
    this.pages.set(key, v);
    return v;
  }

  /**
   * [iova, iova+length) inside one page or one shared mapping: the cached page itself when it is
   * exactly a page, else a (new) view.
   */
  segment(iova: number, length: number): Buffer | undefined {
    if (length === PAGE_SIZE && iova % PAGE_SIZE === 0) return this.page(iova);
    const pageBase = iova - (iova % PAGE_SIZE);
    if (iova + length <= pageBase + PAGE_SIZE) {
      const p = this.page(pageBase);
      if (p === undefined) return undefined;
      return p.subarray(iova - pageBase, iova - pageBase + length);
    }
    return this.view(iova, length);
  }

  /** Readable (write false) or writable (write true) through mappings, shared or not. */
  covers(iova: number, length: number, write: boolean): boolean {
    return this.dma.covers(iova, length, write);
  }

  /** A mapping goes: forget every view (cheaper than finding the ones inside it, and rare). */
  unmapping(_range: DmaRange): void {
    this.pages.clear();
  }
}

/** True when [a, a+alen) and [b, b+blen) overlap. */
export function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}
