#!/usr/bin/env node
/**
 * Heap over 1 M I/Os end to end over vfio-user (issue 15: "no allocation per I/O on either side
 * on the steady path (heap delta over 1 M I/Os, as the loopback bench shows today)"): the target
 * in its own process (target-child.js with --expose-gc, pinned to CPU 0), @nvmu/client in this
 * one (run with --expose-gc) on its callback path (`QPair.submitRead` with caller-owned buffers)
 * over @nvmu/transport-vfio-user's host side: 4 KiB random reads at QD 127 on one queue of 128.
 *
 * Reported: each side's bytes allocated per I/O (heap used at the end minus at the start plus
 * what every GC freed meanwhile, v8.GCProfiler; the target's over its 'alloc start'/'alloc stop'
 * window, which includes answering those two lines) and GCs; each side's heap after a full GC
 * before and after the run (retained bytes per I/O).
 *
 * Run: `pnpm run bench:heap` in tools/bench after `pnpm build`. Env: BENCH_IOS (1000000),
 * BENCH_QD (127), NVMU_BENCH_TARGET_FLAGS (extra node flags for the target). Prints a Markdown table and one JSON line.
 */
import { loadavg } from 'node:os';

import { connect, type Namespace, type NvmeError, type QPair } from '@nvmu/client';
import '@nvmu/transport-vfio-user/host';

import { withVfioUserTarget } from './bench.js';
import { detectPinning } from './child.js';
import { AllocationWindow } from './stats.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const fullGc = gc;

const IOS = Number(process.env.BENCH_IOS ?? 1_000_000);
const QD = Number(process.env.BENCH_QD ?? 127);
const BS = 4096;
const WARMUP = Math.min(100_000, IOS);

/**
 * `qd` reads in flight on one qpair until `n` have completed: each completion submits the next
 * into the same buffer (one callback for all, the buffer index as its context), LBAs from a
 * xorshift32 kept in a typed array, so the loop itself allocates nothing.
 */
class ReadLoop {
  private readonly bufs: Buffer[];
  private readonly rng = new Uint32Array([0x9e3779b9]);
  private readonly blocks: number;
  private issued = 0;
  private done = 0;
  private target = 0;
  failures = 0;
  private resolve: () => void = () => undefined;
  private readonly onDone = (err: NvmeError | undefined, i: number): void => {
    if (err !== undefined) this.failures++;
    this.done++;
    if (this.issued < this.target) this.next(i);
    else if (this.done === this.target) this.resolve();
  };

  constructor(
    private readonly qp: QPair,
    private readonly ns: Namespace,
    private readonly qd: number,
  ) {
    this.bufs = Array.from({ length: qd }, () => Buffer.alloc(BS));
    this.blocks = ns.blockCount - 8;
  }

  private next(i: number): void {
    let x = this.rng[0] ?? 1;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng[0] = x;
    this.issued++;
    const buf = this.bufs[i];
    if (buf !== undefined) this.qp.submitRead(this.ns, ((x >>> 0) % this.blocks) & ~7, BS / 512, buf, this.onDone, i);
  }

  run(n: number): Promise<void> {
    this.issued = 0;
    this.done = 0;
    this.target = n;
    return new Promise((resolve) => {
      this.resolve = resolve;
      for (let i = 0; i < this.qd && this.issued < n; i++) this.next(i);
    });
  }
}

const pinning = detectPinning();
const load = loadavg()[0] ?? 0;
// NVMU_BENCH_TARGET_FLAGS: extra node flags for the target, e.g. `--heap-prof --heap-prof-dir=/tmp/hp`.
const targetFlags = (process.env.NVMU_BENCH_TARGET_FLAGS ?? '').split(' ').filter((f) => f !== '');
await withVfioUserTarget(pinning, targetFlags, async (target, dir) => {
  const ctrl = await connect(`trtype:vfiouser traddr:${dir} subnqn:${target.nqn}`, { reconnect: false, defaultIoQPair: false });
  try {
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    const loop = new ReadLoop(await ctrl.allocIoQPair({ queueSize: QD + 1 }), ns, QD);
    await loop.run(WARMUP);
    fullGc();
    fullGc();
    const tBefore = await target.child.stats(true);
    await target.child.request('alloc start');
    // NVMU_BENCH_HEAP_PROFILE=<file>: the target's allocations over the run (sampling heap profiler, garbage included).
    const heapProfile = process.env.NVMU_BENCH_HEAP_PROFILE;
    if (heapProfile !== undefined) await target.child.request('heapprofile start');
    const before = process.memoryUsage();
    const window = new AllocationWindow();
    const t0 = process.hrtime.bigint();
    await loop.run(IOS);
    const t1 = process.hrtime.bigint();
    const host = window.stop();
    fullGc();
    fullGc();
    const after = process.memoryUsage();
    if (heapProfile !== undefined) await target.child.request(`heapprofile stop ${heapProfile}`);
    const tAlloc = (await target.child.request('alloc stop')) as { allocated: number; gcs: number };
    const tAfter = await target.child.stats(true);
    const seconds = Number(t1 - t0) / 1e9;
    const mib = (n: number): string => (n / 1048576).toFixed(2);
    const perIo = (n: number): string => (n / IOS).toFixed(3);
    process.stdout.write(
      [
        `load average at start: ${load.toFixed(2)}; ${pinning.note}; ${IOS} random 4 KiB reads at QD ${QD}, one vfio-user queue, null bdev; ${Math.round(IOS / seconds).toLocaleString('en-US')} IOPS; ${loop.failures} failures`,
        '',
        '| side | heap after GC before → after (MiB) | retained bytes / I/O | allocated bytes / I/O | GCs during the run |',
        '| --- | ---: | ---: | ---: | ---: |',
        `| target (child process) | ${mib(tBefore.mem.heapUsed)} → ${mib(tAfter.mem.heapUsed)} | ${perIo(tAfter.mem.heapUsed - tBefore.mem.heapUsed)} | ${perIo(tAlloc.allocated)} | ${tAlloc.gcs} |`,
        `| host (@nvmu/client callback path, this process) | ${mib(before.heapUsed)} → ${mib(after.heapUsed)} | ${perIo(after.heapUsed - before.heapUsed)} | ${perIo(host.allocated)} | ${host.gcs} |`,
        '',
        JSON.stringify({
          tool: 'nvmu-bench-vfio-user-heap',
          loadAverage1m: load,
          ios: IOS,
          qd: QD,
          seconds,
          failures: loop.failures,
          host: { before: before.heapUsed, after: after.heapUsed, ...host },
          target: { before: tBefore.mem.heapUsed, after: tAfter.mem.heapUsed, ...tAlloc },
        }),
        '',
      ].join('\n'),
    );
  } finally {
    await ctrl.close();
  }
});
