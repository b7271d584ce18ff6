/**
 * The --verify pattern: every block a write carries is stamped with what identifies it, so a
 * read can tell whether it got the right block, from this seed, intact:
 *
 *   word 0-1  the block's LBA (low, high 32 bits)
 *   word 2    the seed
 *   word 3    the nsid
 *   word 4..  a stream derived from (LBA, seed, word index)
 *
 * The content of a block depends only on (LBA, seed, nsid), never on when it was written, so a
 * read racing a write of the same block in a mixed workload still sees a valid block, and a
 * later run with the same seed can check what an earlier one wrote (--no-prefill).
 * Words are in the host's byte order (the pattern only needs to round-trip on this machine).
 * Nothing here allocates.
 */

const TWO_32 = 0x1_0000_0000;

/** Base of the derived stream of one block. */
function streamBase(lbaLo: number, lbaHi: number, seed: number): number {
  // A murmur3-style finaliser of (lba, seed): neighbouring blocks get unrelated streams.
  let h = Math.imul(lbaLo ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(lbaHi + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Stamps `nlb` blocks starting at `lba` into `words` (a Uint32Array over the I/O buffer),
 * `blockWords` 32-bit words per block.
 */
export function stampBlocks(words: Uint32Array, blockWords: number, lba: number, nlb: number, seed: number, nsid: number): void {
  for (let b = 0; b < nlb; b++) {
    const block = lba + b;
    const lo = block % TWO_32 >>> 0;
    const hi = Math.floor(block / TWO_32) >>> 0;
    const o = b * blockWords;
    words[o] = lo;
    words[o + 1] = hi;
    words[o + 2] = seed >>> 0;
    words[o + 3] = nsid >>> 0;
    const base = streamBase(lo, hi, seed);
    for (let i = 4; i < blockWords; i++) words[o + i] = (base + Math.imul(i, 0x9e3779b1)) >>> 0;
  }
}

/**
 * Checks `nlb` blocks starting at `lba`; returns -1 when all match, else the index (from 0) of
 * the first block that does not. Use {@link describeMismatch} for the details.
 */
export function checkBlocks(words: Uint32Array, blockWords: number, lba: number, nlb: number, seed: number, nsid: number): number {
  for (let b = 0; b < nlb; b++) {
    if (firstBadWord(words, blockWords, b, lba + b, seed, nsid) >= 0) return b;
  }
  return -1;
}

/** Index of the first wrong word of block `b` of the buffer (expected to hold `block`), or -1. */
function firstBadWord(words: Uint32Array, blockWords: number, b: number, block: number, seed: number, nsid: number): number {
  const lo = block % TWO_32 >>> 0;
  const hi = Math.floor(block / TWO_32) >>> 0;
  const o = b * blockWords;
  if (words[o] !== lo) return 0;
  if (words[o + 1] !== hi) return 1;
  if (words[o + 2] !== seed >>> 0) return 2;
  if (words[o + 3] !== nsid >>> 0) return 3;
  const base = streamBase(lo, hi, seed);
  for (let i = 4; i < blockWords; i++) {
    if (words[o + i] !== (base + Math.imul(i, 0x9e3779b1)) >>> 0) return i;
  }
  return -1;
}

/** One block that failed verification. */
export interface VerifyMismatch {
  /** Namespace of the block. */
  readonly nsid: number;
  /** The block's LBA. */
  readonly lba: number;
  /** Byte offset of the first wrong byte inside the block. */
  readonly byteOffset: number;
  /** The LBA the block claims to be (its words 0-1), when it carries a stamp at all. */
  readonly foundLba: number;
  /** The seed the block carries (word 2). */
  readonly foundSeed: number;
  /** Human-readable summary. */
  readonly message: string;
}

/** Details of block `b` of a buffer that failed {@link checkBlocks} (error path; allocates). */
export function describeMismatch(words: Uint32Array, blockWords: number, b: number, block: number, seed: number, nsid: number): VerifyMismatch {
  const bad = Math.max(0, firstBadWord(words, blockWords, b, block, seed, nsid));
  const o = b * blockWords;
  const foundLba = (words[o] ?? 0) + (words[o + 1] ?? 0) * TWO_32;
  const foundSeed = words[o + 2] ?? 0;
  const stamped = words[o + 2] === seed >>> 0 && words[o + 3] === nsid >>> 0;
  let what: string;
  if (bad <= 1 && stamped) what = `holds LBA ${foundLba} instead`;
  else if (bad <= 3 && words[o + 3] === nsid >>> 0 && foundLba === block) what = `was written with seed ${foundSeed}, expected ${seed}`;
  else if (bad <= 3 && foundLba === block && words[o + 2] === seed >>> 0) what = `belongs to nsid ${words[o + 3] ?? 0}`;
  else if (bad <= 3) what = `carries no --verify stamp (first words ${hexWords(words, o, 4)})`;
  else what = `differs at byte ${bad * 4}`;
  return { nsid, lba: block, byteOffset: bad * 4, foundLba, foundSeed, message: `verify mismatch: nsid ${nsid} LBA ${block} ${what}` };
}

function hexWords(words: Uint32Array, o: number, n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push((words[o + i] ?? 0).toString(16).padStart(8, '0'));
  return parts.join(' ');
}
