import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accept,
  closeFd,
  eventfdCreate,
  eventfdRead,
  eventfdWrite,
  ftruncate,
  MAX_FDS_PER_MESSAGE,
  memfdCreate,
  mmap,
  munmap,
  NativeError,
  PAGE_SIZE,
  recvmsg,
  sendmsg,
  socketpair,
  unixConnect,
  unixListen,
} from '../src/index.js';
import { checkNoFdLeak, openFds } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmu-native-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A memfd of one page holding `text` at offset 0. */
function memfdWith(text: string): number {
  const fd = memfdCreate('nvmu-test-pass');
  ftruncate(fd, PAGE_SIZE);
  const map = mmap(fd, 0, PAGE_SIZE);
  new TextEncoder().encodeInto(text, new Uint8Array(map));
  munmap(map);
  return fd;
}

/** Maps `fd` (received from the other side) and reads the text at its start. */
function readMemfd(fd: number, length: number): string {
  const map = mmap(fd, 0, PAGE_SIZE);
  const text = new TextDecoder().decode(new Uint8Array(map, 0, length));
  munmap(map);
  return text;
}

describe('descriptor passing over a socketpair', () => {
  checkNoFdLeak();

  it('passes a memfd with the bytes of several chunks; the receiver maps it and sees the data', () => {
    const [a, b] = socketpair();
    const memfd = memfdWith('guest memory');
    try {
      const backing = new Uint8Array([0, 0, 1, 2, 3, 0]);
      const sent = sendmsg(a, [new Uint8Array([9, 8]), backing.subarray(2, 5)], [memfd]);
      expect(sent).toBe(5);
      const buf = new Uint8Array(32).fill(0xff);
      const fdsOut = new Int32Array(4).fill(1234);
      expect(recvmsg(b, buf, 4, 16, fdsOut)).toBe(5);
      expect([...buf.subarray(0, 10)]).toEqual([0xff, 0xff, 0xff, 0xff, 9, 8, 1, 2, 3, 0xff]);
      const received = fdsOut[0]!;
      expect(received).toBeGreaterThanOrEqual(0);
      expect(received).not.toBe(memfd);
      expect([...fdsOut.subarray(1)]).toEqual([-1, -1, -1]);
      expect(openFds().get(received)).toBe('/memfd:nvmu-test-pass (deleted)');
      expect(readMemfd(received, 12)).toBe('guest memory');
      closeFd(received);
    } finally {
      closeFd(memfd);
      closeFd(a);
      closeFd(b);
    }
  });

  it('passes several descriptors (an Int32Array works as well as an array) in order', () => {
    const [a, b] = socketpair();
    const e1 = eventfdCreate();
    const e2 = eventfdCreate();
    try {
      expect(sendmsg(a, [new Uint8Array([1])], new Int32Array([e1, e2]))).toBe(1);
      const fdsOut = new Int32Array(2);
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(1);
      // The received eventfds are the same counters.
      eventfdWrite(fdsOut[0]!, 3n);
      eventfdWrite(fdsOut[1]!, 4n);
      expect(eventfdRead(e1)).toBe(3n);
      expect(eventfdRead(e2)).toBe(4n);
      closeFd(fdsOut[0]!);
      closeFd(fdsOut[1]!);
    } finally {
      for (const fd of [a, b, e1, e2]) closeFd(fd);
    }
  });

  it('without descriptors, fdsOut is all -1', () => {
    const [a, b] = socketpair();
    try {
      expect(sendmsg(a, [new Uint8Array([1, 2])])).toBe(2);
      const fdsOut = new Int32Array(2).fill(5);
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(2);
      expect([...fdsOut]).toEqual([-1, -1]);
      expect(recvmsg(b, new Uint8Array(8), 0, 8, new Int32Array(0))).toBe(-1);
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });

  it('recvmsg returns -1 when nothing is there (EAGAIN) and 0 when the peer has closed', () => {
    const [a, b] = socketpair();
    const fdsOut = new Int32Array(1);
    try {
      fdsOut[0] = 3;
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(-1);
      expect(fdsOut[0]).toBe(-1);
      sendmsg(a, [new Uint8Array([7])]);
      closeFd(a);
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(1); // data before the end
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(0);
      expect(recvmsg(b, new Uint8Array(8), 0, 8, fdsOut)).toBe(0);
    } finally {
      closeFd(b);
    }
  });

  it('sendmsg returns -1 when the socket buffer is full, and fails with EPIPE once the peer is gone', () => {
    const [a, b] = socketpair();
    const chunk = new Uint8Array(64 * 1024);
    let total = 0;
    for (;;) {
      const n = sendmsg(a, [chunk]);
      if (n === -1) break;
      total += n;
    }
    expect(total).toBeGreaterThan(0);
    closeFd(b);
    let error: unknown;
    try {
      sendmsg(a, [chunk]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeError);
    expect(error).toMatchObject({ code: 'EPIPE', syscall: 'sendmsg' });
    closeFd(a);
  });

  it('more descriptors than fdsOut holds: EMSGSIZE, and every received descriptor is closed', () => {
    const [a, b] = socketpair();
    const fds = [eventfdCreate(), eventfdCreate(), eventfdCreate()];
    try {
      sendmsg(a, [new Uint8Array([1])], fds);
      const before = openFds().size;
      let error: unknown;
      try {
        recvmsg(b, new Uint8Array(8), 0, 8, new Int32Array(2));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NativeError);
      expect(error).toMatchObject({ code: 'EMSGSIZE', errno: 90, syscall: 'recvmsg' });
      expect(openFds().size).toBe(before);
    } finally {
      for (const fd of [a, b, ...fds]) closeFd(fd);
    }
  });

  it('takes as many descriptors as Linux passes in one message', () => {
    const [a, b] = socketpair();
    const memfd = memfdCreate('nvmu-test-many');
    const fds = new Array<number>(MAX_FDS_PER_MESSAGE).fill(memfd);
    try {
      expect(sendmsg(a, [new Uint8Array([1])], fds)).toBe(1);
      const fdsOut = new Int32Array(MAX_FDS_PER_MESSAGE);
      expect(recvmsg(b, new Uint8Array(1), 0, 1, fdsOut)).toBe(1);
      expect(fdsOut.every((fd) => fd >= 0)).toBe(true);
      for (const fd of fdsOut) closeFd(fd);
      expect(() => sendmsg(a, [new Uint8Array([1])], [...fds, memfd])).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
    } finally {
      for (const fd of [a, b, memfd]) closeFd(fd);
    }
  });

  it('checks its arguments', () => {
    const [a, b] = socketpair();
    try {
      expect(() => recvmsg(b, new Uint8Array(8), 4, 8, new Int32Array(1))).toThrow(RangeError);
      expect(() => recvmsg(b, new Uint8Array(8), 0, 0, new Int32Array(1))).toThrow(RangeError);
      // @ts-expect-error: fdsOut must be an Int32Array
      expect(() => recvmsg(b, new Uint8Array(8), 0, 8, new Uint32Array(1))).toThrow(TypeError);
      // @ts-expect-error: chunks must be Uint8Arrays
      expect(() => sendmsg(a, ['text'])).toThrow(TypeError);
      expect(() => sendmsg(a, [new Uint8Array(1)], [-1])).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(() => sendmsg(a, [new Uint8Array(0)], [a])).toThrow(RangeError);
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });
});

describe('descriptor passing over unixListen / unixConnect / accept', () => {
  checkNoFdLeak();

  it('accepts a connection and passes a memfd both ways', () => {
    const path = join(dir, 'cntrl');
    const listener = unixListen(path);
    try {
      expect(accept(listener)).toBe(-1); // nobody yet
      const client = unixConnect(path);
      const server = accept(listener);
      expect(server).toBeGreaterThanOrEqual(0);
      expect(accept(listener)).toBe(-1);
      try {
        // client → server: guest memory, as a vfio-user DMA_MAP carries it
        const memfd = memfdWith('from the client');
        expect(sendmsg(client, [new Uint8Array([1, 2, 3, 4])], [memfd])).toBe(4);
        closeFd(memfd);
        const fdsOut = new Int32Array(8);
        const buf = new Uint8Array(64);
        expect(recvmsg(server, buf, 0, 64, fdsOut)).toBe(4);
        expect(readMemfd(fdsOut[0]!, 15)).toBe('from the client');
        closeFd(fdsOut[0]!);
        // server → client
        const back = memfdWith('from the server');
        expect(sendmsg(server, [new Uint8Array([5])], [back])).toBe(1);
        closeFd(back);
        expect(recvmsg(client, buf, 0, 64, fdsOut)).toBe(1);
        expect(readMemfd(fdsOut[0]!, 15)).toBe('from the server');
        closeFd(fdsOut[0]!);
        // connected sockets are non-blocking
        expect(recvmsg(client, buf, 0, 64, fdsOut)).toBe(-1);
      } finally {
        closeFd(client);
        closeFd(server);
      }
    } finally {
      closeFd(listener);
      rmSync(path, { force: true });
    }
  });

  it('fails with errno errors that carry the path', () => {
    const missing = join(dir, 'nobody');
    expect(() => unixConnect(missing)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'connect', path: missing }),
    );
    const path = join(dir, 'busy');
    const listener = unixListen(path, 4);
    try {
      expect(() => unixListen(path)).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    } finally {
      closeFd(listener);
    }
    // The socket file stays: connecting to it without a listener is refused.
    expect(() => unixConnect(path)).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
    expect(() => unixListen('/x'.repeat(60))).toThrow(RangeError);
  });
});
