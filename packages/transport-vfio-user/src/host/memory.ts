/**
 * The host's DMA memory: what a VMM's guest RAM is to a vfio-user server. Allocations are
 * carved out of a few large chunks, each its own I/O virtual address range made known to the
 * server with one DMA_MAP (vfio-user §VFIO_USER_DMA_MAP):
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

/** One allocation: a page-aligned piece of a DMA_MAPped chunk. */
export interface DmaRegion {
  /** The I/O virtual address of `bytes[0]`, as a number (below 2^53). */
  readonly iova: number;
  readonly bytes: Uint8Array;
}

/** One DMA_MAP: a memfd (or plain memory) the allocations are carved from. */
interface Chunk {
  readonly iova: number;
  readonly bytes: Uint8Array;
  /** The memfd mapping, for munmap (memfd mode). */
  readonly mapping: ArrayBuffer | undefined;
  /** Free extents as [offset, length] pairs, sorted by offset, coalesced. */
  readonly free: [number, number][];
  /** Allocations live in this chunk. */
  used: number;
  /** Bytes below this offset may have been written (above it the memory is still as mapped: zero). */
  touchedEnd: number;
}

/** I/O virtual addresses start here, page aligned, leaving 0 unmapped (a PRP of 0 faults). */
const IOVA_BASE = 0x1_0000_0000;
const PAGE = 4096;
/**
 * Size of the first chunk; each new chunk is at least twice the last. A memfd's pages are
 * committed only when touched, so a large chunk costs address space, not memory. Few large
 * DMA_MAPs are what servers expect of a VMM (guest RAM is a handful of regions): libvfio-user,
 * under SPDK's nvmf_tgt, takes at most 16 (MAX_DMA_REGIONS), and one DMA_MAP a queue buffer
 * ran out of them at four I/O queues.
 */
const FIRST_CHUNK = 64 * 1024 * 1024;

export class HostMemory {
  readonly mode: HostDmaMode;
  readonly #conn: VfioUserClientConnection;
  /** Sorted by iova (creation order, addresses only grow). */
  readonly #chunks: Chunk[] = [];
  readonly #chunkOf = new Map<DmaRegion, Chunk>();
  #next = IOVA_BASE;
  #lastChunkSize = 0;
  /** The chunk last found by resolve() (the server asks for neighbouring addresses in runs). */
  #last: Chunk | undefined;

  constructor(conn: VfioUserClientConnection, mode: HostDmaMode) {
    this.#conn = conn;
    this.mode = mode;
  }

  /** DMA_MAPs made so far that are still mapped (diagnostics and tests). */
  get dmaMaps(): number {
    return this.#chunks.length;
  }

  /**
   * Allocates `bytes` (rounded up to pages) at an iova aligned to `align` from a mapped chunk,
   * mapping a new chunk (one DMA_MAP) when none has room. A free page follows every allocation
   * inside a chunk, so an overrun lands in memory no queue or buffer uses.
   */
  async alloc(bytes: number, align = PAGE, name = 'nvmu-dma'): Promise<DmaRegion> {
    const size = Math.ceil(bytes / PAGE) * PAGE;
    const a = Math.max(PAGE, align);
    for (const chunk of this.#chunks) {
      const region = this.#carve(chunk, size, a);
      if (region !== undefined) return region;
    }
    const chunkSize = Math.max(FIRST_CHUNK, 2 * this.#lastChunkSize, Math.ceil((size + a + PAGE) / FIRST_CHUNK) * FIRST_CHUNK);
    const chunk = await this.#mapChunk(chunkSize, name);
    const region = this.#carve(chunk, size, a);
    if (region === undefined) throw new Error(`DMA chunk of ${chunkSize} bytes cannot hold ${size}`);
    return region;
  }

  async #mapChunk(size: number, name: string): Promise<Chunk> {
    const iova = Math.ceil(this.#next / (2 * 1024 * 1024)) * (2 * 1024 * 1024);
    this.#next = iova + size + PAGE; // a hole between chunks: an overrun faults on the server
    const flags = DmaMapFlags.READ | DmaMapFlags.WRITE;
    let bytes: Uint8Array;
    let mapping: ArrayBuffer | undefined;
    if (this.mode === 'memfd') {
      const fd = memfdCreate(name);
      try {
        ftruncate(fd, size);
        mapping = mmap(fd, 0, size);
        try {
          await this.#conn.request(Command.DMA_MAP, { kind: 'dma-map', flags, offset: 0n, address: BigInt(iova), size: BigInt(size) }, [fd]);
        } catch (err) {
          munmap(mapping);
          throw err;
        }
      } finally {
        closeFd(fd); // the server has its own descriptor now; our mapping stays
      }
      bytes = new Uint8Array(mapping);
    } else {
      await this.#conn.request(Command.DMA_MAP, { kind: 'dma-map', flags, offset: 0n, address: BigInt(iova), size: BigInt(size) });
      bytes = new Uint8Array(size);
    }
    const chunk: Chunk = { iova, bytes, mapping, free: [[0, size]], used: 0, touchedEnd: 0 };
    this.#chunks.push(chunk);
    this.#lastChunkSize = size;
    return chunk;
  }

  /** First fit of `size` bytes at an iova aligned to `align`, plus a guard page; undefined if none. */
  #carve(chunk: Chunk, size: number, align: number): DmaRegion | undefined {
    for (let i = 0; i < chunk.free.length; i++) {
      const extent = chunk.free[i];
      if (extent === undefined) break;
      const [off, len] = extent;
      const start = Math.ceil((chunk.iova + off) / align) * align - chunk.iova;
      const end = start + size + PAGE;
      if (end > off + len) continue;
      // Split the extent: [off, start) and [end, off + len) stay free.
      const pieces: [number, number][] = [];
      if (start > off) pieces.push([off, start - off]);
      if (off + len > end) pieces.push([end, off + len - end]);
      chunk.free.splice(i, 1, ...pieces);
      chunk.used++;
      const region: DmaRegion = { iova: chunk.iova + start, bytes: chunk.bytes.subarray(start, start + size) };
      // A reused piece starts zeroed as a fresh memfd page does (a CQ's phase tags depend on
      // it); pages never handed out are zero already and stay uncommitted.
      if (start < chunk.touchedEnd) region.bytes.fill(0, 0, Math.min(size, chunk.touchedEnd - start));
      chunk.touchedEnd = Math.max(chunk.touchedEnd, start + size);
      this.#chunkOf.set(region, chunk);
      return region;
    }
    return undefined;
  }

  /**
   * Gives a region back. When its chunk holds nothing else the chunk is DMA_UNMAPped (the server
   * stops using it before replying) and released; otherwise the pages stay mapped for reuse.
   */
  async free(region: DmaRegion): Promise<void> {
    const chunk = this.#chunkOf.get(region);
    if (chunk === undefined) return;
    this.#chunkOf.delete(region);
    const off = region.iova - chunk.iova;
    giveBack(chunk.free, off, region.bytes.byteLength + PAGE);
    chunk.used--;
    if (chunk.used > 0) return;
    const i = this.#chunks.indexOf(chunk);
    if (i >= 0) this.#chunks.splice(i, 1);
    if (this.#last === chunk) this.#last = undefined;
    try {
      if (this.#conn.open) {
        await this.#conn.request(Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24, flags: 0, address: BigInt(chunk.iova), size: BigInt(chunk.bytes.byteLength), bitmap: null });
      }
    } catch {
      // The connection went away: the server has let go of it anyway.
    }
    if (chunk.mapping !== undefined) munmap(chunk.mapping);
  }

  /** Releases every chunk without messages (the connection is gone). */
  releaseAll(): void {
    for (const c of this.#chunks.splice(0)) if (c.mapping !== undefined) munmap(c.mapping);
    this.#chunkOf.clear();
    this.#last = undefined;
  }

  /** The memory holding [address, address + length), for the server's DMA_READ / DMA_WRITE. */
  resolve(address: number, length: number): { bytes: Uint8Array; offset: number } | undefined {
    const last = this.#last;
    if (last !== undefined && address >= last.iova && address + length <= last.iova + last.bytes.byteLength) {
      return { bytes: last.bytes, offset: address - last.iova };
    }
    for (const c of this.#chunks) {
      if (address >= c.iova && address + length <= c.iova + c.bytes.byteLength) {
        this.#last = c;
        return { bytes: c.bytes, offset: address - c.iova };
      }
    }
    return undefined;
  }
}

/** Returns [off, off + len) to a sorted free list, merging it with its neighbours. */
function giveBack(free: [number, number][], off: number, len: number): void {
  let i = 0;
  while (i < free.length && (free[i]?.[0] ?? Infinity) < off) i++;
  free.splice(i, 0, [off, len]);
  const next = free[i + 1];
  const cur = free[i];
  if (cur !== undefined && cur[0] + cur[1] === next?.[0]) {
    cur[1] += next[1];
    free.splice(i + 1, 1);
  }
  const prev = free[i - 1];
  const here = free[i];
  if (prev !== undefined && prev[0] + prev[1] === here?.[0]) {
    prev[1] += here[1];
    free.splice(i, 1);
  }
}
