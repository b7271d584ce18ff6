/**
 * The client decodes Identify structures with its own offsets; here they are checked against
 * @nvmu/nvme-spec's views over the same random bytes, so a wrong offset on either side shows up.
 * (The end-to-end check on data from the nvmf core is in test/e2e/identify.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdentifyControllerView, IdentifyNamespaceView } from '@nvmu/nvme-spec';
import { parseIdentifyController, parseIdentifyNamespace, parseNsidList } from '../src/identify.js';

/** 4096 random bytes whose string fields (SN, MN, FR, SUBNQN) hold printable ASCII. */
const controllerBytes = fc.tuple(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 })).map(([raw, mn, nqn]) => {
  const b = Buffer.from(raw);
  const ascii = (s: string, off: number, len: number): void => {
    b.fill(0x20, off, off + len);
    b.write(s.replace(/[^\x21-\x7e]/g, 'x').slice(0, len), off, 'ascii');
  };
  ascii(`SN${mn}`, 4, 20);
  ascii(mn, 24, 40);
  ascii('1.0', 64, 8);
  b.fill(0, 768, 1024);
  b.write(nqn.replace(/[^\x21-\x7e]/g, 'x'), 768, 'ascii');
  return b;
});

describe('Identify decoding', () => {
  it('agrees with @nvmu/nvme-spec on Identify Controller (property over random bytes)', () => {
    fc.assert(
      fc.property(controllerBytes, (raw) => {
        const mine = parseIdentifyController(raw);
        const v = new IdentifyControllerView(raw);
        for (const k of ['vid', 'ssvid', 'sn', 'mn', 'fr', 'mdts', 'cntlid', 'ver', 'oaes', 'ctratt', 'cntrltype', 'oacs', 'aerl', 'lpa', 'kas', 'sqes', 'cqes', 'maxcmd', 'nn', 'oncs', 'vwc', 'sgls', 'subnqn', 'ioccsz', 'iorcsz', 'icdoff', 'fcatt', 'msdbd'] as const) {
          expect([k, mine[k]]).toEqual([k, v[k]]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with @nvmu/nvme-spec on Identify Namespace (property over random bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.nat({ max: 15 }), (raw, fmt) => {
        const b = Buffer.from(raw);
        b[25] = 15; // NLBAF: all 16 formats valid
        b[26] = fmt; // FLBAS
        b.writeBigUInt64LE(BigInt(b.readUInt32LE(0)), 0); // NSZE fits a safe integer
        b.writeBigUInt64LE(BigInt(b.readUInt32LE(8)), 8);
        b.writeBigUInt64LE(BigInt(b.readUInt32LE(16)), 16);
        for (let i = 0; i < 16; i++) b[128 + i * 4 + 2] = 9 + (b[128 + i * 4 + 2]! % 4); // LBADS 9..12
        const ns = parseIdentifyNamespace(b);
        const nv = new IdentifyNamespaceView(b);
        expect(ns.nsze).toBe(nv.nsze);
        expect(ns.ncap).toBe(nv.ncap);
        expect(ns.nuse).toBe(nv.nuse);
        expect(ns.nlbaf).toBe(nv.nlbaf);
        expect(ns.flbas).toBe(nv.flbas);
        expect(2 ** ns.lbaFormat.lbads).toBe(nv.blockSize);
        expect(ns.lbaf[fmt]).toEqual(nv.lbaf(fmt));
        expect(Buffer.from(ns.nguid).equals(b.subarray(104, 120))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('reads zero-terminated nsid lists', () => {
    const b = Buffer.alloc(4096);
    b.writeUInt32LE(1, 0);
    b.writeUInt32LE(7, 4);
    b.writeUInt32LE(0xfffffffe, 8);
    expect(parseNsidList(b)).toEqual([1, 7, 0xfffffffe]);
    expect(parseNsidList(Buffer.alloc(4096))).toEqual([]);
  });
});
