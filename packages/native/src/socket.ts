// AF_UNIX stream sockets with descriptor passing (SCM_RIGHTS), the vfio-user wire. Each call
// is one non-blocking system call; wait for readiness with FdWatcher.
import { binding } from './binding.js';

/** Linux's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

/**
 * SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC UNIX socket bound to path and listening.
 *
 * The path must not exist (EADDRINUSE otherwise: unlink a stale socket first) and is at most
 * 107 bytes. The socket file gets the process umask's mode; chmod it (0600) to restrict who
 * connects.
 * @param backlog listen(2) backlog. Default 511, as Node's net.Server.
 * @returns the listening descriptor: watch it for READABLE, then {@link accept}.
 * @throws {NativeError} EADDRINUSE, EACCES, ENOENT (no such folder), ... with `path` set.
 */
export function unixListen(path: string, backlog?: number): number {
  return binding.unixListen(path, backlog);
}

/**
 * Connects (blocking connect on a local socket), then sets O_NONBLOCK.
 *
 * A UNIX socket connect completes at once unless the listener's backlog is full.
 * @throws {NativeError} ENOENT (no socket at path), ECONNREFUSED (nobody listening), ...
 */
export function unixConnect(path: string): number {
  return binding.unixConnect(path);
}

/** Accepts one connection (non-blocking, CLOEXEC); -1 when none is pending. */
export function accept(listenFd: number): number {
  return binding.accept(listenFd);
}

/** socketpair(2): two connected AF_UNIX SOCK_STREAM sockets, non-blocking, close-on-exec. */
export function socketpair(): [number, number] {
  return binding.socketpair();
}

/**
 * sendmsg with the chunks as iovecs and the fds as one SCM_RIGHTS message; returns bytes sent, -1 on EAGAIN; MSG_NOSIGNAL.
 *
 * The chunks' memory is sent in place (no copy into a joined buffer). A short send (fewer
 * bytes than the chunks hold) is possible: the descriptors went with its first byte, so send
 * the rest without them. At most {@link MAX_FDS_PER_MESSAGE} descriptors go in one call, and
 * they need at least one byte to travel with. The sender's descriptors stay open: close them
 * when done.
 * @throws {NativeError} EPIPE or ECONNRESET when the peer is gone; EBADF for a bad fd in `fds`;
 *   EINVAL for more than {@link MAX_FDS_PER_MESSAGE} descriptors.
 * @throws {RangeError} for descriptors with zero bytes of chunks.
 */
export function sendmsg(fd: number, chunks: readonly Uint8Array[], fds?: readonly number[] | Int32Array): number {
  return binding.sendmsg(fd, chunks, fds);
}

/**
 * recvmsg into buf[offset, offset+length): returns bytes (0 = peer closed, -1 = EAGAIN). Received fds are written to fdsOut (Int32Array) and the rest of fdsOut set to -1; more fds than fdsOut.length: all received fds are closed and NativeError EMSGSIZE is thrown (MSG_CTRUNC too).
 *
 * fdsOut is rewritten by every call that returns (all -1 when nothing or no descriptor came).
 * Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC) and belong to the caller. The
 * kernel never hands one call the bytes of two sends that carried descriptors, so the
 * descriptors come with the first bytes of the message they were sent with. After EMSGSIZE
 * the bytes of that call are lost: treat the connection as broken. `length` must be
 * non-zero (a zero-byte read would look like the end of the stream).
 * @throws {RangeError} when [offset, offset+length) is empty or not inside `buf`.
 */
export function recvmsg(fd: number, buf: Uint8Array, offset: number, length: number, fdsOut: Int32Array): number {
  return binding.recvmsg(fd, buf, offset, length, fdsOut);
}
