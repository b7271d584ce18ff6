/** nvmu-perf over vfio-user (target in this process, the host side through the socket), as shipped in main.ts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import '@nvmu/transport-vfio-user/host';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';
import { MallocBdev, Target, silentLogger } from '@nvmu/nvmf';
import { parseTransportId } from '@nvmu/client';
import { runPerf } from '../src/run.js';
import { RANDRW_VERIFY } from './target.js';

it("takes SPDK's vfio-user transport IDs and runs randrw with --verify over vfio-user", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nvmu-perf-vfu-'));
  const nqn = 'nqn.2026-12.io.nvmu:perf-vfu';
  const target = new Target({ logger: silentLogger });
  await target.addTransport(new VfioUserTargetTransport());
  const sub = target.createSubsystem({ nqn, allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize: 512, numBlocks: 4096 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  const ep = join(dir, 'vfu0');
  await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: ep, trsvcid: '' });
  sub.start();
  // Both of SPDK's spellings reach the same transport.
  expect(parseTransportId(`trtype:VFIOUSER traddr:${ep}`).trtype).toBe('vfio-user');
  expect(parseTransportId(`trtype:vfio-user traddr:${ep}`).trtype).toBe('vfio-user');
  try {
    for (const trid of [`trtype:vfiouser traddr:${ep}`, `trtype:vfio-user traddr:${ep} subnqn:${nqn} completions:interrupt`]) {
      const r = await runPerf({
        trids: [trid],
        ...RANDRW_VERIFY,
      });
      expect(r.firstErrors).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.total.ios).toBe(1000);
      expect(r.verify.blocksChecked).toBeGreaterThan(0);
      expect(r.namespaces[0]!.name).toMatch(new RegExp(`^VFIO-USER \\(addr:${ep} subnqn:.*\\) NSID 1$`));
    }
  } finally {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
