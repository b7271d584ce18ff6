import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closeFd, dupFd, fdSize, ftruncate, memfdCreate, mmap, munmap, NativeError, PAGE_SIZE } from '../src/index.js';
import { checkNoFdLeak, openFds } from './helpers.js';

describe('memfd and mmap', () => {
  checkNoFdLeak();

  it('memfdCreate makes a close-on-exec memfd of size 0 that ftruncate sizes', () => {
    const fd = memfdCreate('nvmu-test-size');
    try {
      expect(openFds().get(fd)).toBe('/memfd:nvmu-test-size (deleted)');
      expect(fdSize(fd)).toBe(0);
      ftruncate(fd, 3 * PAGE_SIZE);
      expect(fdSize(fd)).toBe(3 * PAGE_SIZE);
    } finally {
      closeFd(fd);
    }
  });

  it('two mappings of one memfd see each other, also at a non-zero page offset', () => {
    const fd = memfdCreate('nvmu-test-shared');
    ftruncate(fd, 4 * PAGE_SIZE);
    const whole = mmap(fd, 0, 4 * PAGE_SIZE);
    const tail = mmap(fd, 2 * PAGE_SIZE, 2 * PAGE_SIZE);
    closeFd(fd); // the mappings outlive the descriptor
    try {
      expect(whole.byteLength).toBe(4 * PAGE_SIZE);
      expect(tail.byteLength).toBe(2 * PAGE_SIZE);
      // A write through one view is read through a view of the other mapping.
      new Uint8Array(whole)[2 * PAGE_SIZE + 5] = 0xa5;
      expect(new Uint8Array(tail)[5]).toBe(0xa5);
      new DataView(tail).setUint32(PAGE_SIZE, 0xdeadbeef, true);
      expect(new Uint32Array(whole, 3 * PAGE_SIZE, 1)[0]).toBe(0xdeadbeef);
      // Memory starts zeroed.
      expect(new Uint8Array(whole, 0, PAGE_SIZE).every((b) => b === 0)).toBe(true);
    } finally {
      munmap(whole);
      munmap(tail);
    }
  });

  it('a dup of the fd maps the same memory', () => {
    const fd = memfdCreate('nvmu-test-dup');
    const dup = dupFd(fd);
    try {
      expect(dup).not.toBe(fd);
      ftruncate(fd, PAGE_SIZE);
      expect(fdSize(dup)).toBe(PAGE_SIZE);
      const a = mmap(fd, 0, PAGE_SIZE);
      const b = mmap(dup, 0, PAGE_SIZE, { writable: false });
      new Uint8Array(a)[0] = 7;
      expect(new Uint8Array(b)[0]).toBe(7);
      munmap(a);
      munmap(b);
    } finally {
      closeFd(fd);
      closeFd(dup);
    }
  });

  it('munmap detaches the buffer (byteLength 0, views empty), unmaps it now, and is idempotent', () => {
    const fd = memfdCreate('nvmu-test-munmap');
    ftruncate(fd, PAGE_SIZE);
    const buf = mmap(fd, 0, PAGE_SIZE);
    closeFd(fd);
    const view = new Uint8Array(buf);
    view[0] = 1;
    const mapsLine = (): boolean => readFileSync('/proc/self/maps', 'utf8').includes('/memfd:nvmu-test-munmap');
    expect(mapsLine()).toBe(true);
    munmap(buf);
    expect(buf.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[0]).toBeUndefined();
    expect(mapsLine()).toBe(false);
    expect(() => {
      munmap(buf);
    }).not.toThrow();
  });

  it('munmap refuses a buffer that mmap did not make', () => {
    expect(() => {
      munmap(new ArrayBuffer(16));
    }).toThrow(TypeError);
  });

  it('mmap fails with errno errors', () => {
    const fd = memfdCreate('nvmu-test-errors');
    try {
      ftruncate(fd, 2 * PAGE_SIZE);
      expect(() => mmap(fd, 1, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'mmap' }));
      expect(() => mmap(fd, 0, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => mmap(-1, 0, PAGE_SIZE)).toThrow(NativeError);
      expect(() => mmap(fd, 0, -1)).toThrow(RangeError);
    } finally {
      closeFd(fd);
    }
  });
});

