/** PRP walking (NVMe Base 2.0 §4.3.1) against guest memory, without the controller. */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/nvme/guest-memory.js';
import { PrpSegments, collectPrps, collectPrpsSlow, segmentsToIov } from '../../src/nvme/prp.js';
import { FakeDma } from './harness.js';

/** An SQE with PRP1 at bytes 24-31 and PRP2 at 32-39 (NVMe Base 2.0 Figure 87), the rest 0. */
const sqe = (prp1: number, prp2: number): DataView => {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(BigInt(prp1), 24);
  b.writeBigUInt64LE(BigInt(prp2), 32);
  return new DataView(b.buffer, b.byteOffset, 64);
};

const mem = (shared = true): { dma: FakeDma; m: GuestMemory } => {
  const dma = new FakeDma(1 << 20, shared);
  return { dma, m: new GuestMemory(dma) };
};

describe('PRP walk', () => {
  it('splits PRP1 at its page end and takes PRP2 as the second page', () => {
    const { m } = mem();
    const s = new PrpSegments(1 << 17);
    expect(collectPrps(m, sqe(0x1200, 0x5000), 4096, s)).toBe(2);
    expect([s.addr(0), s.len(0), s.addr(1), s.len(1)]).toEqual([0x1200, 0xe00, 0x5000, 0x200]);
  });

  it('refuses a list that only chains to itself (no endless loop), fast and slow', async () => {
    const fast = mem();
    fast.dma.ram.writeBigUInt64LE(0x3ff8n, 0x3ff8); // the last slot of a page points at itself
    expect(collectPrps(fast.m, sqe(0x1000, 0x3ff8), 5 * 4096, new PrpSegments(1 << 17))).toBe(-0x13);
    const slow = mem(false);
    slow.dma.ram.writeBigUInt64LE(0x3ff8n, 0x3ff8);
    expect(await collectPrpsSlow(slow.m, 0x1000, 0x3ff8, 5 * 4096, new PrpSegments(1 << 17))).toBe(-0x13);
  });

  it('reports list pages in unshared RAM as the slow path, and unmapped ones as Data Transfer Error', () => {
    const { m } = mem(false);
    expect(collectPrps(m, sqe(0x1000, 0x2000), 3 * 4096, new PrpSegments(1 << 17))).toBe(-1);
    const shared = mem();
    expect(collectPrps(shared.m, sqe(0x1000, 0x20_0000), 3 * 4096, new PrpSegments(1 << 17))).toBe(-0x04);
  });

  it('gives page-aligned pages as cached views (the same object each time)', () => {
    const { m } = mem();
    const s = new PrpSegments(8192);
    const iov: Uint8Array[] = new Array<Uint8Array>(4);
    collectPrps(m, sqe(0x4000, 0), 4096, s);
    expect(segmentsToIov(m, s, iov, 4, false)).toBe(1);
    const first = iov[0];
    collectPrps(m, sqe(0x4000, 0), 4096, s);
    segmentsToIov(m, s, iov, 4, false);
    expect(iov[0]).toBe(first);
  });
});
