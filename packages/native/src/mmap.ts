import { binding } from './binding.js';

/** The system page size (sysconf(_SC_PAGESIZE)); {@link mmap} offsets are multiples of it. */
export const PAGE_SIZE: number = binding.pageSize;

/** Options of {@link mmap}. */
export interface MmapOptions {
  /**
   * PROT_WRITE as well as PROT_READ. Default true. A read-only mapping must never be written
   * through a view: the write is a SIGSEGV that ends the process, not an exception.
   */
  writable?: boolean;
}

/**
 * MAP_SHARED mapping of [offset, offset+length) as an external ArrayBuffer; a finalizer munmaps when it is collected.
 *
 * The ArrayBuffer is the mapped memory itself: Uint8Array, DataView and Uint32Array views
 * over it read and write the shared pages with no copy, and see the other side's writes
 * (another mapping, another process). `offset` must be a multiple of {@link PAGE_SIZE}.
 * Touching pages beyond the end of the file raises SIGBUS, which ends the process: size the
 * file first ({@link ftruncate}). Closing `fd` afterwards does not end the mapping.
 * @throws {NativeError} EINVAL (offset not page-aligned, length 0), EACCES (writable mapping of
 *   a read-only descriptor), ENODEV, ENOMEM, ...
 */
export function mmap(fd: number, offset: number, length: number, opts?: MmapOptions): ArrayBuffer {
  return binding.mmap(fd, offset, length, opts?.writable);
}

/**
 * Unmap now and detach the ArrayBuffer (byteLength 0 afterwards, so no access can touch unmapped memory). Idempotent.
 *
 * Views made over it read as empty after this (length 0). Guest memory that goes away
 * (vfio-user DMA_UNMAP) is released at once this way, not whenever the GC runs.
 * @throws {TypeError} when `buffer` did not come from {@link mmap}.
 */
export function munmap(buffer: ArrayBuffer): void {
  binding.munmap(buffer);
}
