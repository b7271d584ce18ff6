/**
 * The write path allocates no memory per read: the target's sockets read into the transport's
 * one read buffer (socket-read.ts), so 2 MiB of 4 KiB in-capsule writes leave the process's
 * ArrayBuffer memory (`process.memoryUsage().arrayBuffers`: every backing store alive, which a
 * Buffer per socket read adds to until the next collection) where it was. The control is the
 * same run with `readBufferSize: 0` (Node's own Buffer per read): its growth shows the measure
 * sees per-read allocation at all. Each batch starts right after a full collection; the worst of
 * three batches counts (a collection inside a batch can only lower a batch's growth).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterEach, describe, expect, it } from 'vitest';

import { pattern, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget, type HostConn, type MiniTarget } from './helpers/setup.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let target: MiniTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

const QD = 32;
const ROUNDS = 16; // 16 × 32 × 4 KiB = 2 MiB written per batch

/** ArrayBuffer bytes grown over one batch of writes, started right after a full collection. */
async function batchGrowth(h: HostConn, datas: Buffer[], sqes: Buffer[]): Promise<number> {
  gc();
  const before = process.memoryUsage().arrayBuffers;
  for (let r = 0; r < ROUNDS; r++) {
    const cqes = await Promise.all(datas.map((d, i) => h.cmd(sqes[i] ?? Buffer.alloc(64), d, 'h2c')));
    for (const c of cqes) if (cqeStatus(c) !== 0) throw new Error('write failed');
  }
  return process.memoryUsage().arrayBuffers - before;
}

async function worstGrowth(readBufferSize: number | undefined): Promise<number> {
  target = await startMiniTarget('127.0.0.1', readBufferSize === undefined ? {} : { readBufferSize });
  const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, queueSize: QD + 1 });
  const datas = Array.from({ length: QD }, (_v, i) => pattern(4096, i));
  const sqes = datas.map((_d, i) => sqeRw(0x01, i, i * 8, 8));
  await batchGrowth(h, datas, sqes); // warm: every pooled object at its size
  let worst = 0;
  for (let b = 0; b < 3; b++) worst = Math.max(worst, await batchGrowth(h, datas, sqes));
  await h.transport.close();
  await target.close();
  target = undefined;
  return worst;
}

describe('write path allocation', () => {
  it('2 MiB of 4 KiB writes grow ArrayBuffer memory by less than 256 KiB; Node\'s Buffer per read (the control) by more than 1 MiB', async () => {
    const control = await worstGrowth(0);
    const userBuffer = await worstGrowth(undefined);
    expect(control).toBeGreaterThan(1024 * 1024);
    expect(userBuffer).toBeLessThan(256 * 1024);
  });
});
