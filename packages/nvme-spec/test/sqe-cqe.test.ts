import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { SqeView, CqeView, NvmOpcode, Psdt, SglDescriptorType, SglSubtype, NvmeBufferTooShortError, StatusCodeType, MediaStatus } from '../src/index.js';
import { bytesAt, hex } from './helpers.js';

describe('SqeView', () => {
  it('decodes a Read SQE at the offsets of NVMe Base 2.0 Fig. 87 / NVM CS Fig. 37', () => {
    const b = bytesAt(64, [
      [0, [0x02]], // opcode Read
      [1, [0x40]], // PSDT 01b (bits 7:6), FUSE 0
      [2, [0x34, 0x12]], // CID 0x1234
      [4, [0x01, 0, 0, 0]], // NSID 1
      [16, [0x00, 0x10, 0, 0, 0, 0, 0, 0]], // MPTR 0x1000
      [24, [0x00, 0x20, 0, 0, 0x01, 0, 0, 0]], // PRP1 0x1_0000_2000
      [32, [0x00, 0x30, 0, 0, 0, 0, 0, 0]], // PRP2 0x3000
      [40, [0x10, 0, 0, 0, 0x02, 0, 0, 0]], // SLBA 0x2_0000_0010 (CDW10/11)
      [48, [0x07, 0x00, 0x00, 0xc0]], // NLB 7 (8 blocks), FUA (bit 30), LR (bit 31)
      [52, [0x05]], // DSM
      [56, [0xef, 0xbe, 0xad, 0xde]], // reftag
      [60, [0x22, 0x11, 0x44, 0x33]], // apptag 0x1122, appmask 0x3344
    ]);
    const s = new SqeView(b);
    expect(s.opcode).toBe(NvmOpcode.Read);
    expect(s.psdt).toBe(Psdt.SglMptrContiguous);
    expect(s.fuse).toBe(0);
    expect(s.cid).toBe(0x1234);
    expect(s.nsid).toBe(1);
    expect(s.mptr).toBe(0x1000);
    expect(s.prp1).toBe(0x1_0000_2000);
    expect(s.prp1Big).toBe(0x1_0000_2000n);
    expect(s.prp2).toBe(0x3000);
    expect(s.slba).toBe(0x2_0000_0010);
    expect(s.slbaBig).toBe(0x2_0000_0010n);
    expect(s.nlb).toBe(7);
    expect(s.fua).toBe(true);
    expect(s.lr).toBe(true);
    expect(s.prinfo).toBe(0);
    expect(s.dsm).toBe(5);
    expect(s.reftag).toBe(0xdeadbeef);
    expect(s.apptag).toBe(0x1122);
    expect(s.appmask).toBe(0x3344);
    expect(s.cdw12).toBe(0xc0000007);
  });

  it('encodes a Read SQE byte for byte', () => {
    const s = new SqeView(new Uint8Array(64));
    s.opcode = NvmOpcode.Read;
    s.cid = 0x1234;
    s.nsid = 1;
    s.prp1 = 0x1_0000_2000;
    s.slba = 0x2_0000_0010;
    s.nlb = 7;
    s.fua = true;
    s.prinfo = 0xf;
    expect(hex(s.bytes())).toBe(
      hex(
        bytesAt(64, [
          [0, [0x02, 0x00, 0x34, 0x12, 0x01]],
          [24, [0x00, 0x20, 0, 0, 0x01]],
          [40, [0x10, 0, 0, 0, 0x02]],
          [48, [0x07, 0x00, 0x00, 0x7c]], // PRINFO 0xf in bits 29:26, FUA bit 30
        ]),
      ),
    );
    s.prinfo = 0;
    expect(s.fua).toBe(true);
    expect(s.cdw12).toBe(0x40000007);
  });

  it('has Write Zeroes DEAC at CDW12 bit 25 and DSM NR/AD', () => {
    const s = new SqeView(new Uint8Array(64));
    s.deac = true;
    expect(s.cdw12).toBe(1 << 25);
    s.dsmNr = 3;
    s.dsmAd = true;
    expect(s.cdw10).toBe(3);
    expect(s.cdw11).toBe(4);
    s.dsmIdr = true;
    s.dsmIdw = true;
    expect(s.cdw11).toBe(7);
  });

  it('exposes SGL1 as fields and as a reused descriptor view', () => {
    const b = new Uint8Array(128);
    const s = new SqeView(b, 64);
    s.sgl1.set(SglDescriptorType.DataBlock, SglSubtype.Offset, 0, 4096);
    expect(b[64 + 39]).toBe(0x01);
    expect(s.sgl1Type).toBe(SglDescriptorType.DataBlock);
    expect(s.sgl1Subtype).toBe(SglSubtype.Offset);
    expect(s.sgl1Length).toBe(4096);
    const v = s.sgl1;
    s.attach(b, 0);
    expect(s.sgl1).toBe(v); // same object, re-pointed
    expect(s.sgl1.offset).toBe(24);
    s.sgl1Type = SglDescriptorType.TransportDataBlock;
    expect(b[39]).toBe(0x50);
  });

  it('writes and reads 64-bit fields as bigint beyond 2^53', () => {
    const s = new SqeView(new Uint8Array(64));
    s.slbaBig = 0xffff_ffff_ffff_fff0n;
    expect(s.slbaBig).toBe(0xffff_ffff_ffff_fff0n);
    expect(s.cdw10).toBe(0xffff_fff0);
    expect(s.cdw11).toBe(0xffff_ffff);
  });

  it('rejects buffers that are too short', () => {
    expect(() => new SqeView(new Uint8Array(63))).toThrow(NvmeBufferTooShortError);
    expect(() => new SqeView(new Uint8Array(64), 1)).toThrow(NvmeBufferTooShortError);
    const s = new SqeView(new Uint8Array(64));
    expect(() => s.attach(new Uint8Array(100), 40)).toThrow(NvmeBufferTooShortError);
  });

  it('round-trips every field (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          opcode: fc.integer({ min: 0, max: 255 }),
          fuse: fc.integer({ min: 0, max: 3 }),
          psdt: fc.integer({ min: 0, max: 3 }),
          cid: fc.integer({ min: 0, max: 0xffff }),
          nsid: fc.integer({ min: 0, max: 0xffffffff }),
          prp1: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          prp2: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          slba: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          nlb: fc.integer({ min: 0, max: 0xffff }),
          fua: fc.boolean(),
          lr: fc.boolean(),
          prinfo: fc.integer({ min: 0, max: 15 }),
          cdw15: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        fc.integer({ min: 0, max: 64 }),
        (f, off) => {
          const s = new SqeView(new Uint8Array(off + 64), off);
          Object.assign(s, f);
          expect({
            opcode: s.opcode,
            fuse: s.fuse,
            psdt: s.psdt,
            cid: s.cid,
            nsid: s.nsid,
            prp1: s.prp1,
            prp2: s.prp2,
            slba: s.slba,
            nlb: s.nlb,
            fua: s.fua,
            lr: s.lr,
            prinfo: s.prinfo,
            cdw15: s.cdw15,
          }).toEqual(f);
          expect(s.slbaBig).toBe(BigInt(f.slba));
        },
      ),
    );
  });
});

describe('CqeView', () => {
  it('decodes a CQE with an error status (NVMe Base 2.0 Fig. 96)', () => {
    const b = bytesAt(16, [
      [0, [0x78, 0x56, 0x34, 0x12]], // DW0
      [8, [0x05, 0x00]], // SQHD 5
      [10, [0x01, 0x00]], // SQID 1
      [12, [0x34, 0x12]], // CID 0x1234
      // status halfword: phase 1, SC 0x81, SCT 2, DNR → (0x4281 << 1) | 1 = 0x8503
      [14, [0x03, 0x85]],
    ]);
    const c = new CqeView(b);
    expect(c.dw0).toBe(0x12345678);
    expect(c.sqhd).toBe(5);
    expect(c.sqid).toBe(1);
    expect(c.cid).toBe(0x1234);
    expect(c.phase).toBe(true);
    expect(c.sc).toBe(MediaStatus.UnrecoveredReadError);
    expect(c.sct).toBe(StatusCodeType.MediaError);
    expect(c.dnr).toBe(true);
    expect(c.more).toBe(false);
    expect(c.status).toBe(0x4281);
    expect(c.ok).toBe(false);
  });

  it('encodes status while keeping the phase tag', () => {
    const c = new CqeView(new Uint8Array(16));
    c.phase = true;
    c.setStatus(StatusCodeType.MediaError, MediaStatus.UnrecoveredReadError, true);
    expect(c.statusRaw).toBe(0x8503);
    c.status = 0;
    expect(c.statusRaw).toBe(1);
    expect(c.ok).toBe(true);
    c.more = true;
    expect(c.statusRaw).toBe(0x4001);
    expect(c.ok).toBe(true);
    c.resultBig = 0x1122334455667788n;
    expect(c.dw0).toBe(0x55667788);
    expect(c.dw1).toBe(0x11223344);
  });

  it('field setters do not disturb each other (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        (sct, sc, crd, more, dnr, phase, cid) => {
          const c = new CqeView(new Uint8Array(16));
          c.sct = sct;
          c.sc = sc;
          c.crd = crd;
          c.more = more;
          c.dnr = dnr;
          c.phase = phase;
          c.cid = cid;
          expect([c.sct, c.sc, c.crd, c.more, c.dnr, c.phase, c.cid]).toEqual([sct, sc, crd, more, dnr, phase, cid]);
        },
      ),
    );
  });
});
