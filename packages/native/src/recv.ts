// A non-blocking receive into the caller's buffer, and the descriptor of a net.Socket: what a
// busy-poll loop over a Node socket needs (see native/recv.cc for why reading behind libuv's
// back is safe while JavaScript runs).
import type { Socket } from 'node:net';

import { binding } from './binding.js';
import { NativeError } from './native-error.js';

/** What {@link recvInto} returns when the socket has nothing to read (EAGAIN). */
export const RECV_EMPTY = -1;

/** EBADF, for a socket without a descriptor. */
const EBADF = 9;

/**
 * recv(2) with MSG_DONTWAIT into buf[offset, offset + length): the bytes read, 0 at the end of
 * the stream (the peer closed its side; it stays readable, so the socket's own reader sees it
 * too), or {@link RECV_EMPTY} (-1) when nothing is there. One system call, no allocation.
 *
 * Safe on a socket Node also reads only while JavaScript runs and only with the bytes fed to
 * the same parser Node's reads feed; never after the socket was closed (its number may then be
 * another file's). EINTR is retried.
 * @throws {NativeError} ECONNRESET, ENOTCONN, EBADF, ENOTSOCK, ... (the error is consumed: the
 *   socket's own reader will see the end of the stream instead, so act on it).
 * @throws {RangeError} when [offset, offset + length) is empty or not inside `buf`.
 */
export function recvInto(fd: number, buf: Uint8Array, offset: number, length: number): number {
  return binding.recvInto(fd, buf, offset, length);
}

/** The part of Node's internal stream handle (TCPWrap, PipeWrap) this reads. */
interface HandleWithFd {
  readonly fd?: unknown;
}

/**
 * The descriptor behind a connected `net.Socket` (its libuv handle's `fd`, which Node exposes on
 * Linux as `socket._handle.fd`; this is the one place that reads it). The number is valid while
 * the socket is open: do not use it once the socket emitted 'close' or was destroyed.
 * @throws {NativeError} EBADF when the socket has no descriptor (not connected yet, closed, or
 *   a handle that does not expose one).
 */
export function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { readonly _handle?: HandleWithFd | null })._handle;
  const fd = handle?.fd;
  if (socket.destroyed || typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new NativeError('socketFd', EBADF);
  }
  return fd;
}
