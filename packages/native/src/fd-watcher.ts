import { binding, type PollBinding } from './binding.js';
import type { NativeError } from './native-error.js';

/** The descriptor has data to read (or a connection to accept, or the peer closed). */
export const READABLE = 1;
/** The descriptor has room to write. */
export const WRITABLE = 2;

/**
 * Watches fd for readiness (uv_poll). callback(events) with READABLE/WRITABLE bits, or (0, NativeError) on a poll error.
 *
 * One libuv poll handle on Node's own event loop per watcher: no thread, no busy loop. The
 * callback runs from the loop like any I/O callback (microtasks and nextTicks run after it);
 * an exception it throws is an 'uncaughtException'. Readiness is level-triggered: the callback
 * comes again on the next loop turn while the condition holds, so read until -1 (EAGAIN) or
 * stop watching.
 *
 * Rules from libuv (uv_poll_t): one watcher per descriptor at a time, never a descriptor that
 * Node itself watches (a net.Socket's), and stop or close the watcher before closing the fd.
 * A started watcher keeps the process alive (unless {@link FdWatcher.unref}) and is not
 * garbage-collected; an unstarted one that is collected releases its handle.
 */
export class FdWatcher {
  /** The descriptor watched. The watcher never closes it. */
  readonly fd: number;
  readonly #poll: PollBinding;

  /**
   * @throws {NativeError} from uv_poll_init: EBADF for a closed fd, EPERM for a descriptor
   *   epoll cannot watch (a regular file).
   */
  constructor(fd: number, callback: (events: number, error?: NativeError) => void) {
    this.fd = fd;
    this.#poll = new binding.Poll(fd, callback);
  }

  /** Watches for READABLE, WRITABLE or both; calling again changes the set. */
  start(events: number): void {
    this.#poll.start(events);
  }

  /** Stops watching; start() again resumes. No callback comes after stop() until then. */
  stop(): void {
    this.#poll.stop();
  }

  /** Stops and releases the handle; does not close fd. No callback comes after close(). Idempotent. */
  close(): void {
    this.#poll.close();
  }

  /** Keeps the process alive while started (the default), like a socket's ref(). */
  ref(): void {
    this.#poll.ref();
  }

  /** Lets the process exit while this watcher is started, like a socket's unref(). */
  unref(): void {
    this.#poll.unref();
  }
}
