/** nvmu-perf over NVMe/TCP on 127.0.0.1 (target and host in this process), as shipped in main.ts. */
import { expect, it } from 'vitest';
import '@nvmu/transport-tcp/host';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';
import { startTarget } from '@nvmu/test-kit';
import { runPerf } from '../src/run.js';
import { RANDRW_VERIFY } from './target.js';

it('runs randrw with --verify over TCP and closes cleanly', async () => {
  const nqn = 'nqn.2026-11.io.nvmu:perf-tcp';
  const { target, port } = await startTarget(new TcpTargetTransport(), '127.0.0.1', { nqn, blocks: 1024 });
  try {
    const r = await runPerf({
      trids: [`trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`],
      ...RANDRW_VERIFY,
    });
    expect(r.firstErrors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.total.ios).toBe(1000);
    expect(r.verify.blocksChecked).toBeGreaterThan(0);
    expect(r.namespaces[0]!.name).toBe(`TCP (addr:127.0.0.1:${port} subnqn:${nqn}) NSID 1`);
    // runPerf shut the controller down: the subsystem has no controllers left.
    expect(target.getStats().subsystems.find((s) => s.nqn === nqn)?.controllers).toBe(0);
  } finally {
    await target.close();
  }
});

it('stops early when aborted and still reports what ran', async () => {
  const nqn = 'nqn.2026-11.io.nvmu:perf-abort';
  const { target, port } = await startTarget(new TcpTargetTransport(), '127.0.0.1', { nqn, blocks: 1024 });
  try {
    const ac = new AbortController();
    let progress = 0;
    const r = await runPerf(
      { trids: [`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`], timeSeconds: 600, queueDepth: 4 },
      {
        signal: ac.signal,
        onProgress: (p) => {
          expect(p.phase).toBe('run');
          progress++;
          ac.abort(); // stop after the first progress report
        },
      },
    );
    expect(progress).toBeGreaterThanOrEqual(1);
    expect(r.ok).toBe(true);
    expect(r.total.ios).toBeGreaterThan(0);
  } finally {
    await target.close();
  }
});
