/**
 * Randomised data integrity: fast-check picks digests, PDU sizes (MAXH2CDATA, C2H split, R2T
 * size, R2Ts outstanding, HPDA) and a batch of concurrent reads and writes of random sizes and
 * buffer offsets; every read must return what the model (a shadow copy of the disk) says.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';

import { BLOCK } from '@nvmu/test-kit';
import { pattern, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget } from './helpers/setup.js';

const DISK_BLOCKS = 4096; // the first 2 MiB of the mini core's disk

describe('random I/O', () => {
  it('matches a shadow disk for random transfer sizes, offsets and PDU settings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          hdgst: fc.boolean(),
          ddgst: fc.boolean(),
          maxH2CData: fc.constantFrom(4096, 8192, 12288, 65536),
          c2hDataSize: fc.constantFrom(512, 4096, 10000, 131072),
          r2tSize: fc.constantFrom(4096, 16384, 131072),
          maxR2T: fc.integer({ min: 1, max: 4 }),
          hostMaxr2t: fc.integer({ min: 0, max: 3 }),
          hpda: fc.constantFrom(0, 1, 7),
          icd: fc.constantFrom(0, 4096, 8192),
        }),
        fc.array(
          fc.record({
            write: fc.boolean(),
            lba: fc.integer({ min: 0, max: DISK_BLOCKS - 256 }),
            nlb: fc.integer({ min: 1, max: 256 }),
            bufOff: fc.integer({ min: 0, max: 3 }).map((x) => x * 1000),
            seed: fc.integer(),
          }),
          { minLength: 1, maxLength: 24 },
        ),
        async (cfg, ops) => {
          const t = await startMiniTarget('127.0.0.1', {
            maxH2CData: cfg.maxH2CData,
            c2hDataSize: cfg.c2hDataSize,
            r2tSize: cfg.r2tSize,
            maxR2T: cfg.maxR2T,
            inCapsuleDataSize: cfg.icd,
          });
          try {
            const h = await hostConnect(t.port, '127.0.0.1', {
              qid: 1,
              queueSize: 32,
              icd: cfg.icd,
              host: { hdgst: cfg.hdgst, ddgst: cfg.ddgst, maxr2t: cfg.hostMaxr2t, hpda: cfg.hpda },
            });
            const shadow = Buffer.alloc(DISK_BLOCKS * BLOCK);
            // Writes go first and sequentially (their order defines the shadow), then all reads
            // run concurrently.
            let cid = 0;
            for (const op of ops.filter((o) => o.write)) {
              const data = pattern(op.nlb * BLOCK, op.seed);
              const buf = Buffer.alloc(op.bufOff + data.length + 7);
              data.copy(buf, op.bufOff);
              const cqe = await h.cmd(sqeRw(0x01, cid++ % 31, op.lba, op.nlb), buf, 'h2c', data.length, op.bufOff);
              expect(cqeStatus(cqe)).toBe(0);
              data.copy(shadow, op.lba * BLOCK);
            }
            const reads = ops.map(async (op, i) => {
              const len = op.nlb * BLOCK;
              const buf = Buffer.alloc(op.bufOff + len + 7, 0xee);
              const cqe = await h.cmd(sqeRw(0x02, i, op.lba, op.nlb), buf, 'c2h', len, op.bufOff);
              expect(cqeStatus(cqe)).toBe(0);
              expect(buf.subarray(op.bufOff, op.bufOff + len).equals(shadow.subarray(op.lba * BLOCK, op.lba * BLOCK + len))).toBe(true);
              // Nothing outside the described range was touched.
              expect(buf.subarray(0, op.bufOff).every((b) => b === 0xee)).toBe(true);
              expect(buf.subarray(op.bufOff + len).every((b) => b === 0xee)).toBe(true);
            });
            await Promise.all(reads);
            await h.transport.close();
          } finally {
            t.core.disk.fill(0, 0, DISK_BLOCKS * BLOCK);
            await t.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
