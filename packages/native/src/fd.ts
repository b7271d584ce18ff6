import { binding } from './binding.js';

/** Options of {@link memfdCreate}. */
export interface MemfdOptions {
  /** MFD_ALLOW_SEALING: allow fcntl(F_ADD_SEALS) on the memfd later. Default false. */
  allowSealing?: boolean;
}

/**
 * memfd_create(2): an anonymous file in RAM, size 0 until {@link ftruncate}. Always
 * MFD_CLOEXEC. `name` shows in /proc/PID/maps as `/memfd:NAME (deleted)`; at most 249 bytes.
 * @returns the new descriptor; close it with {@link closeFd}.
 * @throws {NativeError} EMFILE, ENOMEM, ...
 */
export function memfdCreate(name: string, opts?: MemfdOptions): number {
  return binding.memfdCreate(name, opts?.allowSealing);
}

/** ftruncate(2): sets the size of the file behind `fd` (a memfd, a regular file). */
export function ftruncate(fd: number, length: number): void {
  binding.ftruncate(fd, length);
}

/** fstat(2)'s st_size: the size of the file behind `fd`. */
export function fdSize(fd: number): number {
  return binding.fdSize(fd);
}

/**
 * close(2). EINTR is not reported (Linux has released the descriptor anyway).
 * @throws {NativeError} EBADF for a descriptor that is not open.
 */
export function closeFd(fd: number): void {
  binding.closeFd(fd);
}

/** fcntl(fd, F_DUPFD_CLOEXEC, 0): a second descriptor for the same open file, close-on-exec. */
export function dupFd(fd: number): number {
  return binding.dupFd(fd);
}
