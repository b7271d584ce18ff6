import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorBdev, FileBdev, MallocBdev, NullBdev, Target, type Bdev } from '../src/index.js';
import { LOOP_ADDR, TestHost, TestTransport } from './harness.js';

const NQN = 'nqn.2026-11.io.nvmu:integrity';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(bdev: Bdev): Promise<{ t: Target; h: TestHost }> {
  const t = new Target();
  const tr = new TestTransport();
  await t.addTransport(tr);
  t.addBdev(bdev);
  const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
  s.addNamespace({ bdev, nsid: 1 });
  await s.addListener(LOOP_ADDR);
  s.start();
  const h = new TestHost(tr, NQN);
  await h.bringUp(2);
  return { t, h };
}

/**
 * Random writes, reads, write-zeroes and deallocates through the whole stack (Connect, queues,
 * commands, bdev), several in flight at once on two queues, checked against a model.
 */
async function run(make: () => Promise<Bdev>, blocks: number, nullDevice = false): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          kind: fc.constantFrom('write', 'write', 'read', 'read', 'zero', 'dsm'),
          lba: fc.nat({ max: blocks - 1 }),
          nlb: fc.integer({ min: 1, max: 16 }),
          seed: fc.nat({ max: 255 }),
          qid: fc.constantFrom(1, 2),
          split: fc.constantFrom(undefined, 300, 4096),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      async (ops) => {
        const bdev = await make();
        const bs = bdev.blockSize;
        const { t, h } = await serve(bdev);
        const model = new Uint8Array(blocks * bs);
        try {
          // Batches of non-overlapping commands in flight together; order within a batch is free.
          let batch: Promise<void>[] = [];
          const busy = new Set<number>();
          const flushBatch = async (): Promise<void> => {
            await Promise.all(batch);
            batch = [];
            busy.clear();
          };
          for (const op of ops) {
            const nlb = Math.min(op.nlb, blocks - op.lba);
            const lbas = Array.from({ length: nlb }, (_, i) => op.lba + i);
            if (lbas.some((l) => busy.has(l))) await flushBatch();
            for (const l of lbas) busy.add(l);
            const off = op.lba * bs;
            const len = nlb * bs;
            switch (op.kind) {
              case 'write': {
                const data = Buffer.alloc(len);
                for (let i = 0; i < len; i++) data[i] = (op.seed + i * 7 + (i >> 8)) & 0xff;
                if (!nullDevice) model.set(data, off);
                batch.push(
                  h.write(op.qid, 1, op.lba, data, bs, false, op.split).then((c) => {
                    expect(c.status).toBe(0);
                  }),
                );
                break;
              }
              case 'read': {
                const expected = Buffer.from(model.subarray(off, off + len));
                batch.push(
                  h.read(op.qid, 1, op.lba, nlb, bs, op.split).then((c) => {
                    expect(c.status).toBe(0);
                    expect(c.data.equals(expected)).toBe(true);
                  }),
                );
                break;
              }
              case 'zero':
              case 'dsm': {
                model.fill(0, off, off + len);
                const cmd = Buffer.alloc(64);
                cmd[0] = 0x08;
                cmd.writeUInt32LE(1, 4);
                cmd.writeUInt32LE(op.lba, 40);
                cmd.writeUInt32LE((nlb - 1) | (op.kind === 'dsm' ? 1 << 25 : 0), 48);
                batch.push(
                  h.io[op.qid]!.submit(cmd).then((c) => {
                    expect(c.status).toBe(0);
                  }),
                );
                break;
              }
            }
          }
          await flushBatch();
          const all = await h.read(1, 1, 0, Math.min(blocks, (128 * 1024) / bs), bs);
          expect(all.data.equals(Buffer.from(model.subarray(0, all.data.byteLength)))).toBe(true);
        } finally {
          await t.close();
        }
      },
    ),
    { numRuns: 8 },
  );
}

describe('data integrity through the target, per bdev type', () => {
  it('malloc (512)', async () => {
    await run(() => Promise.resolve(new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 256 })), 256);
  });
  it('malloc (4096)', async () => {
    await run(() => Promise.resolve(new MallocBdev({ name: 'm', blockSize: 4096, numBlocks: 64 })), 64);
  });
  it('file (512 and 4096)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nvmf-int-'));
    dirs.push(d);
    let n = 0;
    await run(() => FileBdev.open({ name: 'f', path: join(d, `${n++}.img`), size: 256 * 512 }), 256);
    await run(() => FileBdev.open({ name: 'f', path: join(d, `${n++}.img`), size: 64 * 4096, blockSize: 4096 }), 64);
  });
  it('error wrapper with delays', async () => {
    await run(() => {
      const e = new ErrorBdev(new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 128 }));
      e.inject({ op: 'any', action: 'delay', delayMs: 1, count: 10 });
      return Promise.resolve(e);
    }, 128);
  });
  it('null: reads return zeros', async () => {
    await run(() => Promise.resolve(new NullBdev({ name: 'n', blockSize: 512, numBlocks: 128, zeroReads: true })), 128, true);
  });
});
