/**
 * The DMA mapping table (vfio-user §VFIO_USER_DMA_MAP, §VFIO_USER_DMA_UNMAP): guest memory the
 * client lets the device reach. A mapping that came with an fd is mmapped (MAP_SHARED) and read
 * and written in place; one without is reached through DMA_READ / DMA_WRITE messages to the
 * client (vfio-user §VFIO_USER_DMA_READ). libvfio-user's lib/dma.c plays this role.
 */
import { fstatSync } from 'node:fs';
import { mmap, munmap, closeFd, NativeError } from '@nvmu/native';
import { DmaMapFlags, Errno } from '@nvmu/vfio-user-codec';

import { type DmaRange, type DmaSpace, VfioUserErrnoError } from './device.js';

/** Page size the server advertises (VERSION pgsizes) and requires of mappings. */
export const DMA_PAGE_SIZE = 4096;

/** How the table reaches memory without an fd: DMA_READ / DMA_WRITE to the client. */
export interface DmaTransfer {
  /** Largest count of one DMA_READ / DMA_WRITE (the client's max_data_xfer_size). */
  readonly maxChunk: number;
  readFromClient(iova: number, dst: Uint8Array): Promise<void>;
  writeToClient(iova: number, src: Uint8Array): Promise<void>;
}

interface Mapping {
  readonly iova: number;
  readonly end: number;
  readonly range: DmaRange;
  /** The mmapped bytes (shared mappings), else undefined. */
  bytes: Uint8Array | undefined;
}

function efault(iova: number, length: number): VfioUserErrnoError {
  return new VfioUserErrnoError(Errno.EFAULT, `guest memory [0x${iova.toString(16)}, +0x${length.toString(16)}) is not mapped for this access`);
}

/** The mapping table and the DmaSpace the device sees. */
export class DmaTable implements DmaSpace {
  /** Sorted by iova; mappings never overlap. */
  readonly #maps: Mapping[] = [];
  #last: Mapping | undefined;
  #transfer: DmaTransfer | undefined;
  maxMaps: number;

  constructor(maxMaps: number) {
    this.maxMaps = maxMaps;
  }

  /** Set by the connection for clients that can answer DMA_READ / DMA_WRITE. */
  setTransfer(transfer: DmaTransfer | undefined): void {
    this.#transfer = transfer;
  }

  get size(): number {
    return this.#maps.length;
  }

  /**
   * Adds a mapping (DMA_MAP). Takes ownership of `fd` (closed here, mapped or not; -1 for none).
   * Returns the new range or throws VfioUserErrnoError: EEXIST for a range that overlaps a
   * mapping ("a command to map over an existing region must be failed by the server with
   * EEXIST", vfio-user §VFIO_USER_DMA_MAP), EINVAL for a malformed one, ENOSPC past max_dma_maps.
   */
  add(iova: bigint, size: bigint, flags: number, fd: number, fileOffset: bigint): DmaRange {
    try {
      const readable = (flags & DmaMapFlags.READ) !== 0;
      const writable = (flags & DmaMapFlags.WRITE) !== 0;
      if ((flags & ~(DmaMapFlags.READ | DmaMapFlags.WRITE)) !== 0 || (!readable && !writable)) {
        throw new VfioUserErrnoError(Errno.EINVAL, `DMA_MAP flags 0x${flags.toString(16)}`);
      }
      const page = BigInt(DMA_PAGE_SIZE);
      if (size === 0n || iova % page !== 0n || size % page !== 0n || iova + size > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new VfioUserErrnoError(Errno.EINVAL, `DMA_MAP [0x${iova.toString(16)}, +0x${size.toString(16)}) is not page-aligned or too large`);
      }
      if (fd >= 0 && (fileOffset % page !== 0n || fileOffset + size > BigInt(Number.MAX_SAFE_INTEGER))) {
        throw new VfioUserErrnoError(Errno.EINVAL, `DMA_MAP file offset 0x${fileOffset.toString(16)}`);
      }
      const start = Number(iova);
      const length = Number(size);
      const end = start + length;
      const at = this.#firstEndingAfter(start);
      const next = this.#maps[at];
      if (next !== undefined && next.iova < end) {
        throw new VfioUserErrnoError(Errno.EEXIST, `DMA_MAP [0x${start.toString(16)}, 0x${end.toString(16)}) overlaps [0x${next.iova.toString(16)}, 0x${next.end.toString(16)})`);
      }
      if (this.#maps.length >= this.maxMaps) throw new VfioUserErrnoError(Errno.ENOSPC, `max_dma_maps (${this.maxMaps}) reached`);
      let bytes: Uint8Array | undefined;
      if (fd >= 0) {
        // A mapping that runs past the end of its file would not fail here but later: touching
        // a page past EOF of a memfd or regular file raises SIGBUS and kills the whole target,
        // and a hugetlbfs file silently grows new pages the client never sees (SPDK's host
        // without single-file segments maps a multi-page range with one page's fd). Refuse it.
        const file = fstatSync(fd, { bigint: true });
        if (file.isFile() && fileOffset + size > file.size) {
          throw new VfioUserErrnoError(
            Errno.EINVAL,
            `DMA_MAP [0x${iova.toString(16)}, +0x${size.toString(16)}) at file offset 0x${fileOffset.toString(16)} runs past the end of its ${file.size}-byte file`,
          );
        }
        try {
          bytes = new Uint8Array(mmap(fd, Number(fileOffset), length, { writable }));
        } catch (err) {
          if (err instanceof NativeError) throw new VfioUserErrnoError(err.errno, `DMA_MAP mmap: ${err.message}`);
          throw err;
        }
      }
      const range: DmaRange = Object.freeze({ iova: start, length, readable, writable, shared: fd >= 0 });
      const mapping: Mapping = { iova: start, end, range, bytes };
      this.#maps.splice(at, 0, mapping);
      return range;
    } finally {
      if (fd >= 0) closeFd(fd);
    }
  }

  /**
   * The mappings DMA_UNMAP [iova, iova+size) removes: every mapping inside the range. A mapping
   * cut by the range is EINVAL; a range with no mapping is ENOENT (libvfio-user's answers).
   */
  findForUnmap(iova: bigint, size: bigint): DmaRange[] {
    if (size === 0n || iova + size > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new VfioUserErrnoError(Errno.EINVAL, `DMA_UNMAP [0x${iova.toString(16)}, +0x${size.toString(16)})`);
    }
    const start = Number(iova);
    const end = start + Number(size);
    const out: DmaRange[] = [];
    for (let i = this.#firstEndingAfter(start); i < this.#maps.length; i++) {
      const m = this.#maps[i];
      if (m === undefined || m.iova >= end) break;
      if (m.iova < start || m.end > end) {
        throw new VfioUserErrnoError(Errno.EINVAL, `DMA_UNMAP cuts the mapping [0x${m.iova.toString(16)}, 0x${m.end.toString(16)})`);
      }
      out.push(m.range);
    }
    if (out.length === 0) throw new VfioUserErrnoError(Errno.ENOENT, `DMA_UNMAP [0x${start.toString(16)}, 0x${end.toString(16)}): nothing mapped`);
    return out;
  }

  /** Removes one mapping (after its dmaUnmapping resolved) and munmaps it. */
  remove(range: DmaRange): void {
    const i = this.#maps.findIndex((m) => m.range === range);
    if (i < 0) return;
    const [m] = this.#maps.splice(i, 1);
    if (this.#last === m) this.#last = undefined;
    if (m?.bytes !== undefined) {
      munmap(m.bytes.buffer as ArrayBuffer);
      m.bytes = undefined;
    }
  }

  /** Removes every mapping (client gone). */
  clear(): void {
    for (const m of [...this.#maps]) this.remove(m.range);
  }

  ranges(): readonly DmaRange[] {
    return this.#maps.map((m) => m.range);
  }

  /** Index of the first mapping whose end is above `addr` (binary search). */
  #firstEndingAfter(addr: number): number {
    let lo = 0;
    let hi = this.#maps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#maps[mid]?.end ?? 0) <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The mapping holding `addr`, or undefined. Remembers the last hit (I/O runs in a few mappings). */
  #find(addr: number): Mapping | undefined {
    const last = this.#last;
    if (last !== undefined && addr >= last.iova && addr < last.end) return last;
    const m = this.#maps[this.#firstEndingAfter(addr)];
    if (m === undefined || m.iova > addr) return undefined;
    this.#last = m;
    return m;
  }

  view(iova: number, length: number, write = false): Uint8Array | undefined {
    const m = this.#find(iova);
    if (m?.bytes === undefined || iova + length > m.end || length < 0) return undefined;
    if (write ? !m.range.writable : !m.range.readable) return undefined;
    const off = iova - m.iova;
    return m.bytes.subarray(off, off + length);
  }

  covers(iova: number, length: number, write: boolean): boolean {
    let at = iova;
    const end = iova + length;
    while (at < end) {
      const m = this.#find(at);
      if (m === undefined || (write ? !m.range.writable : !m.range.readable)) return false;
      at = m.end;
    }
    return true;
  }

  async read(iova: number, dst: Uint8Array): Promise<void> {
    await this.#copy(iova, dst, false);
  }

  async write(iova: number, src: Uint8Array): Promise<void> {
    await this.#copy(iova, src, true);
  }

  async #copy(iova: number, buf: Uint8Array, write: boolean): Promise<void> {
    if (!this.covers(iova, buf.length, write)) throw efault(iova, buf.length);
    let done = 0;
    while (done < buf.length) {
      const at = iova + done;
      const m = this.#find(at);
      if (m === undefined) throw efault(at, buf.length - done);
      const n = Math.min(buf.length - done, m.end - at);
      const part = buf.subarray(done, done + n);
      if (m.bytes !== undefined) {
        const off = at - m.iova;
        if (write) m.bytes.set(part, off);
        else part.set(m.bytes.subarray(off, off + n));
      } else {
        const transfer = this.#transfer;
        if (transfer === undefined) throw efault(at, n);
        for (let p = 0; p < n; p += transfer.maxChunk) {
          const chunk = part.subarray(p, Math.min(n, p + transfer.maxChunk));
          if (write) await transfer.writeToClient(at + p, chunk);
          else await transfer.readFromClient(at + p, chunk);
        }
      }
      done += n;
    }
  }
}
