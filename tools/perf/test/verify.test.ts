import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkBlocks, describeMismatch, stampBlocks } from '../src/verify.js';

describe('verify pattern', () => {
  it('accepts what it stamped and rejects any changed word', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(512, 4096),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat(),
        (bs, nlb, lba, seed, pick) => {
          const words = new Uint32Array((bs / 4) * nlb);
          stampBlocks(words, bs / 4, lba, nlb, seed, 1);
          expect(checkBlocks(words, bs / 4, lba, nlb, seed, 1)).toBe(-1);
          const w = pick % words.length;
          words[w] = (words[w]! ^ 1) >>> 0;
          expect(checkBlocks(words, bs / 4, lba, nlb, seed, 1)).toBe(Math.floor(w / (bs / 4)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells blocks, seeds and namespaces apart', () => {
    const words = new Uint32Array(1024);
    stampBlocks(words, 1024, 77, 1, 5, 1);
    expect(checkBlocks(words, 1024, 78, 1, 5, 1)).toBe(0);
    expect(checkBlocks(words, 1024, 77, 1, 6, 1)).toBe(0);
    expect(checkBlocks(words, 1024, 77, 1, 5, 2)).toBe(0);
    expect(describeMismatch(words, 1024, 0, 78, 5, 1).message).toBe('verify mismatch: nsid 1 LBA 78 holds LBA 77 instead');
    expect(describeMismatch(words, 1024, 0, 77, 6, 1).message).toMatch(/seed 5, expected 6/);
    words.fill(0);
    const m = describeMismatch(words, 1024, 0, 0, 5, 1);
    expect(m.byteOffset).toBe(8);
  });
});

describe('describeMismatch', () => {
  it('names what the block holds', () => {
    const words = new Uint32Array(128);
    stampBlocks(words, 128, 5, 1, 9, 2);
    expect(describeMismatch(words, 128, 0, 5, 9, 3).message).toBe('verify mismatch: nsid 3 LBA 5 belongs to nsid 2');
    words[1] = 0xffffffff;
    expect(describeMismatch(words, 128, 0, 5, 9, 2).message).toBe('verify mismatch: nsid 2 LBA 5 holds LBA 18446744069414584000 instead');
    words.fill(0x01020304);
    expect(describeMismatch(words, 128, 0, 5, 9, 2).message).toBe('verify mismatch: nsid 2 LBA 5 carries no --verify stamp (first words 01020304 01020304 01020304 01020304)');
    stampBlocks(words, 128, 5, 1, 9, 2);
    words[100] = 0;
    expect(describeMismatch(words, 128, 0, 5, 9, 2).message).toBe('verify mismatch: nsid 2 LBA 5 differs at byte 400');
  });
});
