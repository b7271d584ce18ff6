import { describe, expect, it } from 'vitest';
import { closeFd, eventfdCreate, eventfdRead, eventfdWrite, NativeError } from '../src/index.js';
import { checkNoFdLeak, openFds } from './helpers.js';

describe('eventfd', () => {
  checkNoFdLeak();

  it('counts: writes add, a read takes the whole count, an empty counter reads 0n (EAGAIN)', () => {
    const fd = eventfdCreate();
    try {
      expect(openFds().get(fd)).toBe('anon_inode:[eventfd]');
      expect(eventfdRead(fd)).toBe(0n);
      eventfdWrite(fd);
      eventfdWrite(fd, 41n);
      expect(eventfdRead(fd)).toBe(42n);
      expect(eventfdRead(fd)).toBe(0n);
    } finally {
      closeFd(fd);
    }
  });

  it('starts at initval', () => {
    const fd = eventfdCreate(5);
    try {
      expect(eventfdRead(fd)).toBe(5n);
    } finally {
      closeFd(fd);
    }
  });

  it('semaphore: each read takes 1 and returns 1n', () => {
    const fd = eventfdCreate(2, { semaphore: true });
    try {
      eventfdWrite(fd, 1n);
      expect(eventfdRead(fd)).toBe(1n);
      expect(eventfdRead(fd)).toBe(1n);
      expect(eventfdRead(fd)).toBe(1n);
      expect(eventfdRead(fd)).toBe(0n);
    } finally {
      closeFd(fd);
    }
  });

  it('a write that would overflow the counter fails with EAGAIN; 2^64-1 with EINVAL', () => {
    const fd = eventfdCreate();
    try {
      eventfdWrite(fd, 0xffff_ffff_ffff_fffen);
      expect(() => {
        eventfdWrite(fd, 1n);
      }).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'write' }));
      expect(eventfdRead(fd)).toBe(0xffff_ffff_ffff_fffen);
      expect(() => {
        eventfdWrite(fd, 0xffff_ffff_ffff_ffffn);
      }).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => {
        eventfdWrite(fd, 1n << 64n);
      }).toThrow(RangeError);
    } finally {
      closeFd(fd);
    }
  });

  it('errors carry code, errno and syscall', () => {
    let error: unknown;
    try {
      eventfdRead(-1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'NativeError', code: 'EBADF', errno: 9, syscall: 'read' });
    expect((error as Error).message).toBe('EBADF: bad file descriptor, read');
  });
});
