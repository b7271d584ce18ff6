/** The allocation-free SQE writers of fields.ts, byte for byte (NVMe Base 2.0 Figure 88, §4.1.1). */
import { describe, expect, it } from 'vitest';
import { CDW12_DEAC, CDW12_FUA, SqeView, setPrpListEntry, setSqeCdw10, setSqePrp1, setSqePrp2 } from '../src/index.js';

describe('SQE writers', () => {
  it('write PRP1 at bytes 31:24, PRP2 at 39:32 and CDW10 at 43:40 of the entry at the offset', () => {
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    setSqePrp1(dv, 64, 0x0012_3456_789a_b000);
    setSqePrp2(dv, 64, 0x1_0000_2000);
    setSqeCdw10(dv, 64, 0x8000_0001);
    // Entry at 64: PRP1 bytes 88..95, PRP2 bytes 96..103, CDW10 bytes 104..107.
    expect(Array.from(b.subarray(88, 96))).toEqual([0x00, 0xb0, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00]);
    expect(Array.from(b.subarray(96, 104))).toEqual([0x00, 0x20, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);
    expect(Array.from(b.subarray(104, 108))).toEqual([0x01, 0x00, 0x00, 0x80]);
    // Nothing else written; the view reads the same fields back.
    expect(b.subarray(0, 88).every((x) => x === 0) && b.subarray(108).every((x) => x === 0)).toBe(true);
    const v = new SqeView(b.subarray(64));
    expect(v.cdw10).toBe(0x8000_0001);
  });

  it('writes PRP list entry i at list + 8i', () => {
    const b = new Uint8Array(32);
    setPrpListEntry(new DataView(b.buffer), 8, 1, 0x2_0000_1000);
    expect(Array.from(b.subarray(16, 24))).toEqual([0x00, 0x10, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
    expect(b.subarray(0, 16).every((x) => x === 0) && b.subarray(24).every((x) => x === 0)).toBe(true);
  });

  it('names CDW12 FUA (bit 30) and DEAC (bit 25)', () => {
    expect(CDW12_FUA).toBe(0x4000_0000);
    expect(CDW12_DEAC).toBe(0x0200_0000);
  });
});
