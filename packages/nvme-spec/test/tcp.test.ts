import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import {
  PduType,
  PduFlags,
  TermReqFes,
  TCP_PDU_HEADER_LENGTH,
  pduDataOffset,
  pduLength,
  IcReqView,
  IcRespView,
  TermReqView,
  CapsuleCmdView,
  CapsuleRespView,
  H2CDataView,
  C2HDataView,
  R2TView,
  PduHeaderView,
  headerDigest,
  writeHeaderDigest,
  verifyHeaderDigest,
  dataDigest,
  writeDataDigest,
  verifyDataDigest,
  readDigest,
  checkPduHeader,
  isPduHeaderProblem,
  NvmOpcode,
  SglDescriptorType,
  SglSubtype,
  DigestEnable,
  checkIcReq,
  checkIcResp,
  newPduLayout,
} from '../src/index.js';
import type { Crc32c } from '../src/index.js';
import { bytesAt, hex } from './helpers.js';

const crc: Crc32c = crc32c;

describe('CRC32C contract the digest helpers rely on', () => {
  it('@node-rs/crc32 computes standard CRC32C and chains with its initial state', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint8Array([4, 5, 6, 7]);
    expect(crc32c(b, crc32c(a))).toBe(crc32c(new Uint8Array([1, 2, 3, 4, 5, 6, 7])));
  });
});

describe('header lengths and data offsets (NVMe/TCP 1.0 §3.6.2)', () => {
  it('has the fixed HLEN for each PDU type', () => {
    expect(TCP_PDU_HEADER_LENGTH[PduType.ICReq]).toBe(128);
    expect(TCP_PDU_HEADER_LENGTH[PduType.ICResp]).toBe(128);
    expect(TCP_PDU_HEADER_LENGTH[PduType.CapsuleCmd]).toBe(72);
    expect(TCP_PDU_HEADER_LENGTH[PduType.CapsuleResp]).toBe(24);
    expect(TCP_PDU_HEADER_LENGTH[PduType.H2CData]).toBe(24);
    expect(TCP_PDU_HEADER_LENGTH[PduType.C2HData]).toBe(24);
    expect(TCP_PDU_HEADER_LENGTH[PduType.R2T]).toBe(24);
    expect(TCP_PDU_HEADER_LENGTH[PduType.H2CTermReq]).toBe(24);
  });

  it('places data after the header digest, aligned to the PDA', () => {
    expect(pduDataOffset(72, false)).toBe(72);
    expect(pduDataOffset(72, true)).toBe(76);
    expect(pduDataOffset(24, true, 0)).toBe(28);
    expect(pduDataOffset(24, true, 7)).toBe(32); // 32-byte alignment
    expect(pduDataOffset(72, true, 31)).toBe(128);
    expect(pduLength(24, true, true, 4096)).toBe(28 + 4096 + 4);
    expect(pduLength(24, true, true, 0)).toBe(28);
    expect(pduLength(72, false, false, 0)).toBe(72);
  });
});

describe('PDU data offset / alignment rules (NVMe/TCP 1.0 §3.6.2.2, Linux nvme_tcp_hdgst_len / PDA)', () => {
  it('PDO is the first multiple of (PDA + 1) * 4 after the header and its digest (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(24, 72, 128), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 1 << 20 }), (hlen, hdgst, ddgst, pda, len) => {
        const align = (pda + 1) * 4;
        const end = hlen + (hdgst ? 4 : 0);
        const pdo = pduDataOffset(hlen, hdgst, pda);
        expect(pdo % align).toBe(0);
        expect(pdo).toBeGreaterThanOrEqual(end);
        expect(pdo - end).toBeLessThan(align);
        const plen = pduLength(hlen, hdgst, ddgst, len, pda);
        expect(plen).toBe(len === 0 ? end : pdo + len + (ddgst ? 4 : 0));
      }),
    );
  });
});

describe('ICReq / ICResp', () => {
  it('encodes an ICReq like the Linux host (HPDA 0, MAXR2T 0, digests requested)', () => {
    const req = new IcReqView(new Uint8Array(128)).init();
    req.pfv = 0;
    req.hpda = 0;
    req.hdgstEnable = true;
    req.ddgstEnable = true;
    req.maxr2t = 0;
    expect(hex(req.bytes())).toBe(
      hex(
        bytesAt(128, [
          [0, [0x00, 0x00, 128, 0x00, 128, 0, 0, 0]], // type, flags, HLEN, PDO, PLEN
          [8, [0x00, 0x00, 0x00, 0x03]], // PFV, HPDA, DGST (HDGST | DDGST)
        ]),
      ),
    );
    expect(req.dgst).toBe(DigestEnable.HDGST | DigestEnable.DDGST);
  });

  it('decodes an ICResp (CPDA 0, MAXH2CDATA 128 KiB)', () => {
    const b = bytesAt(128, [
      [0, [0x01, 0x00, 128, 0x00, 128, 0, 0, 0]],
      [8, [0x00, 0x00, 0x00, 0x01]], // PFV 0, CPDA 0, DGST header only
      [12, [0x00, 0x00, 0x02, 0x00]], // MAXH2CDATA 0x20000
    ]);
    const r = new IcRespView(b);
    expect(r.pduType).toBe(PduType.ICResp);
    expect(r.hlen).toBe(128);
    expect(r.plen).toBe(128);
    expect(r.cpda).toBe(0);
    expect(r.hdgstEnable).toBe(true);
    expect(r.ddgstEnable).toBe(false);
    expect(r.maxh2cdata).toBe(0x20000);
    const again = new IcRespView(new Uint8Array(128)).init();
    again.hdgstEnable = true;
    again.maxh2cdata = 0x20000;
    expect(hex(again.bytes())).toBe(hex(b));
  });
});

describe('ICReq / ICResp fields at Linux nvme-tcp.h offsets (distinct values)', () => {
  it('ICReq: PFV @8 (u16), HPDA @10, DGST @11, MAXR2T @12 (u32)', () => {
    const req = new IcReqView(new Uint8Array(128)).init();
    req.pfv = 0x0102;
    req.hpda = 0x03;
    req.dgst = DigestEnable.DDGST;
    req.maxr2t = 0x11223344;
    expect([...req.bytes().subarray(8, 16)]).toEqual([0x02, 0x01, 0x03, 0x02, 0x44, 0x33, 0x22, 0x11]);
    const back = new IcReqView(Uint8Array.from(req.bytes()));
    expect([back.pfv, back.hpda, back.hdgstEnable, back.ddgstEnable, back.maxr2t]).toEqual([0x0102, 3, false, true, 0x11223344]);
  });

  it('ICResp: PFV @8 (u16), CPDA @10, DGST @11, MAXH2CDATA @12 (u32)', () => {
    const b = bytesAt(128, [
      [0, [0x01, 0x00, 128, 0x00, 128, 0, 0, 0]],
      [8, [0x05, 0x00, 0x07, 0x02, 0x00, 0x10, 0x01, 0x00]], // PFV 5, CPDA 7, DGST DDGST, MAXH2CDATA 0x11000
    ]);
    const r = new IcRespView(b);
    expect([r.pfv, r.cpda, r.hdgstEnable, r.ddgstEnable, r.maxh2cdata]).toEqual([5, 7, false, true, 0x11000]);
  });
});

describe('ICReq / ICResp checks', () => {
  it('accepts what Linux sends and rejects other versions', () => {
    const req = new IcReqView(new Uint8Array(128)).init();
    expect(checkIcReq(req)).toBeUndefined();
    req.pfv = 1;
    expect(checkIcReq(req)).toMatchObject({ fes: TermReqFes.UnsupportedParameter, fei: 8 });
    req.pfv = 0;
    req.hpda = 32;
    expect(checkIcReq(req)).toMatchObject({ fei: 10 });
  });

  it('checks ICResp like the Linux host: CPDA, digests, MAXH2CDATA', () => {
    const r = new IcRespView(new Uint8Array(128)).init();
    r.maxh2cdata = 0x20000;
    r.hdgstEnable = true;
    expect(checkIcResp(r, { hdgst: true, ddgst: false })).toBeUndefined();
    expect(checkIcResp(r, { hdgst: false, ddgst: false })).toMatchObject({ fei: 11 });
    r.maxh2cdata = 4094;
    expect(checkIcResp(r, { hdgst: true, ddgst: false })).toMatchObject({ fei: 12 });
    r.maxh2cdata = 4096;
    r.cpda = 40;
    expect(checkIcResp(r, { hdgst: true, ddgst: false })).toMatchObject({ fei: 10 });
  });
});

describe('CapsuleCmd / CapsuleResp', () => {
  it('encodes a Read capsule with a Transport SGL and a header digest', () => {
    const buf = new Uint8Array(76);
    const p = new CapsuleCmdView(buf).init(true, false, 0);
    const s = p.sqe;
    s.opcode = NvmOpcode.Read;
    s.cid = 7;
    s.nsid = 1;
    s.psdt = 1;
    s.sgl1.set(SglDescriptorType.TransportDataBlock, SglSubtype.TransportSpecific, 0, 4096);
    s.slba = 8;
    s.nlb = 0;
    writeHeaderDigest(crc, buf);
    expect(p.pduType).toBe(PduType.CapsuleCmd);
    expect(p.flags).toBe(PduFlags.HDGSTF);
    expect(p.hlen).toBe(72);
    expect(p.pdo).toBe(0);
    expect(p.plen).toBe(76);
    expect(buf[8]).toBe(0x02); // SQE opcode at PDU byte 8
    expect(buf[8 + 39]).toBe(0x5a); // SGL identifier at SQE byte 39
    expect(readDigest(buf, 72)).toBe(crc32c(buf.subarray(0, 72)));
    expect(verifyHeaderDigest(crc, buf)).toBe(true);
    buf[20] = buf[20]! ^ 1;
    expect(verifyHeaderDigest(crc, buf)).toBe(false);
  });

  it('encodes in-capsule data with both digests', () => {
    const data = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    const plen = pduLength(72, true, true, 512);
    const buf = new Uint8Array(plen);
    const p = new CapsuleCmdView(buf).init(true, true, 512);
    expect(p.pdo).toBe(76);
    expect(p.plen).toBe(76 + 512 + 4);
    expect(p.flags).toBe(PduFlags.HDGSTF | PduFlags.DDGSTF);
    expect([p.dataOffset, p.dataLength]).toEqual([76, 512]);
    buf.set(data, p.pdo);
    writeHeaderDigest(crc, buf);
    writeDataDigest(crc, buf);
    expect(readDigest(buf, plen - 4)).toBe(crc32c(data));
    expect(dataDigest(crc, [data.subarray(0, 100), data.subarray(100)])).toBe(crc32c(data));
    expect(verifyDataDigest(crc, buf)).toBe(true);
    buf[100] = buf[100]! ^ 0x80;
    expect(verifyDataDigest(crc, buf)).toBe(false);
    const layout = checkPduHeader(buf, 0, { hdgst: true, ddgst: true });
    expect(layout).toEqual({ type: 4, hlen: 72, hdgstOffset: 72, dataOffset: 76, dataLength: 512, ddgstOffset: 76 + 512, plen });
    const out = newPduLayout();
    expect(checkPduHeader(buf, 0, { hdgst: true, ddgst: true }, out)).toBe(out);
    expect(out).toEqual(layout);
  });

  it('encodes a CapsuleResp carrying an error CQE', () => {
    const r = new CapsuleRespView(new Uint8Array(24)).init(false);
    r.cqe.cid = 7;
    r.cqe.sqhd = 3;
    r.cqe.setStatus(0, 0x80, true); // LBA out of range, DNR
    expect(hex(r.bytes())).toBe(
      hex(
        bytesAt(24, [
          [0, [0x05, 0x00, 24, 0x00, 24, 0, 0, 0]],
          [16, [0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x81]], // SQHD 3, SQID 0, CID 7, status (0x4080 << 1)
        ]),
      ),
    );
  });
});

describe('data PDUs, R2T, TermReq', () => {
  it('encodes a C2HData with LAST_PDU | SUCCESS', () => {
    const h = new C2HDataView(new Uint8Array(24)).init(false, false, 4096, true, 0, true);
    h.cccid = 7;
    h.datao = 0;
    h.datal = 4096;
    expect(hex(h.bytes())).toBe(
      hex(
        bytesAt(24, [
          [0, [0x07, 0x0c, 24, 24, 0x18, 0x10, 0, 0]], // flags LAST|SUCCESS, PDO 24, PLEN 24 + 4096
          [8, [0x07, 0x00, 0x00, 0x00]], // CCCID 7, reserved
          [16, [0x00, 0x10, 0, 0]], // DATAL 4096
        ]),
      ),
    );
    expect(h.success).toBe(true);
    expect(h.lastPdu).toBe(true);
  });

  it('decodes an H2CData with digests', () => {
    const b = bytesAt(24, [
      [0, [0x06, 0x07, 24, 28, 0x20, 0x10, 0, 0]], // HDGSTF|DDGSTF|LAST, PDO 28, PLEN 28+4096+4
      [8, [0x07, 0x00, 0x02, 0x00]], // CCCID 7, TTAG 2
      [12, [0x00, 0x10, 0, 0]], // DATAO 4096
      [16, [0x00, 0x10, 0, 0]], // DATAL 4096
    ]);
    const h = new H2CDataView(b);
    expect([h.pduType, h.hdgstf, h.ddgstf, h.lastPdu, h.pdo, h.plen]).toEqual([PduType.H2CData, true, true, true, 28, 28 + 4096 + 4]);
    expect([h.cccid, h.ttag, h.datao, h.datal]).toEqual([7, 2, 4096, 4096]);
    const again = new H2CDataView(new Uint8Array(24)).init(true, true, 4096, true);
    again.cccid = 7;
    again.ttag = 2;
    again.datao = 4096;
    again.datal = 4096;
    expect(hex(again.bytes())).toBe(hex(b));
  });

  it('encodes an R2T', () => {
    const r = new R2TView(new Uint8Array(24)).init(false);
    r.cccid = 7;
    r.ttag = 1;
    r.r2to = 0;
    r.r2tl = 8192;
    expect(hex(r.bytes())).toBe(hex(bytesAt(24, [[0, [0x09, 0, 24, 0, 24, 0, 0, 0]], [8, [7, 0, 1, 0]], [16, [0x00, 0x20, 0, 0]]])));
  });

  it('encodes a C2HTermReq with FES/FEI at bytes 8 and 10', () => {
    const t = new TermReqView(new Uint8Array(24)).init(PduType.C2HTermReq, TermReqFes.HeaderDigestError, 0xdeadbeef, 0);
    expect(hex(t.bytes())).toBe(hex(bytesAt(24, [[0, [0x03, 0, 24, 0, 24, 0, 0, 0]], [8, [0x03, 0x00, 0xef, 0xbe, 0xad, 0xde]]])));
    t.init(PduType.H2CTermReq, TermReqFes.InvalidHeaderField, 2, 72);
    expect([t.dataOffset, t.dataLength]).toEqual([24, 72]);
    expect(hex(t.bytes())).toBe(hex(bytesAt(24, [[0, [0x02, 0, 24, 0, 96, 0, 0, 0]], [8, [0x01, 0x00, 0x02, 0, 0, 0]]])));
    expect(checkPduHeader(new Uint8Array([...t.bytes(), ...new Uint8Array(72)]), 0, { hdgst: true, ddgst: true })).toMatchObject({ dataOffset: 24, dataLength: 72 });
  });
});

describe('checkPduHeader', () => {
  const opts = { hdgst: false, ddgst: false };
  it('accepts well-formed headers and reports layout', () => {
    const b = new Uint8Array(24);
    new R2TView(b).init(false);
    expect(checkPduHeader(b, 0, opts)).toMatchObject({ type: PduType.R2T, dataOffset: -1, dataLength: 0, plen: 24 });
  });

  it('reports the FES and field offset of bad headers', () => {
    const bad = (bytes: number[], o: typeof opts & { pda?: number; maxDataLength?: number } = opts) => {
      const r = checkPduHeader(bytesAt(24, [[0, bytes]]), 0, o);
      return isPduHeaderProblem(r) ? [r.fes, r.fei] : r;
    };
    expect(bad([0x08, 0, 24, 0, 24, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 0]); // unknown type
    expect(bad([0x05, 0, 28, 0, 28, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 2]); // HLEN
    expect(bad([0x05, 0x01, 24, 0, 28, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 1]); // HDGSTF not negotiated
    expect(bad([0x05, 0, 24, 0, 20, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 4]); // PLEN < HLEN
    expect(bad([0x05, 0, 24, 0, 30, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 4]); // CapsuleResp with data
    expect(bad([0x06, 0, 24, 20, 40, 0, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 3]); // PDO inside header
    expect(bad([0x06, 0, 24, 28, 40, 0, 0, 0], { ...opts, pda: 1 })).toEqual([TermReqFes.InvalidHeaderField, 3]); // PDO not 8-aligned
    expect(bad([0x06, 0, 24, 26, 40, 0, 0, 0])).toMatchObject({ dataOffset: 26, dataLength: 14 }); // PDA 0: any PDO past the header
    expect(bad([0x06, 0, 24, 24, 0x18, 0x10, 0, 0], { ...opts, maxDataLength: 2048 })).toEqual([TermReqFes.DataTransferLimitExceeded, 4]);
    expect(bad([0x06, 0x02, 24, 24, 0x18, 0x10, 0, 0])).toEqual([TermReqFes.InvalidHeaderField, 1]); // DDGSTF not negotiated
  });

  it('never throws on garbage (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(16), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 31 }), (b, off, hdgst, ddgst, pda) => {
        const r = checkPduHeader(b, off, { hdgst, ddgst, pda });
        if (!isPduHeaderProblem(r)) {
          expect(r.plen).toBeGreaterThanOrEqual(r.hlen);
          if (r.dataOffset >= 0) expect(r.dataOffset + r.dataLength).toBeLessThanOrEqual(r.plen);
        }
      }),
    );
  });

  it('accepts what setHeader produces (property)', () => {
    const types = [PduType.CapsuleCmd, PduType.H2CData, PduType.C2HData, PduType.CapsuleResp, PduType.R2T, PduType.ICReq, PduType.ICResp];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 31 }), (type, hdgst, ddgst, len, pda) => {
        const carries = type === PduType.CapsuleCmd || type === PduType.H2CData || type === PduType.C2HData;
        const dataLength = carries ? len : 0;
        const h = new PduHeaderView(new Uint8Array(8)).setHeader(type, hdgst, ddgst, dataLength, pda);
        const r = checkPduHeader(h.bytes(), 0, { hdgst, ddgst, pda });
        expect(isPduHeaderProblem(r)).toBe(false);
        if (!isPduHeaderProblem(r)) expect(r.dataLength).toBe(dataLength);
      }),
    );
  });

  it('header digest round-trips for random headers (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (tail) => {
        const b = new Uint8Array(28);
        b.set([PduType.R2T, PduFlags.HDGSTF, 24, 0, 28, 0, 0, 0]);
        b.set(tail.subarray(0, 16), 8);
        writeHeaderDigest(crc, b);
        expect(verifyHeaderDigest(crc, b)).toBe(true);
        expect(headerDigest(crc, b)).toBe(readDigest(b, 24));
      }),
    );
  });
});
