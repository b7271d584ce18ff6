/**
 * The vfio-user NVMe hot path allocates nothing per I/O (DESIGN.md): SQE fetch from shared
 * guest memory, PRP1 to a cached page view as the iov, the core and a malloc bdev (synchronous),
 * the CQE written into the guest's CQ, the interrupt. Measured as packages/nvmf/test/hotpath
 * does: growth of V8's young generation over a batch of I/O, smallest of several batches.
 * A control that allocates one small array per I/O shows the measure sees allocation at all.
 */
import { grewBy } from '../../../../scripts/allocation.js';
import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Setup } from './harness.js';

let env: Setup | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const QSIZE = 256;
const ROUNDS = 80; // 80 × 255 ≈ 20 000 I/O a batch: 16 bytes per I/O would be ≥ 320 KB

/** Where the data page is seen at a high IOVA: 4 GiB, where nvmu's host maps its memory (src/host/memory.ts). */
const HIGH_IOVA = 0x1_0000_0000;

describe('hot path', () => {
  it.each([
    ['below 2 GiB', false],
    // A PRP at or above 2^31 is a double in JS: passed between functions that V8 does not
    // inline, it is boxed (16 bytes a command, as collectPrps(mem, prp1, prp2, ...) did).
    ['at 4 GiB (nvmu host IOVAs)', true],
  ])('a 4 KiB read from SQE to CQE and interrupt allocates nothing per I/O, data page %s', async (_name, high) => {
    env = await setup();
    const { guest, dev, dma } = env;
    guest.enable();
    await guest.setNumQueues(1);
    expect(await guest.createIoQueue(1, QSIZE)).toEqual([0, 0]);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue');
    const buf = guest.alloc(4096);
    // The data page also mapped (shared) at HIGH_IOVA + buf: the PRPs use that address.
    if (high) dma.mappings.push({ iova: HIGH_IOVA + buf, length: 4096, shared: true, writable: true, ramOffset: buf });
    const prp1 = high ? HIGH_IOVA + buf : buf;
    const ram = dma.ram;
    const bar = env.ctx.bar0;
    // Pre-write every SQE once (a Read of 8 blocks into `buf`); rounds only move the doorbells.
    for (let i = 0; i < QSIZE; i++) {
      const off = q.sqAddr + i * 64;
      ram.writeUInt8(0x02, off);
      ram.writeUInt16LE(i, off + 2);
      ram.writeUInt32LE(1, off + 4);
      ram.writeUInt32LE(prp1 % 0x1_0000_0000, off + 24);
      ram.writeUInt32LE(Math.floor(prp1 / 0x1_0000_0000), off + 28);
      ram.writeUInt32LE(7, off + 48);
    }
    let tail = 0;
    let head = 0;
    let phase = 1;
    let completed = 0;
    let failed = 0;
    const round = (extra: (() => void) | undefined): void => {
      for (let n = 0; n < QSIZE - 1; n++) {
        tail = tail + 1 === QSIZE ? 0 : tail + 1;
        extra?.();
      }
      bar.writeUInt32LE(tail, 0x1000 + 8);
      // A pass takes at most 128 SQEs of a queue (bounded slices): pass until idle.
      while (dev.pollOnce());
      for (;;) {
        const off = q.cqAddr + head * 16;
        const dw3 = ram.readUInt32LE(off + 12);
        if (((dw3 >>> 16) & 1) !== phase) break;
        if ((dw3 >>> 17) !== 0) failed++;
        completed++;
        head = head + 1 === QSIZE ? 0 : head + 1;
        if (head === 0) phase ^= 1;
      }
      bar.writeUInt32LE(head, 0x1000 + 12);
    };
    const batch = (extra?: () => void) => () => {
      for (let r = 0; r < ROUNDS; r++) round(extra);
    };
    batch()(); // warm up (page cache, LBA size cache, JIT)
    const before = completed;
    const overhead = grewBy(() => undefined, 7);
    const perBatch = grewBy(batch(), 7) - overhead;
    expect(failed).toBe(0);
    expect(completed - before).toBe(7 * ROUNDS * (QSIZE - 1));
    let sink: number[] = [];
    const control = grewBy(
      batch(() => {
        sink = [tail];
      }),
      3,
    ) - overhead;
    expect(sink.length).toBe(1);
    expect(control).toBeGreaterThan(ROUNDS * (QSIZE - 1) * 16);
    // Per-round costs (a setImmediate for the poller's next pass) are allowed; per-I/O ones are not.
    expect(perBatch).toBeLessThan(ROUNDS * (QSIZE - 1) * 2);
  });
});
