import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { C2HDataView, PduType, pduDataOffset, writeC2HDataHeader } from '../src/index.js';

describe('writeC2HDataHeader', () => {
  it('lays out a C2HData header at the offsets of NVMe/TCP 1.0 Figure 35', () => {
    const b = new Uint8Array(8 + 24).fill(0xee);
    // At offset 8 of a buffer: header digest on, data digest on, PDO 28, 4 KiB, last, SUCCESS.
    writeC2HDataHeader(new DataView(b.buffer), 8, true, true, 28, 0x1234, 0x200, 4096, true, true);
    expect([...b.subarray(0, 8)]).toEqual(new Array<number>(8).fill(0xee)); // nothing before
    expect(b[8]).toBe(PduType.C2HData); // type 7
    expect(b[9]).toBe(0x01 | 0x02 | 0x04 | 0x08); // HDGSTF, DDGSTF, LAST_PDU, SUCCESS
    expect(b[10]).toBe(24); // HLEN
    expect(b[11]).toBe(28); // PDO
    expect(Buffer.from(b).readUInt32LE(12)).toBe(28 + 4096 + 4); // PLEN: PDO + data + DDGST
    expect(Buffer.from(b).readUInt16LE(16)).toBe(0x1234); // CCCID
    expect(Buffer.from(b).readUInt16LE(18)).toBe(0); // TTAG (reserved in C2HData)
    expect(Buffer.from(b).readUInt32LE(20)).toBe(0x200); // DATAO
    expect(Buffer.from(b).readUInt32LE(24)).toBe(4096); // DATAL
    expect(Buffer.from(b).readUInt32LE(28)).toBe(0); // reserved
  });

  it('writes what C2HDataView.init and its fields write', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 0xffff }), fc.nat(), fc.integer({ min: 1, max: 1 << 20 }), fc.boolean(), fc.boolean(), (hdgst, ddgst, pda, cid, datao, datal, last, succ) => {
        const success = last && succ;
        const a = new Uint8Array(24);
        const v = new C2HDataView(a).init(hdgst, ddgst, datal, last, pda, success);
        v.cccid = cid;
        v.ttag = 0;
        v.datao = datao;
        v.datal = datal;
        const b = new Uint8Array(24).fill(0xff);
        writeC2HDataHeader(new DataView(b.buffer), 0, hdgst, ddgst, pduDataOffset(24, hdgst, pda), cid, datao, datal, last, success);
        expect([...b]).toEqual([...a]);
        const c = new Uint8Array(24).fill(0xff);
        new C2HDataView(c).setWhole(hdgst, ddgst, pda, cid, datao, datal, last, success);
        expect([...c]).toEqual([...a]);
      }),
    );
  });
});
