/**
 * NVM command set data structures (NVM Command Set 1.0 §3.2.3): Dataset Management ranges.
 * The NVM command dwords (SLBA, NLB, FUA, LR, PRINFO, DEAC, NR, AD) are on `SqeView`.
 */
import { StructView } from './view.js';

/** Dataset Management range (Figure 41): 16 bytes, up to 256 per command (NR is 0's based). */
export class DsmRangeView extends StructView {
  static readonly SIZE = 16;
  /** Most ranges a Dataset Management command carries. */
  static readonly MAX_RANGES = 256;
  get byteLength(): number {
    return DsmRangeView.SIZE;
  }
  /** Context Attributes (bytes 3:0): access frequency 3:0, latency 5:4, SR 8, SW 9, WP 10, size 31:24. */
  get cattr(): number {
    return this.u32(0);
  }
  set cattr(v: number) {
    this.setU32(0, v);
  }
  /** Length in logical blocks (bytes 7:4) — not 0's based. */
  get nlb(): number {
    return this.u32(4);
  }
  set nlb(v: number) {
    this.setU32(4, v);
  }
  /** Starting LBA (bytes 15:8). */
  get slba(): number {
    return this.u64(8);
  }
  set slba(v: number) {
    this.setU64(8, v);
  }
  get slbaBig(): bigint {
    return this.u64Big(8);
  }
  set slbaBig(v: bigint) {
    this.setU64Big(8, v);
  }
}

/** Dataset Management CDW11 attribute bits. */
export const DsmAttribute = {
  /** Integral Dataset for Read. */
  IDR: 1 << 0,
  /** Integral Dataset for Write. */
  IDW: 1 << 1,
  /** Deallocate. */
  AD: 1 << 2,
} as const;

/** CDW12 bit 30 of Read, Write, Compare and Write Zeroes: Force Unit Access (NVM Command Set 1.0 Figure 43). */
export const CDW12_FUA = 1 << 30;
/** CDW12 bit 25 of Write Zeroes: Deallocate (NVM Command Set 1.0 Figure 63). */
export const CDW12_DEAC = 1 << 25;

/** PRINFO bits (CDW12 bits 29:26 as a 4-bit value). */
export const Prinfo = {
  /** Protection Information Check: reference tag. */
  PRCHK_REF: 1 << 0,
  /** Application tag. */
  PRCHK_APP: 1 << 1,
  /** Guard. */
  PRCHK_GUARD: 1 << 2,
  /** Protection Information Action. */
  PRACT: 1 << 3,
} as const;
