import { binding } from './binding.js';

/**
 * Whether {@link mallocTrim} can give memory back in this process: true with glibc's
 * allocator (the Linux distributions nvmu runs on), false elsewhere (musl), where it does
 * nothing.
 */
export const MALLOC_TRIM_SUPPORTED: boolean = binding.mallocTrimSupported;

/**
 * malloc_trim(3): gives the C heap's free memory back to the system, the free pages in the
 * middle of the heap (madvise) as well as its top, keeping `pad` bytes free at the top
 * (default 0). glibc returns freed memory by itself only from the top of its heap, so after
 * many small allocations come and go (a server's connections) most of what they used stays
 * resident until this is called.
 *
 * Walks every free chunk of every arena while holding each arena's lock and madvises their
 * pages, one system call per free range: milliseconds to tens of milliseconds on a heap
 * fragmented by thousands of connections. Call it after a burst of frees (connections closed),
 * rate-limited, never per I/O.
 * @returns true when memory was given back.
 */
export function mallocTrim(pad?: number): boolean {
  return binding.mallocTrim(pad);
}
