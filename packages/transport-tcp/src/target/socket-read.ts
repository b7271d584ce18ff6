/**
 * Reading an accepted socket into a caller's buffer.
 *
 * Node gives a socket it accepted a fresh Buffer for every read (a backing store of up to 64 KiB
 * allocated per read, resized to what arrived, and garbage once consumed). On the write path of
 * a target that is one allocation per few capsules of 4 KiB data: at QD 128 the V8 profile of the
 * warm target showed a third of its time in the garbage collector and most of the rest copying
 * out of cold memory (BENCHMARKS.md, "The write path"). `net.connect` has `onread: { buffer,
 * callback }` to read into one reused buffer instead, but `net.Server` has no such option. So the
 * server is created with `pauseOnConnect` (its sockets do not start reading), and the accepted
 * socket's handle is moved to a new `net.Socket` built with `onread`: from then on every read
 * lands in `buffer` and `callback` consumes it before the next read reuses it.
 *
 * Moving the handle uses `Socket._handle`, which Node does not document (Node's own
 * `onconnection` builds the accepted socket the same way: `new Socket({ handle })`). When it is
 * not there the socket is left as it is and read with 'data' events.
 */

import { Socket, type SocketConstructorOpts } from 'node:net';

/** What `readInto` reports: the socket to use from now on, and whether it reads into the caller's buffer. */
export interface SocketReader {
  readonly socket: Socket;
  readonly userBuffer: boolean;
}

interface WithHandle {
  _handle: object | null;
}

/**
 * Make `accepted` (paused at accept: `pauseOnConnect`) deliver its bytes as `onRead(buffer, n)`,
 * bytes `buffer[0, n)`, valid only during the call. With no `buffer` (or when the handle cannot
 * be moved), the bytes come from 'data' events as Node's own Buffers and `onChunk` gets them.
 */
export function readInto(
  accepted: Socket,
  buffer: Buffer | undefined,
  allowHalfOpen: boolean,
  onRead: (buf: Buffer, n: number) => void,
  onChunk: (chunk: Buffer) => void,
): SocketReader {
  const old = accepted as unknown as WithHandle;
  const handle = old._handle;
  if (buffer === undefined || handle === null || typeof handle !== 'object' || !('useUserBuffer' in handle)) {
    accepted.on('data', onChunk);
    accepted.resume();
    return { socket: accepted, userBuffer: false };
  }
  // Detach the handle first, so destroying the old socket does not close it (the server's
  // connection count still goes down, as for any destroyed socket).
  old._handle = null;
  accepted.destroy();
  // `handle` is what Node's onconnection passes too (typed there only as a BoundSocket).
  const opts: Omit<SocketConstructorOpts, 'handle'> & { handle: object } = {
    handle,
    allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (n: number) => {
        onRead(buffer, n);
        return true;
      },
    },
  };
  const socket = new Socket(opts as SocketConstructorOpts);
  return { socket, userBuffer: true };
}
