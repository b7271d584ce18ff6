import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  SglDescriptorView,
  SglDescriptorType,
  SglSubtype,
  sglIdentifier,
  prpPageCount,
  prp2Use,
  prpListEntryCount,
  walkPrps,
  PrpListView,
  PrpError,
} from '../src/index.js';
import { bytesAt, hex } from './helpers.js';

describe('SGL descriptors (NVMe Base 2.0 Figs. 112-119)', () => {
  it('encodes a Data Block with the Offset subtype (in-capsule data)', () => {
    const d = new SglDescriptorView(new Uint8Array(16)).set(SglDescriptorType.DataBlock, SglSubtype.Offset, 0, 1024);
    expect(hex(d.bytes())).toBe(hex(bytesAt(16, [[8, [0x00, 0x04, 0, 0]], [15, [0x01]]])));
  });

  it('encodes a Transport Data Block (NVMe/TCP, address 0)', () => {
    const d = new SglDescriptorView(new Uint8Array(16)).set(SglDescriptorType.TransportDataBlock, SglSubtype.TransportSpecific, 0, 0x20000);
    expect(hex(d.bytes())).toBe(hex(bytesAt(16, [[8, [0x00, 0x00, 0x02, 0x00]], [15, [0x5a]]])));
    expect(d.type).toBe(5);
    expect(d.subtype).toBe(0xa);
  });

  it('encodes a Keyed Data Block with 24-bit length and key at byte 11', () => {
    const d = new SglDescriptorView(new Uint8Array(16)).setKeyed(SglSubtype.Address, 0x0011_2233_4455_6677, 0x123456, 0xaabbccdd);
    expect(hex(d.bytes())).toBe(
      hex(
        bytesAt(16, [
          [0, [0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00]], // address
          [8, [0x56, 0x34, 0x12]], // length, 24 bits
          [11, [0xdd, 0xcc, 0xbb, 0xaa]], // key
          [15, [0x40]], // type 4, subtype 0
        ]),
      ),
    );
    expect(d.keyedLength).toBe(0x123456);
    expect(d.key).toBe(0xaabbccdd);
    expect(d.type).toBe(SglDescriptorType.KeyedDataBlock);
  });

  it('encodes Segment, Last Segment and Bit Bucket identifiers', () => {
    expect(sglIdentifier(SglDescriptorType.Segment, SglSubtype.Address)).toBe(0x20);
    expect(sglIdentifier(SglDescriptorType.LastSegment, SglSubtype.Address)).toBe(0x30);
    expect(sglIdentifier(SglDescriptorType.BitBucket, 0)).toBe(0x10);
    const d = new SglDescriptorView(new Uint8Array(16)).set(SglDescriptorType.LastSegment, SglSubtype.Address, 0x10000, 48);
    expect(d.identifier).toBe(0x30);
    expect(d.address).toBe(0x10000);
    expect(d.length).toBe(48);
  });

  it('round-trips fields (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), (a, len, key, t, st) => {
        const d = new SglDescriptorView(new Uint8Array(16));
        d.addressBig = a;
        d.keyedLength = len;
        d.key = key;
        d.type = t;
        d.subtype = st;
        expect([d.addressBig, d.keyedLength, d.key, d.type, d.subtype]).toEqual([a, len, key, t, st]);
      }),
    );
  });
});

describe('PRPs (NVMe Base 2.0 §4.3.1)', () => {
  const PAGE = 4096;

  it('counts pages and PRP2 use', () => {
    expect(prpPageCount(0x1000, 4096, PAGE)).toBe(1);
    expect(prpPageCount(0x1800, 4096, PAGE)).toBe(2);
    expect(prp2Use(0x1000, 4096, PAGE)).toBe('none');
    expect(prp2Use(0x1000, 8192, PAGE)).toBe('page');
    expect(prp2Use(0x1000, 12288, PAGE)).toBe('list');
    expect(prpListEntryCount(0x1000, 12288, PAGE)).toBe(2);
    // 513 pages after the first: one full list of 511 entries + chain pointer, then 2.
    expect(prpListEntryCount(0, 514 * PAGE, PAGE)).toBe(514);
  });

  it('walks PRP1 + PRP2 as a second page', () => {
    const segs: [number, number][] = [];
    const n = walkPrps(0x10800, 0x20000, 4096, PAGE, () => new Uint8Array(0), (a, l) => segs.push([a, l]));
    expect(n).toBe(2);
    expect(segs).toEqual([
      [0x10800, 2048],
      [0x20000, 2048],
    ]);
  });

  it('walks a chained PRP list', () => {
    // 32-byte "pages" hold 4 entries: list A at 0x100 (a full page) chains to list B at 0x200.
    const P = 32;
    const bufA = new Uint8Array(32);
    const listA = new PrpListView(bufA);
    listA.setEntry(0, 0x1000);
    listA.setEntry(1, 0x1020);
    listA.setEntry(2, 0x1040);
    listA.setEntry(3, 0x200); // last slot of a full list: chain pointer
    const bufB = new Uint8Array(16);
    const listB = new PrpListView(bufB);
    listB.setEntry(0, 0x1060);
    listB.setEntry(1, 0x1080);
    const mem = new Map([
      [0x100, bufA],
      [0x200, bufB],
    ]);
    const segs: [number, number][] = [];
    const read = (addr: number, bytes: number): Uint8Array => mem.get(addr)!.subarray(0, bytes);
    // 16 bytes to the end of PRP1's page, 4 full pages, then 8 bytes.
    const n = walkPrps(0xf10, 0x100, 16 + 4 * 32 + 8, P, read, (a, l) => segs.push([a, l]));
    expect(segs).toEqual([
      [0xf10, 16],
      [0x1000, 32],
      [0x1020, 32],
      [0x1040, 32],
      [0x1060, 32],
      [0x1080, 8],
    ]);
    expect(n).toBe(6);
    expect(listB.entryBig(1)).toBe(0x1080n);
    expect(() => listB.entry(2)).toThrow(RangeError);
  });

  it('rejects misaligned entries with Invalid PRP Offset', () => {
    expect(() => walkPrps(0x1002, 0, 16, PAGE, () => new Uint8Array(0), () => undefined)).toThrow(PrpError);
    try {
      walkPrps(0x1000, 0x2004, 8192, PAGE, () => new Uint8Array(0), () => undefined);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PrpError);
      expect((e as PrpError).sc).toBe(0x13);
    }
  });

  it('covers exactly the transfer length (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 1, max: 64 * PAGE }), (off4, length) => {
        const prp1 = 0x100000 + off4 * 4;
        const pages = prpPageCount(prp1, length, PAGE);
        // Build the list(s) on demand: entry i of the flat list is page 0x200000 + i * PAGE.
        let total = 0;
        let count = 0;
        walkPrps(
          prp1,
          0x9000000,
          length,
          PAGE,
          (addr, bytes) => {
            const buf = new Uint8Array(bytes);
            const v = new PrpListView(buf);
            const listIndex = (addr - 0x9000000) / PAGE;
            for (let i = 0; i < bytes / 8; i++) v.setEntry(i, i === 511 ? 0x9000000 + (listIndex + 1) * PAGE : 0x200000 + (listIndex * 511 + i) * PAGE);
            return buf;
          },
          (_a, l) => {
            total += l;
            count++;
          },
        );
        expect(total).toBe(length);
        expect(count).toBe(pages);
      }),
    );
  });

  it('terminates on a self-chaining list (last qword of a page pointing at itself)', () => {
    const self = 0x2000 - 8;
    const mem = new Uint8Array(8);
    new PrpListView(mem).setEntry(0, self);
    expect(() => walkPrps(0x1000, self, 4 * PAGE, PAGE, () => mem, () => undefined)).toThrow(PrpError);
  });

  it('either covers the length or throws PrpError for garbage lists (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.integer({ min: 1, max: 40 * 512 }), fc.nat(511), (garbage, length, prp2Slot) => {
        let total = 0;
        try {
          walkPrps(0x1000, 0x100000 + prp2Slot * 8, length, 512, (addr, bytes) => garbage.subarray(addr % 4096 & ~7, (addr % 4096 & ~7) + bytes), (_a, l) => (total += l));
          expect(total).toBe(length);
        } catch (e) {
          expect(e).toBeInstanceOf(PrpError);
        }
      }),
    );
  });
});
