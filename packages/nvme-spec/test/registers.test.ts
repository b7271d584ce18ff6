import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Register,
  registerSize,
  decodeCap,
  encodeCap,
  decodeCc,
  encodeCc,
  decodeCsts,
  encodeCsts,
  decodeAqa,
  encodeAqa,
  decodeVs,
  encodeVs,
  decodeCmbloc,
  encodeCmbloc,
  decodeCmbsz,
  encodeCmbsz,
  sqTailDoorbell,
  cqHeadDoorbell,
  decodeDoorbell,
  applyIntms,
  applyIntmc,
  queueBase,
  NSSR_RESET_VALUE,
  NvmeVersion,
  memoryPageSize,
} from '../src/index.js';

describe('register map (NVMe Base 2.0 Fig. 35)', () => {
  it('has the spec offsets and sizes', () => {
    expect([Register.CAP, Register.VS, Register.INTMS, Register.INTMC, Register.CC, Register.CSTS, Register.NSSR, Register.AQA, Register.ASQ, Register.ACQ, Register.CMBLOC, Register.CMBSZ]).toEqual([
      0x00, 0x08, 0x0c, 0x10, 0x14, 0x1c, 0x20, 0x24, 0x28, 0x30, 0x38, 0x3c,
    ]);
    expect(registerSize(Register.CAP)).toBe(8);
    expect(registerSize(Register.ASQ)).toBe(8);
    expect(registerSize(Register.CC)).toBe(4);
    expect(NSSR_RESET_VALUE).toBe(0x4e564d65);
  });

  it('computes doorbell offsets with a stride', () => {
    expect(sqTailDoorbell(0, 0)).toBe(0x1000);
    expect(cqHeadDoorbell(0, 0)).toBe(0x1004);
    expect(sqTailDoorbell(1, 0)).toBe(0x1008);
    expect(cqHeadDoorbell(1, 0)).toBe(0x100c);
    expect(sqTailDoorbell(1, 1)).toBe(0x1010);
    expect(cqHeadDoorbell(3, 2)).toBe(0x1000 + 7 * 16);
    expect(decodeDoorbell(0x100c, 0)).toEqual({ qid: 1, cq: true });
    expect(decodeDoorbell(0x1010, 1)).toEqual({ qid: 1, cq: false });
    expect(decodeDoorbell(0x1002, 0)).toBeUndefined();
    expect(decodeDoorbell(0x0ffc, 0)).toBeUndefined();
  });

  it('decodes a CAP value (QEMU-like: MQES 2047, CQR, TO 15, CSS NVM, MPSMAX 4)', () => {
    // MQES 0x7ff | CQR bit16 | TO 0x0f << 24 | DSTRD 0 | CSS bit 37 | MPSMIN 0 | MPSMAX 4 << 52
    const cap = 0x7ffn | (1n << 16n) | (0x0fn << 24n) | (1n << 37n) | (4n << 52n);
    const d = decodeCap(cap);
    expect(d.mqes).toBe(0x7ff);
    expect(d.cqr).toBe(true);
    expect(d.to).toBe(15);
    expect(d.dstrd).toBe(0);
    expect(d.css).toBe(1);
    expect(d.mpsmin).toBe(0);
    expect(d.mpsmax).toBe(4);
    expect(d.nssrs).toBe(false);
    expect(encodeCap(d)).toBe(cap);
  });

  it('round-trips CAP (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (raw) => {
        // Only defined bits survive a round trip.
        const defined = 0xffffn | (0x7n << 16n) | (0xffn << 24n) | (0x1fffffffn << 32n);
        expect(encodeCap(decodeCap(raw))).toBe(raw & defined);
      }),
    );
  });

  it('encodes CC like a Linux host enabling the controller', () => {
    // EN | CSS 0 | MPS 0 (4 KiB) | AMS 0 | SHN 0 | IOSQES 6 | IOCQES 4 → 0x00460001
    expect(encodeCc({ en: true, iosqes: 6, iocqes: 4 })).toBe(0x00460001);
    const d = decodeCc(0x00464001 | (2 << 14) | (6 << 4));
    expect(d.en).toBe(true);
    expect(d.shn).toBe(3);
    expect(d.css).toBe(6);
    expect(d.iosqes).toBe(6);
    expect(d.iocqes).toBe(4);
  });

  it('round-trips CC, CSTS, AQA, VS, CMBLOC, CMBSZ (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        expect(encodeCc(decodeCc(v))).toBe((v & 0x01fffff1) >>> 0);
        expect(encodeCsts(decodeCsts(v))).toBe(v & 0x7f);
        expect(encodeAqa(decodeAqa(v))).toBe((v & 0x0fff0fff) >>> 0);
        expect(encodeVs(decodeVs(v))).toBe(v);
        expect(encodeCmbloc(decodeCmbloc(v))).toBe((v & 0xfffff1ff) >>> 0);
        expect(encodeCmbsz(decodeCmbsz(v))).toBe((v & 0xffffff1f) >>> 0);
      }),
    );
  });

  it('decodes CSTS, AQA and VS fields', () => {
    expect(decodeCsts(0b1001)).toMatchObject({ rdy: true, cfs: false, shst: 2 });
    expect(encodeCsts({ rdy: true, shst: 2 })).toBe(0b1001);
    expect(decodeAqa(0x001f001f)).toEqual({ asqs: 31, acqs: 31 });
    expect(decodeVs(NvmeVersion.V1_4)).toEqual({ mjr: 1, mnr: 4, ter: 0 });
    expect(encodeVs({ mjr: 2, mnr: 0, ter: 1 })).toBe(0x00020001);
  });

  it('applies INTMS / INTMC writes to a mask and masks ASQ/ACQ bases', () => {
    expect(applyIntms(0b0001, 0b0100)).toBe(0b0101);
    expect(applyIntmc(0b0101, 0b0001)).toBe(0b0100);
    expect(applyIntms(0, 0x80000000)).toBe(0x80000000);
    expect(queueBase(0x12345fffn)).toBe(0x12345000n);
    expect(memoryPageSize(0)).toBe(4096);
  });

  it('decodes CMBLOC bits at the spec positions (Base 2.0 Fig. 47; Linux/QEMU CMBLOC_*_SHIFT)', () => {
    // BIR 2 (2:0) | CQMMS bit 3 | CQDA bit 8 | OFST 0x12345 (31:12); bits 11:9 reserved.
    const v = (2 | (1 << 3) | (1 << 8) | (0x12345 << 12)) >>> 0;
    const d = decodeCmbloc(v);
    expect(d.bir).toBe(2);
    expect(d.flags).toBe(0b100001); // CQMMS = flag bit 0, CQDA = flag bit 5
    expect(d.ofst).toBe(0x12345);
    expect(encodeCmbloc({ flags: 1 })).toBe(0x8); // CQMMS alone
    expect(encodeCmbloc({ flags: 1 << 5 })).toBe(0x100); // CQDA alone
    expect(decodeCmbloc(0xe00).flags).toBe(0); // reserved 11:9 ignored
  });

  it('decodes CMBSZ bits at the spec positions (Fig. 48)', () => {
    // SQS | WDS (bit 4) | SZU 2 (11:8, 1 MiB) | SZ 64 (31:12)
    const d = decodeCmbsz((1 | (1 << 4) | (2 << 8) | (64 << 12)) >>> 0);
    expect(d).toEqual({ sqs: true, cqs: false, lists: false, rds: false, wds: true, szu: 2, sz: 64 });
  });

  it('doorbell offsets invert for every qid and stride (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 15 }), (qid, dstrd) => {
        const step = 4 << dstrd;
        expect(sqTailDoorbell(qid, dstrd)).toBe(0x1000 + 2 * qid * step);
        expect(cqHeadDoorbell(qid, dstrd)).toBe(0x1000 + (2 * qid + 1) * step);
        expect(decodeDoorbell(sqTailDoorbell(qid, dstrd), dstrd)).toEqual({ qid, cq: false });
        expect(decodeDoorbell(cqHeadDoorbell(qid, dstrd), dstrd)).toEqual({ qid, cq: true });
        if (dstrd > 0) expect(decodeDoorbell(sqTailDoorbell(qid, dstrd) + 4, dstrd)).toBeUndefined();
      }),
    );
  });

  it('INTMS sets and INTMC clears exactly the written bits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (mask, w) => {
        const set = applyIntms(mask, w);
        const clr = applyIntmc(mask, w);
        for (let bit = 0; bit < 32; bit++) {
          const m = (mask >>> bit) & 1;
          const x = (w >>> bit) & 1;
          expect((set >>> bit) & 1).toBe(x === 1 ? 1 : m);
          expect((clr >>> bit) & 1).toBe(x === 1 ? 0 : m);
        }
        expect(set).toBeGreaterThanOrEqual(0);
        expect(clr).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
