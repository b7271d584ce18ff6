import { binding } from './binding.js';

/** Options of {@link eventfdCreate}. */
export interface EventfdOptions {
  /** EFD_SEMAPHORE: each read takes 1 from the counter and returns 1n. Default false. */
  semaphore?: boolean;
}

/**
 * eventfd(2) with EFD_NONBLOCK | EFD_CLOEXEC: a 64-bit counter that a write adds to and a read
 * takes (and resets), readable while non-zero. vfio-user IRQs and doorbell wake-ups are these.
 * @param initval the counter's first value, below 2^32. Default 0.
 */
export function eventfdCreate(initval?: number, opts?: EventfdOptions): number {
  return binding.eventfdCreate(initval, opts?.semaphore);
}

/**
 * Reads the counter; 0n when it would block (EAGAIN).
 *
 * Without EFD_SEMAPHORE it returns the whole count and resets it to 0; with it, 1n and
 * takes 1.
 */
export function eventfdRead(fd: number): bigint {
  return binding.eventfdRead(fd);
}

/**
 * Adds `value` (default 1n) to the counter, waking whoever polls the descriptor.
 * @throws {NativeError} EAGAIN when the counter would pass 2^64 - 2; EINVAL for 2^64 - 1.
 */
export function eventfdWrite(fd: number, value?: bigint): void {
  binding.eventfdWrite(fd, value);
}
