import { describe, expect, it } from 'vitest';
import {
  closeFd,
  eventfdCreate,
  eventfdRead,
  eventfdWrite,
  FdWatcher,
  memfdCreate,
  NativeError,
  READABLE,
  recvmsg,
  sendmsg,
  socketpair,
  WRITABLE,
} from '../src/index.js';
import { checkNoFdLeak, turn } from './helpers.js';

/** Runs the event loop until `done()` or 200 turns have passed. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await turn();
}

describe('FdWatcher', () => {
  checkNoFdLeak();

  it('fires READABLE when data arrives on a socket', async () => {
    const [a, b] = socketpair();
    const seen: number[] = [];
    const buf = new Uint8Array(16);
    const fdsOut = new Int32Array(1);
    const got: number[] = [];
    const watcher = new FdWatcher(b, (events) => {
      seen.push(events);
      const n = recvmsg(b, buf, 0, 16, fdsOut);
      if (n > 0) got.push(...buf.subarray(0, n));
    });
    try {
      expect(watcher.fd).toBe(b);
      watcher.start(READABLE);
      await turn();
      expect(seen).toEqual([]); // nothing to read yet
      sendmsg(a, [new Uint8Array([1, 2, 3])]);
      await until(() => got.length === 3);
      expect(got).toEqual([1, 2, 3]);
      expect(seen[0]).toBe(READABLE);
    } finally {
      watcher.close();
      closeFd(a);
      closeFd(b);
    }
  });

  it('fires for an eventfd write, and for WRITABLE', async () => {
    const fd = eventfdCreate();
    const seen: number[] = [];
    const watcher = new FdWatcher(fd, (events) => {
      seen.push(events);
      if (events & READABLE) eventfdRead(fd); // level-triggered: drain
    });
    try {
      watcher.start(READABLE);
      eventfdWrite(fd, 2n);
      await until(() => seen.length > 0);
      expect(seen).toEqual([READABLE]);
      // An eventfd is always writable; watching both reports both bits once it is readable.
      seen.length = 0;
      watcher.start(READABLE | WRITABLE); // changes the set
      await until(() => seen.length > 0);
      expect(seen[0]).toBe(WRITABLE);
    } finally {
      watcher.close();
      closeFd(fd);
    }
  });

  it('stop() silences it until start() again', async () => {
    const fd = eventfdCreate();
    let calls = 0;
    const watcher = new FdWatcher(fd, () => {
      calls++;
      eventfdRead(fd);
    });
    try {
      watcher.start(READABLE);
      watcher.stop();
      eventfdWrite(fd);
      for (let i = 0; i < 5; i++) await turn();
      expect(calls).toBe(0);
      watcher.start(READABLE);
      await until(() => calls > 0);
      expect(calls).toBe(1);
    } finally {
      watcher.close();
      closeFd(fd);
    }
  });

  it('no callback after close(), even with readiness already pending; close() is idempotent', async () => {
    const fd = eventfdCreate();
    let calls = 0;
    const watcher = new FdWatcher(fd, () => {
      calls++;
    });
    watcher.start(READABLE);
    eventfdWrite(fd);
    watcher.close();
    for (let i = 0; i < 5; i++) await turn();
    expect(calls).toBe(0);
    watcher.close();
    expect(() => {
      watcher.start(READABLE);
    }).toThrow(/closed/);
    watcher.stop(); // harmless after close
    closeFd(fd);
  });

  it('close() from inside the callback ends the callbacks', async () => {
    const fd = eventfdCreate(1);
    let calls = 0;
    const watcher = new FdWatcher(fd, () => {
      calls++;
      watcher.close(); // counter not drained: a level-triggered poll would fire again
    });
    watcher.start(READABLE);
    await until(() => calls > 0);
    for (let i = 0; i < 5; i++) await turn();
    expect(calls).toBe(1);
    closeFd(fd);
  });

  it('watches many descriptors at once', async () => {
    const fds = Array.from({ length: 32 }, () => eventfdCreate());
    const fired = new Set<number>();
    const watchers = fds.map(
      (fd) =>
        new FdWatcher(fd, () => {
          eventfdRead(fd);
          fired.add(fd);
        }),
    );
    try {
      for (const w of watchers) w.start(READABLE);
      for (const fd of fds) eventfdWrite(fd);
      await until(() => fired.size === fds.length);
      expect(fired.size).toBe(fds.length);
    } finally {
      for (const w of watchers) w.close();
      for (const fd of fds) closeFd(fd);
    }
  });

  it('fails with NativeError for a descriptor it cannot watch', () => {
    expect(() => new FdWatcher(-1, () => undefined)).toThrow(NativeError);
    const memfd = memfdCreate('nvmu-test-poll'); // a regular file: epoll refuses it
    try {
      expect(() => new FdWatcher(memfd, () => undefined)).toThrow(
        expect.objectContaining({ code: 'EPERM', syscall: 'uv_poll_init' }),
      );
    } finally {
      closeFd(memfd);
    }
    const fd = eventfdCreate();
    const w = new FdWatcher(fd, () => undefined);
    expect(() => {
      w.start(4);
    }).toThrow(RangeError);
    w.close();
    closeFd(fd);
  });

  it('an unref()ed watcher does not keep the loop alive; ref() undoes it', () => {
    const fd = eventfdCreate();
    const w = new FdWatcher(fd, () => undefined);
    w.start(READABLE);
    w.unref();
    w.ref();
    w.close();
    closeFd(fd);
  });
});
