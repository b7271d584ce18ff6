/**
 * PduReceiver alone: PDUs built with @nvmu/nvme-spec come out whole whatever the chunking;
 * arbitrary bytes never throw, and end in exactly one fatal error or in consumed PDUs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';

import { crc32c } from '@node-rs/crc32';
import { CapsuleCmdView, H2CDataView, TermReqFes, dataDigest, pduDataOffset, writeHeaderDigest } from '@nvmu/nvme-spec';

import { PduReceiver, RX_OK, RX_STALL, type PduHandler, type RxVerdict } from '../src/receiver.js';

interface Got {
  type: number;
  header: Buffer;
  data: Buffer;
}

class Sink implements PduHandler {
  readonly got: Got[] = [];
  fatal: { fes: number; fei: number } | undefined;
  fatalCount = 0;
  private buf = Buffer.alloc(65536);
  stallNext = 0;
  onHeader(rx: PduReceiver): RxVerdict {
    if (this.stallNext > 0) {
      this.stallNext--;
      return RX_STALL;
    }
    rx.dst = this.buf;
    rx.dstOff = 0;
    return RX_OK;
  }
  onPdu(rx: PduReceiver): void {
    const header = Buffer.from(rx.hdrBuf.subarray(rx.hdrOff, rx.hdrOff + rx.hlen));
    this.got.push({ type: rx.type, header, data: Buffer.from(this.buf.subarray(0, rx.dataLen)) });
  }
  onFatal(fes: TermReqFes, fei: number): void {
    this.fatal = { fes, fei };
    this.fatalCount++;
  }
}

function capsule(cid: number, data: Buffer, hd: boolean, dd: boolean): Buffer {
  const n = data.length;
  const pdo = n > 0 ? pduDataOffset(72, hd) : 0;
  const plen = n > 0 ? pdo + n + (dd ? 4 : 0) : 72 + (hd ? 4 : 0);
  const b = Buffer.alloc(plen);
  const v = new CapsuleCmdView(b).init(hd, dd, n);
  v.sqe.cid = cid;
  if (hd) writeHeaderDigest(crc32c, b);
  if (n > 0) {
    data.copy(b, pdo);
    if (dd) b.writeUInt32LE(dataDigest(crc32c, data), plen - 4);
  }
  return b;
}

function h2c(cid: number, data: Buffer, hd: boolean, dd: boolean): Buffer {
  const pdo = pduDataOffset(24, hd);
  const plen = pdo + data.length + (dd ? 4 : 0);
  const b = Buffer.alloc(plen);
  const v = new H2CDataView(b).init(hd, dd, data.length, true);
  v.cccid = cid;
  v.datal = data.length;
  if (hd) writeHeaderDigest(crc32c, b);
  data.copy(b, pdo);
  if (dd) b.writeUInt32LE(dataDigest(crc32c, data), plen - 4);
  return b;
}

function receiver(sink: Sink, hd: boolean, dd: boolean, inPlace = false): PduReceiver {
  const rx = new PduReceiver('controller', sink, crc32c);
  rx.inPlaceHeaders = inPlace;
  rx.connected = true;
  rx.hdgst = hd;
  rx.ddgst = dd;
  rx.maxCapsuleData = 8192;
  rx.maxDataPdu = 16384;
  return rx;
}

/** Split `b` at the given cut points (fractions). */
function chunks(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * b.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(b.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  out.push(b.subarray(prev));
  return out;
}

describe('PduReceiver', () => {
  it('reassembles any sequence of PDUs however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.record({ kind: fc.constantFrom('capsule', 'h2c'), len: fc.integer({ min: 0, max: 6000 }), seed: fc.integer() }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        (hd, dd, pdus, cuts, stalls, inPlace, reuse) => {
          const sink = new Sink();
          sink.stallNext = stalls;
          const rx = receiver(sink, hd, dd, inPlace);
          const datas = pdus.map((p, i) => {
            const len = p.kind === 'h2c' ? Math.max(1, p.len) : p.len;
            return Buffer.from(Array.from({ length: len }, (_, j) => (j * 31 + p.seed + i) & 0xff));
          });
          const wire = Buffer.concat(pdus.map((p, i) => (p.kind === 'capsule' ? capsule(i, datas[i]!, hd, dd) : h2c(i, datas[i]!, hd, dd))));
          if (reuse) {
            // Like a socket's onread: one read buffer, overwritten after every call.
            const readBuf = Buffer.alloc(wire.length);
            for (const c of chunks(wire, cuts)) {
              c.copy(readBuf);
              rx.pushFrom(readBuf, c.length);
              readBuf.fill(0xa5);
            }
          } else {
            for (const c of chunks(wire, cuts)) rx.push(c);
          }
          // The owner resumes after each stall (each resume re-asks onHeader once).
          for (let k = 0; k <= stalls; k++) rx.resume();
          expect(sink.fatal).toBeUndefined();
          expect(sink.got.length).toBe(pdus.length);
          for (const [i, g] of sink.got.entries()) {
            expect(g.type).toBe(pdus[i]!.kind === 'capsule' ? 4 : 6);
            expect(g.data.equals(datas[i]!)).toBe(true);
            // The header as sent (CapsuleCmd: the SQE's CID at byte 10; H2CData: CCCID at 8).
            expect(g.header.readUInt16LE(pdus[i]!.kind === 'capsule' ? 10 : 8)).toBe(i);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, and reports at most one fatal error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.boolean(), fc.boolean(), fc.boolean(), (bytes, hd, dd, inPlace) => {
        const sink = new Sink();
        const rx = receiver(sink, hd, dd, inPlace);
        expect(() => {
          rx.push(Buffer.from(bytes));
        }).not.toThrow();
        expect(sink.fatalCount).toBeLessThanOrEqual(1);
        if (sink.fatal) expect([1, 2, 3, 4, 5, 6]).toContain(sink.fatal.fes);
      }),
      { numRuns: 500 },
    );
  });

  it('checks header digests and data digests', () => {
    const sink = new Sink();
    const rx = receiver(sink, true, true);
    const c = capsule(1, Buffer.alloc(100, 7), true, true);
    c[c.length - 1]! ^= 1;
    rx.push(c);
    expect(sink.fatal?.fes).toBe(TermReqFes.HeaderDigestError);
    const sink2 = new Sink();
    const rx2 = receiver(sink2, true, false);
    const c2 = capsule(1, Buffer.alloc(0), true, false);
    c2[10]! ^= 1;
    rx2.push(c2);
    expect(sink2.fatal?.fes).toBe(TermReqFes.HeaderDigestError);
    expect(sink2.got.length).toBe(0);
  });

  it('with ddgstErrorsFatal off, delivers a PDU with a wrong data digest flagged, and the next one clean', () => {
    const flags: boolean[] = [];
    const sink = new Sink();
    const onPdu = sink.onPdu.bind(sink);
    sink.onPdu = (rx: PduReceiver): void => {
      flags.push(rx.ddgstError);
      onPdu(rx);
    };
    const rx = receiver(sink, false, true);
    rx.ddgstErrorsFatal = false;
    const bad = capsule(1, Buffer.alloc(100, 7), false, true);
    bad[bad.length - 1]! ^= 1;
    rx.push(Buffer.concat([bad, capsule(2, Buffer.alloc(100, 8), false, true)]));
    expect(sink.fatal).toBeUndefined();
    expect(flags).toEqual([true, false]);
    expect(sink.got.map((g) => g.data[0])).toEqual([7, 8]);
    expect(rx.ddgstError).toBe(false);
  });

  it('refuses data above the limits from the common header alone', () => {
    const sink = new Sink();
    const rx = receiver(sink, false, false);
    const c = capsule(1, Buffer.alloc(8193), false, false);
    rx.push(c.subarray(0, 8));
    expect(sink.fatal?.fes).toBe(TermReqFes.DataTransferLimitExceeded);
  });

  it('parses a header in place, and keeps a header the chunk cannot hold past the call', () => {
    const sink = new Sink();
    let seen: Buffer | undefined;
    const onHeader = sink.onHeader.bind(sink);
    sink.onHeader = (rx: PduReceiver): RxVerdict => {
      seen = rx.hdrBuf;
      return onHeader(rx);
    };
    const rx = receiver(sink, false, false, true);
    const whole = capsule(5, Buffer.alloc(0), false, false);
    rx.push(whole);
    expect(seen).toBe(whole); // read where it arrived, no staging copy
    expect(rx.hdrBuf).toBe(rx.hdr);
    // Data in a later chunk: onPdu finds the header in `hdr`, though the first chunk is gone.
    const withData = capsule(6, Buffer.alloc(64, 3), false, false);
    const first = Buffer.from(withData.subarray(0, 80));
    rx.push(first);
    first.fill(0xee);
    rx.push(withData.subarray(80));
    expect(sink.got.map((g) => g.header.readUInt16LE(10))).toEqual([5, 6]);
    // A header cut in two goes through the staging buffer.
    const cut = capsule(7, Buffer.alloc(0), false, false);
    rx.push(cut.subarray(0, 30));
    rx.push(cut.subarray(30));
    expect(seen).toBe(rx.hdr);
    expect(sink.got.at(-1)?.header.readUInt16LE(10)).toBe(7);
  });

  it('header() stages an in-place header into hdr on demand', () => {
    const sink = new Sink();
    const staged: Buffer[] = [];
    const onPdu = sink.onPdu.bind(sink);
    sink.onPdu = (rx: PduReceiver): void => {
      const inPlace = rx.hdrBuf !== rx.hdr;
      const h = rx.header();
      expect(h).toBe(rx.hdr);
      if (inPlace) staged.push(Buffer.from(h.subarray(0, rx.hlen)));
      onPdu(rx);
    };
    const rx = receiver(sink, false, false, true);
    const wire = Buffer.concat([capsule(8, Buffer.alloc(0), false, false), capsule(9, Buffer.alloc(0), false, false)]);
    rx.push(wire);
    expect(staged.map((h) => h.readUInt16LE(10))).toEqual([8, 9]);
    expect(staged[1]?.equals(wire.subarray(72, 144))).toBe(true);
  });

  it('echoes an in-place header that fails its checks in the TermReq data', () => {
    const sink = new Sink();
    let echoed: Buffer | undefined;
    sink.onFatal = (fes: TermReqFes, fei: number, rx?: PduReceiver): void => {
      sink.fatal = { fes, fei };
      sink.fatalCount++;
      if (rx) echoed = Buffer.from(rx.hdr.subarray(0, rx.headerBytes));
    };
    const rx = receiver(sink, false, false, true);
    const c = capsule(1, Buffer.alloc(0), false, false);
    c[0] = 0x0f; // no such PDU type
    rx.push(c);
    expect(sink.fatal?.fes).toBe(TermReqFes.InvalidHeaderField);
    expect(echoed?.equals(c.subarray(0, 8))).toBe(true);
  });
});
