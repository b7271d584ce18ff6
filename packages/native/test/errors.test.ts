import { describe, expect, it } from 'vitest';
import { closeFd, dupFd, fdSize, ftruncate, memfdCreate, NativeError } from '../src/index.js';
import { checkNoFdLeak } from './helpers.js';

describe('NativeError', () => {
  checkNoFdLeak();

  it('closeFd(-1) fails with EBADF, shaped like Node’s SystemError', () => {
    let error: unknown;
    try {
      closeFd(-1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeError);
    const e = error as NativeError;
    expect(e.code).toBe('EBADF');
    expect(e.errno).toBe(9);
    expect(e.syscall).toBe('close');
    expect(e.path).toBeUndefined();
    expect(e.name).toBe('NativeError');
    expect(e.message).toBe('EBADF: bad file descriptor, close');
    expect(e.stack).toContain('errors.test.ts');
  });

  it('names the failing call', () => {
    expect(() => dupFd(-1)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fcntl' }));
    expect(() => fdSize(-1)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fstat' }));
    expect(() => {
      ftruncate(-1, 0);
    }).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ftruncate' }));
  });

  it('a number libuv does not name still makes an error', () => {
    const e = new NativeError('test', 999);
    expect(e.code).toBe('Unknown system error 999');
    expect(e.errno).toBe(999);
  });

  it('bad arguments are TypeError or RangeError, before any system call', () => {
    expect(() => {
      // @ts-expect-error: fd must be a number
      closeFd('3');
    }).toThrow(TypeError);
    expect(() => {
      closeFd(1.5);
    }).toThrow(RangeError);
    expect(() => {
      closeFd(2 ** 31);
    }).toThrow(RangeError);
    expect(() => memfdCreate('a'.repeat(250))).toThrow(RangeError);
    expect(() => memfdCreate('a\0b')).toThrow(TypeError);
    // @ts-expect-error: allowSealing must be a boolean
    expect(() => memfdCreate('x', { allowSealing: 1 })).toThrow(TypeError);
  });
});
