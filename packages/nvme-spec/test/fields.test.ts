import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CqeView, SqeView, clearCqe, setCqeCompletion, setCqeDw0, sqeCdw10, sqeCdw11, sqeCdw12, sqeCid, sqeNlb, sqeNsid, sqeSlba } from '../src/index.js';
import { bytesAt } from './helpers.js';

describe('SQE/CQE field accessors over a DataView', () => {
  it('read a Read SQE at the offsets of NVMe Base 2.0 Fig. 88 / NVM CS Fig. 47, at an offset in a slab', () => {
    const sqe = bytesAt(64, [
      [2, [0x34, 0x12]], // CID 0x1234
      [4, [0x07, 0, 0, 0]], // NSID 7
      [40, [0x10, 0, 0, 0, 0x02, 0, 0, 0]], // SLBA 0x2_0000_0010 (CDW10/11)
      [48, [0x07, 0x00, 0x00, 0x40]], // NLB 7 (0's based), FUA (bit 30)
    ]);
    const slab = new Uint8Array(3 * 64);
    slab.set(sqe, 64); // the second entry of a slab
    const dv = new DataView(slab.buffer);
    expect(sqeCid(dv, 64)).toBe(0x1234);
    expect(sqeNsid(dv, 64)).toBe(7);
    expect(sqeCdw10(dv, 64)).toBe(0x10);
    expect(sqeCdw11(dv, 64)).toBe(2);
    expect(sqeCdw12(dv, 64)).toBe(0x4000_0007);
    expect(sqeSlba(dv, 64)).toBe(0x2_0000_0010);
    expect(sqeNlb(dv, 64)).toBe(7);
  });

  it('agree with SqeView on random SQEs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
        raw[47] = (raw[47] ?? 0) & 0x1f; // SLBA below 2^53, as SqeView's number accessor
        const v = new SqeView(raw);
        const dv = new DataView(raw.buffer, raw.byteOffset, 64);
        expect([sqeCid(dv, 0), sqeNsid(dv, 0), sqeCdw10(dv, 0), sqeCdw11(dv, 0), sqeCdw12(dv, 0), sqeSlba(dv, 0), sqeNlb(dv, 0)]).toEqual([
          v.cid,
          v.nsid,
          v.cdw10,
          v.cdw11,
          v.cdw12,
          v.slba,
          v.nlb,
        ]);
      }),
    );
  });

  it('write DW0 and DW3:DW2 of a CQE (NVMe Base 2.0 Fig. 90), status shifted past the phase bit', () => {
    const b = new Uint8Array(16).fill(0xff);
    const dv = new DataView(b.buffer);
    clearCqe(dv, 0);
    expect([...b]).toEqual(new Array<number>(16).fill(0));
    setCqeDw0(dv, 0, 0xdeadbeef);
    setCqeCompletion(dv, 0, 0x0102, 3, 0x1234, 0x4281); // status with DNR, SCT 2, SC 81h
    const v = new CqeView(b);
    expect(v.dw0).toBe(0xdeadbeef);
    expect(v.dw1).toBe(0);
    expect(v.sqhd).toBe(0x0102);
    expect(v.sqid).toBe(3);
    expect(v.cid).toBe(0x1234);
    expect([b[14], b[15]]).toEqual([0x02, 0x85]); // (0x4281 << 1) & 0xfffe = 0x8502, phase 0
  });
});
