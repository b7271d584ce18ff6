/**
 * recvInto and socketFd: the non-blocking receive a busy-poll loop makes on a socket Node also
 * reads (see native/recv.cc).
 */
import { once } from 'node:events';
import { createServer, connect, Socket, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  closeFd,
  eventfdCreate,
  memfdCreate,
  NativeError,
  RECV_EMPTY,
  recvInto,
  sendmsg,
  socketFd,
  socketpair,
} from '../src/index.js';
import { checkNoFdLeak } from './helpers.js';

/** A connected loopback TCP pair: `client` (net.connect) and `server` (accepted). */
async function tcpPair(): Promise<{ client: Socket; server: Socket; close: () => Promise<void> }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const [server] = await accepted;
  srv.close();
  const close = async (): Promise<void> => {
    const closed = [client, server].filter((s) => !s.closed).map((s) => once(s, 'close'));
    client.destroy();
    server.destroy();
    await Promise.all(closed);
  };
  return { client, server, close };
}

/** Runs `fn` with a fresh socketpair, closed after it. */
function withPair(fn: (a: number, b: number) => void): void {
  const [a, b] = socketpair();
  try {
    fn(a, b);
  } finally {
    closeFd(a);
    closeFd(b);
  }
}

describe('recvInto on a socketpair', () => {
  checkNoFdLeak();

  it('returns RECV_EMPTY (-1) when nothing is there, then the bytes, where asked', () => {
    withPair((a, b) => {
      const buf = new Uint8Array(16).fill(0xee);
      expect(recvInto(b, buf, 0, buf.length)).toBe(RECV_EMPTY);
      expect(RECV_EMPTY).toBe(-1);
      expect(sendmsg(a, [new Uint8Array([1, 2, 3, 4, 5])])).toBe(5);
      // Only 3 of the 5 bytes fit [4, 7): the rest stays for the next call.
      expect(recvInto(b, buf, 4, 3)).toBe(3);
      expect([...buf.subarray(0, 8)]).toEqual([0xee, 0xee, 0xee, 0xee, 1, 2, 3, 0xee]);
      expect(recvInto(b, buf, 0, 16)).toBe(2);
      expect([...buf.subarray(0, 2)]).toEqual([4, 5]);
      expect(recvInto(b, buf, 0, 16)).toBe(RECV_EMPTY);
    });
  });

  it('reads into a view at its own offset (byteOffset of a subarray is honoured)', () => {
    withPair((a, b) => {
      const backing = new Uint8Array(32);
      const view = backing.subarray(10, 20);
      sendmsg(a, [new Uint8Array([7, 8])]);
      expect(recvInto(b, view, 1, 9)).toBe(2);
      expect(backing[11]).toBe(7);
      expect(backing[12]).toBe(8);
    });
  });

  it('returns 0 at the end of the stream, every time it is asked', () => {
    const [a, b] = socketpair();
    try {
      sendmsg(a, [new Uint8Array([9])]);
      closeFd(a);
      const buf = new Uint8Array(4);
      expect(recvInto(b, buf, 0, 4)).toBe(1);
      expect(recvInto(b, buf, 0, 4)).toBe(0);
      expect(recvInto(b, buf, 0, 4)).toBe(0);
    } finally {
      closeFd(b);
    }
  });

  it('fails with the errno: EBADF for a closed descriptor, ENOTSOCK for an eventfd', () => {
    const buf = new Uint8Array(4);
    expect(() => recvInto(-1, buf, 0, 4)).toThrow(expect.objectContaining({ code: 'EBADF', errno: 9, syscall: 'recv' }));
    let error: unknown;
    try {
      recvInto(-1, buf, 0, 4);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeError);
    const efd = eventfdCreate();
    const mfd = memfdCreate('nvmu-recv');
    try {
      expect(() => recvInto(efd, buf, 0, 4)).toThrow(expect.objectContaining({ code: 'ENOTSOCK', syscall: 'recv' }));
      expect(() => recvInto(mfd, buf, 0, 4)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      closeFd(efd);
      closeFd(mfd);
    }
  });

  it('checks its arguments before any system call (a bad fd is not reached)', () => {
    const buf = new Uint8Array(8);
    // Each would be EBADF if the call got as far as recv(2).
    expect(() => recvInto(-1, buf, 0, 0)).toThrow(RangeError); // empty: 0 would mean end of stream
    expect(() => recvInto(-1, buf, 0, 9)).toThrow(RangeError);
    expect(() => recvInto(-1, buf, 8, 1)).toThrow(RangeError);
    expect(() => recvInto(-1, buf, 4, 5)).toThrow(RangeError);
    expect(() => recvInto(-1, buf, -1, 4)).toThrow(RangeError);
    expect(() => recvInto(-1, buf, 0.5, 4)).toThrow(RangeError);
    expect(() => recvInto(-1, buf, 2 ** 53, 4)).toThrow(RangeError);
    expect(() => recvInto(1.5, buf, 0, 4)).toThrow(RangeError);
    // @ts-expect-error: a Uint16Array is not a byte buffer
    expect(() => recvInto(-1, new Uint16Array(8), 0, 4)).toThrow(TypeError);
    // @ts-expect-error: an ArrayBuffer is not a view
    expect(() => recvInto(-1, new ArrayBuffer(8), 0, 4)).toThrow(TypeError);
    // @ts-expect-error: the length must be a number
    expect(() => recvInto(-1, buf, 0, '4')).toThrow(TypeError);
  });
});

describe('socketFd and recvInto on a net.Socket that Node also reads', () => {
  checkNoFdLeak();

  it('reads what the peer sent before libuv does; Node then receives only what follows', async () => {
    const { client, server, close } = await tcpPair();
    try {
      const seen: number[] = [];
      server.on('data', (chunk: Buffer) => seen.push(...chunk));
      const fd = socketFd(server);
      expect(fd).toBeGreaterThan(2);
      const buf = new Uint8Array(64);
      expect(recvInto(fd, buf, 0, 64)).toBe(RECV_EMPTY);
      client.write(Buffer.from([1, 2, 3]));
      // Spin (as the low-latency mode does) until the bytes are there: JavaScript runs, so
      // libuv reads nothing meanwhile.
      let n = RECV_EMPTY;
      const until = Date.now() + 5000;
      while (n === RECV_EMPTY && Date.now() < until) n = recvInto(fd, buf, 0, 64);
      expect(n).toBe(3);
      expect([...buf.subarray(0, 3)]).toEqual([1, 2, 3]);
      // The event loop runs: libuv finds the socket drained (EAGAIN), then reads the next bytes.
      await new Promise((r) => setImmediate(r));
      client.write(Buffer.from([4, 5]));
      while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
      expect(seen).toEqual([4, 5]);
    } finally {
      await close();
    }
  });

  it('sees the peer closing (0) while the socket still ends normally for Node', async () => {
    const { client, server, close } = await tcpPair();
    try {
      const fd = socketFd(server);
      server.resume();
      const ended = once(server, 'end');
      // destroy() closes the descriptor at once (FIN now); end() would wait for the event loop.
      client.destroy();
      const buf = new Uint8Array(8);
      let n = RECV_EMPTY;
      const until = Date.now() + 5000;
      while (n === RECV_EMPTY && Date.now() < until) n = recvInto(fd, buf, 0, 8);
      expect(n).toBe(0);
      await ended; // EOF stays readable: libuv sees it as well
    } finally {
      await close();
    }
  });

  it('a reset comes as ECONNRESET with the errno', async () => {
    const { client, server, close } = await tcpPair();
    try {
      const fd = socketFd(server);
      server.on('error', () => undefined);
      client.resetAndDestroy();
      await once(client, 'close');
      const buf = new Uint8Array(8);
      let error: unknown;
      const until = Date.now() + 5000;
      while (error === undefined && Date.now() < until) {
        try {
          if (recvInto(fd, buf, 0, 8) === RECV_EMPTY) await new Promise((r) => setTimeout(r, 1));
        } catch (e) {
          error = e;
        }
      }
      expect(error).toBeInstanceOf(NativeError);
      expect(error).toMatchObject({ code: 'ECONNRESET', errno: 104, syscall: 'recv' });
    } finally {
      await close();
    }
  });

  it('socketFd refuses a socket without a descriptor: not connected, or destroyed', async () => {
    expect(() => socketFd(new Socket())).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'socketFd' }));
    const { server, close } = await tcpPair();
    const fd = socketFd(server);
    await close();
    expect(() => socketFd(server)).toThrow(NativeError);
    // The descriptor went with the socket (the leak check above counts it too).
    expect(() => recvInto(fd, new Uint8Array(1), 0, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
