/** The README's in-process example, as written there (with a unique listener name). */
import { expect, it } from 'vitest';
import '@nvmu/transport-loopback/host';
import { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { MallocBdev, Target } from '@nvmu/nvmf';
import { runPerf } from '../src/index.js';

it('runs the README example', async () => {
  const target = new Target();
  await target.addTransport(new LoopbackTargetTransport());
  const sub = target.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:readme', allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize: 512, numBlocks: 8192 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  await sub.addListener({ trtype: 'loopback', adrfam: 'intra-host', traddr: 'readme', trsvcid: '' });
  sub.start();
  try {
    const res = await runPerf({
      trids: ['trtype:loopback traddr:readme subnqn:nqn.2026-11.io.nvmu:readme'],
      workload: 'randrw',
      readPercent: 70,
      queueDepth: 16,
      timeSeconds: 1,
      verify: true,
      ioCount: 500,
    });
    expect(res.ok).toBe(true);
    expect(res.total.iops).toBeGreaterThan(0);
  } finally {
    await target.close();
  }
});
