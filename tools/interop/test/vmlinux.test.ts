import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractVmlinux } from '../src/vmlinux.js';

/** A fake ELF: the magic, then bytes that are not. */
const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(5000)]);
/** A bzImage-like file: setup code, the compressed payload, a trailer. */
const bzImage = (payload: Buffer): Buffer => Buffer.concat([randomBytes(3000).fill(0x90), payload, Buffer.from('TRAILER!')]);

describe('extractVmlinux', () => {
  it('finds a gzip payload and returns the ELF inside', () => {
    expect(extractVmlinux(bzImage(gzipSync(elf)))?.equals(elf)).toBe(true);
  });

  it.skipIf(spawnSync('xz', ['--version']).error !== undefined)('finds an xz payload (Debian kernels) and returns the ELF inside', () => {
    const xz = spawnSync('xz', ['-c', '--check=crc32'], { input: elf }).stdout;
    expect(extractVmlinux(bzImage(xz))?.equals(elf)).toBe(true);
  });

  it('returns undefined when no payload decompresses to an ELF', () => {
    expect(extractVmlinux(bzImage(gzipSync(Buffer.from('not an elf'))))).toBeUndefined();
    expect(extractVmlinux(randomBytes(4096).fill(0))).toBeUndefined();
  });
});
