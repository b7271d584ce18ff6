// mallocTrim: freed C-heap memory that glibc keeps resident (free chunks below a live one) goes
// back to the system. Measured in a child process (--expose-gc) on the main heap's resident
// size; without the call, the memory stays (the control run).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { mallocTrim, MALLOC_TRIM_SUPPORTED } from '../src/index.js';

const child = fileURLToPath(new URL('./fixtures/malloc-child.mjs', import.meta.url));

interface Run {
  supported: boolean;
  start: number;
  filled: number;
  freed: number;
  trimmed: boolean;
  after: number;
  kept: number;
}

function run(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--expose-gc', child, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Run;
}

describe('mallocTrim', () => {
  it('is supported with glibc (the systems nvmu runs on) and answers a boolean', () => {
    expect(MALLOC_TRIM_SUPPORTED).toBe(true);
    expect(typeof mallocTrim()).toBe('boolean');
    expect(typeof mallocTrim(1 << 20)).toBe('boolean');
  });

  it('rejects a pad that is not a size', () => {
    expect(() => mallocTrim(-1)).toThrow(RangeError);
    expect(() => mallocTrim(1.5)).toThrow(RangeError);
  });

  it('gives back freed heap memory that glibc keeps resident by itself', () => {
    const control = run('no-trim');
    // 40 MiB filled; freed below live chunks, glibc keeps it resident.
    expect(control.filled - control.start).toBeGreaterThan(35);
    expect(control.after - control.start).toBeGreaterThan(30);

    const r = run();
    expect(r.filled - r.start).toBeGreaterThan(35);
    expect(r.freed - r.start).toBeGreaterThan(30);
    expect(r.trimmed).toBe(true);
    // Back to within a few MiB of the start (the 20 chunks kept and their pages stay).
    expect(r.after - r.start).toBeLessThan(5);
  }, 60_000);
});
