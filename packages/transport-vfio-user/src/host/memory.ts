/**
 * The host's DMA memory: what a VMM's guest RAM is to a vfio-user server. Each allocation is
 * its own I/O virtual address range, made known to the server with DMA_MAP (vfio-user
 * §VFIO_USER_DMA_MAP):
 *
 * - `'memfd'` (default): the memory is a memfd mapped here and sent with the DMA_MAP, so the
 *   server maps the same pages and reads queues and data with no message (QEMU with
 *   memory-backend-memfd share=on, SPDK's nvme_vfio_user with hugepages).
 * - `'message'`: plain process memory sent without a descriptor; the server reaches it with
 *   DMA_READ / DMA_WRITE, which the connection answers from {@link HostMemory.resolve}.
 */
import { closeFd, ftruncate, memfdCreate, mmap, munmap } from '@nvmu/native';
import { Command, DmaMapFlags } from '@nvmu/vfio-user-codec';
import type { VfioUserClientConnection } from './connection.js';

/** How DMA memory reaches the server. */
export type HostDmaMode = 'memfd' | 'message';

/** One DMA_MAPped range. */
export interface DmaRegion {
  /** The I/O virtual address of `bytes[0]`, as a number (below 2^53). */
  readonly iova: number;
  readonly bytes: Uint8Array;
  /** The mapping, for munmap (memfd mode). */
  readonly mapping: ArrayBuffer | undefined;
}

/** I/O virtual addresses start here, page aligned, leaving 0 unmapped (a PRP of 0 faults). */
const IOVA_BASE = 0x1_0000_0000;
const PAGE = 4096;

export class HostMemory {
  readonly mode: HostDmaMode;
  readonly #conn: VfioUserClientConnection;
  /** Sorted by iova (allocation order, addresses only grow). */
  readonly #regions: DmaRegion[] = [];
  #next = IOVA_BASE;
  /** The region last found by resolve() (the server asks for neighbouring addresses in runs). */
  #last: DmaRegion | undefined;

  constructor(conn: VfioUserClientConnection, mode: HostDmaMode) {
    this.#conn = conn;
    this.mode = mode;
  }

  /** Allocates and DMA_MAPs `bytes` (rounded up to pages) at an iova aligned to `align`. */
  async alloc(bytes: number, align = PAGE, name = 'nvmu-dma'): Promise<DmaRegion> {
    const size = Math.ceil(bytes / PAGE) * PAGE;
    const a = Math.max(PAGE, align);
    const iova = Math.ceil(this.#next / a) * a;
    this.#next = iova + size + PAGE; // a guard page between regions: an overrun faults on the server
    const flags = DmaMapFlags.READ | DmaMapFlags.WRITE;
    let region: DmaRegion;
    if (this.mode === 'memfd') {
      const fd = memfdCreate(name);
      let mapping: ArrayBuffer;
      try {
        ftruncate(fd, size);
        mapping = mmap(fd, 0, size);
        await this.#conn.request(Command.DMA_MAP, { kind: 'dma-map', flags, offset: 0n, address: BigInt(iova), size: BigInt(size) }, [fd]);
      } finally {
        closeFd(fd); // the server has its own descriptor now; our mapping stays
      }
      region = { iova, bytes: new Uint8Array(mapping), mapping };
    } else {
      const ab = new ArrayBuffer(size);
      await this.#conn.request(Command.DMA_MAP, { kind: 'dma-map', flags, offset: 0n, address: BigInt(iova), size: BigInt(size) });
      region = { iova, bytes: new Uint8Array(ab), mapping: undefined };
    }
    this.#regions.push(region);
    return region;
  }

  /** DMA_UNMAPs and releases a region (the server stops using it before replying). */
  async free(region: DmaRegion): Promise<void> {
    const i = this.#regions.indexOf(region);
    if (i < 0) return;
    this.#regions.splice(i, 1);
    if (this.#last === region) this.#last = undefined;
    try {
      if (this.#conn.open) {
        await this.#conn.request(Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24, flags: 0, address: BigInt(region.iova), size: BigInt(region.bytes.byteLength), bitmap: null });
      }
    } catch {
      // The connection went away: the server has let go of it anyway.
    }
    if (region.mapping !== undefined) munmap(region.mapping);
  }

  /** Releases every region without messages (the connection is gone). */
  releaseAll(): void {
    for (const r of this.#regions.splice(0)) if (r.mapping !== undefined) munmap(r.mapping);
    this.#last = undefined;
  }

  /** The region holding [address, address + length), for the server's DMA_READ / DMA_WRITE. */
  resolve(address: number, length: number): { bytes: Uint8Array; offset: number } | undefined {
    const last = this.#last;
    if (last !== undefined && address >= last.iova && address + length <= last.iova + last.bytes.byteLength) {
      return { bytes: last.bytes, offset: address - last.iova };
    }
    for (const r of this.#regions) {
      if (address >= r.iova && address + length <= r.iova + r.bytes.byteLength) {
        this.#last = r;
        return { bytes: r.bytes, offset: address - r.iova };
      }
    }
    return undefined;
  }
}
