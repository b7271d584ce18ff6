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
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';

import { connect, type NvmeError, type QPair } from '@nvmu/client';
import '@nvmu/transport-vfio-user/host';

import { startTarget } from './bench.js';
import { detectPinning } from './child.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const IOS = Number(process.env.BENCH_IOS ?? 1_000_000);
const QD = Number(process.env.BENCH_QD ?? 127);
const BS = 4096;
const WARMUP = Math.min(100_000, IOS);

const pinning = detectPinning();
const load = loadavg()[0] ?? 0;
const tmp = await mkdtemp(join(tmpdir(), 'nvmu-heap-'));
// NVMU_BENCH_TARGET_FLAGS: extra node flags for the target, e.g. `--heap-prof --heap-prof-dir=/tmp/hp`.
const targetFlags = (process.env.NVMU_BENCH_TARGET_FLAGS ?? '').split(' ').filter((f) => f !== '');
const target = await startTarget(pinning, targetFlags, join(tmp, 'vfu0'));
const ctrl = await connect(`trtype:vfiouser traddr:${join(tmp, 'vfu0')} subnqn:${target.nqn}`, { reconnect: false, defaultIoQPair: false });
const first = ctrl.namespaces[0];
if (first === undefined) throw new Error('no namespace');
const ns = first;
const qp: QPair = await ctrl.allocIoQPair({ queueSize: QD + 1 });
const qd = QD;
const blocks = ns.blockCount - 8;

const bufs: Buffer[] = Array.from({ length: QD }, () => Buffer.alloc(BS));
let submitted = 0;
let completed = 0;
let limit = 0;
let failures = 0;
let finish: () => void = () => undefined;
const rng = new Uint32Array([0x9e3779b9]);

function allocatedBytes(start: number, end: number, gcStats: readonly { beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }[]): number {
  let n = end - start;
  for (const g of gcStats) n += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  return n;
}

function nextLba(): number {
  // xorshift32: a random LBA without allocating.
  let x = rng[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rng[0] = x;
  return ((x >>> 0) % blocks) & ~7;
}

// One callback for every I/O; the context is the buffer index.
function onDone(err: NvmeError | undefined, i: number): void {
  if (err !== undefined) failures++;
  completed++;
  if (submitted < limit) {
    submitted++;
    qp.submitRead(ns, nextLba(), BS / 512, bufs[i]!, onDone, i);
  } else if (completed === limit) finish();
}

function run(n: number): Promise<void> {
  submitted = 0;
  completed = 0;
  limit = n;
  return new Promise((resolve) => {
    finish = resolve;
    for (let i = 0; i < qd && submitted < limit; i++) {
      submitted++;
      qp.submitRead(ns, nextLba(), BS / 512, bufs[i]!, onDone, i);
    }
  });
}

try {
  await run(WARMUP);
  gc();
  gc();
  const tBefore = await target.child.stats(true);
  await target.child.request('alloc start');
  // NVMU_BENCH_HEAP_PROFILE=<file>: the target's allocations over the run (sampling heap profiler, garbage included).
  const heapProfile = process.env.NVMU_BENCH_HEAP_PROFILE;
  if (heapProfile !== undefined) await target.child.request('heapprofile start');
  const before = process.memoryUsage();
  const profiler = new GCProfiler();
  profiler.start();
  const t0 = process.hrtime.bigint();
  await run(IOS);
  const t1 = process.hrtime.bigint();
  const end = process.memoryUsage();
  const gcStats = profiler.stop().statistics;
  const allocated = allocatedBytes(before.heapUsed, end.heapUsed, gcStats);
  gc();
  gc();
  const after = process.memoryUsage();
  if (heapProfile !== undefined) await target.child.request(`heapprofile stop ${heapProfile}`);
  const tAlloc = (await target.child.request('alloc stop')) as { allocated: number; gcs: number };
  const tAfter = await target.child.stats(true);
  const seconds = Number(t1 - t0) / 1e9;
  const mib = (n: number): string => (n / 1048576).toFixed(2);
  const perIo = (n: number): string => (n / IOS).toFixed(3);
  const hostDelta = after.heapUsed - before.heapUsed;
  const targetDelta = tAfter.mem.heapUsed - tBefore.mem.heapUsed;
  process.stdout.write(
    [
      `load average at start: ${load.toFixed(2)}; ${pinning.note}; ${IOS} random 4 KiB reads at QD ${QD}, one vfio-user queue, null bdev; ${Math.round(IOS / seconds).toLocaleString('en-US')} IOPS; ${failures} failures`,
      '',
      '| side | heap after GC before → after (MiB) | retained bytes / I/O | allocated bytes / I/O | GCs during the run |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| target (child process) | ${mib(tBefore.mem.heapUsed)} → ${mib(tAfter.mem.heapUsed)} | ${perIo(targetDelta)} | ${perIo(tAlloc.allocated)} | ${tAlloc.gcs} |`,
      `| host (@nvmu/client callback path, this process) | ${mib(before.heapUsed)} → ${mib(after.heapUsed)} | ${perIo(hostDelta)} | ${perIo(allocated)} | ${gcStats.length} |`,
      '',
      JSON.stringify({ tool: 'nvmu-bench-vfio-user-heap', loadAverage1m: load, ios: IOS, qd: QD, seconds, failures, host: { before: before.heapUsed, after: after.heapUsed, allocated, gcs: gcStats.length }, target: { before: tBefore.mem.heapUsed, after: tAfter.mem.heapUsed, allocated: tAlloc.allocated, gcs: tAlloc.gcs } }),
      '',
    ].join('\n'),
  );
} finally {
  await ctrl.close();
  await target.child.stop();
  await rm(tmp, { recursive: true, force: true });
}
