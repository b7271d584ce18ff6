/**
 * Property test of data integrity through client, loopback transport and core: random batches of
 * writes (non-overlapping within a batch, so the outcome does not depend on ordering) and reads,
 * sent concurrently on two qpairs, checked against an in-memory model of the namespace.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller, QPair } from '@nvmu/client';
import { pattern } from '@nvmu/test-kit';
import { loopbackClientFixture } from '@nvmu/test-kit/loopback';

const BLOCKS = 256;
const f = loopbackClientFixture();
let c: Controller;
let qps: QPair[];
beforeAll(async () => {
  c = await f.open({}, { blocks: BLOCKS });
  qps = [await c.allocIoQPair({ queueSize: 8 }), await c.allocIoQPair({ queueSize: 32 })];
});
afterAll(f.cleanup);

describe('data integrity (property)', () => {
  it('reads always return what the model says', async () => {
    const model = Buffer.alloc(BLOCKS * 512);
    const ns = (): NonNullable<ReturnType<Controller['namespace']>> => c.namespace(1)!;
    const extent = fc.record({ lba: fc.integer({ min: 0, max: BLOCKS - 1 }), nlb: fc.integer({ min: 1, max: 64 }), seed: fc.nat(), q: fc.integer({ min: 0, max: 1 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(extent, { minLength: 1, maxLength: 24 }), fc.array(extent, { minLength: 1, maxLength: 24 }), async (writes, reads) => {
        // Keep only writes that fit and do not overlap an earlier one of the batch.
        const taken = new Uint8Array(BLOCKS);
        const batch = writes.filter((w) => {
          if (w.lba + w.nlb > BLOCKS) return false;
          for (let i = w.lba; i < w.lba + w.nlb; i++) if (taken[i] === 1) return false;
          taken.fill(1, w.lba, w.lba + w.nlb);
          return true;
        });
        await Promise.all(
          batch.map(async (w) => {
            const data = pattern(w.nlb * 512, w.seed);
            await ns().write(w.lba, data, { qpair: qps[w.q] });
            data.copy(model, w.lba * 512);
          }),
        );
        const results = await Promise.all(
          reads
            .filter((r) => r.lba + r.nlb <= BLOCKS)
            .map(async (r) => ({ r, data: Buffer.from(await ns().read(r.lba, r.nlb, undefined, { qpair: qps[r.q] })) })),
        );
        for (const { r, data } of results) expect(data.equals(model.subarray(r.lba * 512, (r.lba + r.nlb) * 512))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
