#!/usr/bin/env node
/**
 * The vfio-user target's two modes side by side, interleaved in one run: the adaptive poller
 * over mmapped doorbells (the default) and interrupt mode (`interruptMode`: doorbells trapped,
 * EventIdx armed before sleeping, no timers while idle). For each repetition, in alternating
 * order, a fresh target child (CPU 0; NVMU_BENCH_VFU_INTERRUPT=1 for interrupt mode) serves:
 *
 * 1. nvmu-perf (CPU 1): 4 KiB random read at QD 128 on one queue, then at QD 1 (IOPS, latency,
 *    target CPU µs per I/O);
 * 2. @nvmu/client in this process (one I/O queue, shadow doorbells, the host default): one read,
 *    then `NVMU_MODES_FIRST` times "stay idle 1 s, time one 4 KiB read" (the first command after
 *    an idle second: the poller's deep sleep makes it wait up to 50 ms);
 * 3. the same host attached and idle for `NVMU_IDLE_SECONDS` (default 60; only in the first
 *    repetition): the target's CPU from /proc/<pid>/stat.
 *
 *   node dist/vfio-user-modes.js        (pnpm run bench:vfu-modes)
 *   env: NVMU_BENCH_REPS (3), NVMU_BENCH_SECONDS (5), NVMU_BENCH_WARMUP_SECONDS (1),
 *        NVMU_MODES_FIRST (10), NVMU_IDLE_SECONDS (60; 0 skips the idle window)
 *
 * Prints a Markdown table and one JSON line. Timings are figures, never assertions.
 */
import { loadavg } from 'node:os';

import { connect } from '@nvmu/client';
import '@nvmu/transport-vfio-user/host';

import { runNvmu, withVfioUserTarget, type BenchTarget, type RunFigures, type WorkloadSpec } from './bench.js';
import { detectPinning } from './child.js';
import { median, procCpuSeconds } from './stats.js';

type Mode = 'poll' | 'interrupt';

const REPS = Number(process.env.NVMU_BENCH_REPS ?? 3);
const SECONDS = Number(process.env.NVMU_BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.NVMU_BENCH_WARMUP_SECONDS ?? 1);
const FIRST = Number(process.env.NVMU_MODES_FIRST ?? 10);
const IDLE_SECONDS = Number(process.env.NVMU_IDLE_SECONDS ?? 60);

const QD128: WorkloadSpec = { id: 'vfu-randread-4k-qd128', label: '4 KiB random read, QD 128, 1 queue', transport: 'vfio-user', rw: 'randread', ioSize: 4096, queueDepth: 128, metric: 'iops' };
const QD1: WorkloadSpec = { id: 'vfu-randread-4k-qd1', label: '4 KiB random read, QD 1', transport: 'vfio-user', rw: 'randread', ioSize: 4096, queueDepth: 1, metric: 'iops' };

interface ModeRun {
  readonly mode: Mode;
  readonly repetition: number;
  readonly qd128: RunFigures;
  readonly qd1: RunFigures;
  /** ms of each first read after 1 s idle. */
  readonly firstAfterIdleMs: readonly number[];
  /** Share of one core, percent, with the host attached and idle (first repetition only). */
  readonly idleAttachedPercent: number | null;
  readonly idleSeconds: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function hostPhase(target: BenchTarget, dir: string, idle: boolean): Promise<Pick<ModeRun, 'firstAfterIdleMs' | 'idleAttachedPercent' | 'idleSeconds'>> {
  const ctrl = await connect(`trtype:vfiouser traddr:${dir} subnqn:${target.nqn}`, { reconnect: false, ioQueues: 1 });
  try {
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    await ns.read(0, 8);
    const firstAfterIdleMs: number[] = [];
    for (let i = 0; i < FIRST; i++) {
      await sleep(1000);
      const t0 = performance.now();
      await ns.read((i + 1) * 8, 8);
      firstAfterIdleMs.push(performance.now() - t0);
    }
    if (!idle || IDLE_SECONDS <= 0) return { firstAfterIdleMs, idleAttachedPercent: null, idleSeconds: null };
    const pid = target.child.proc.pid;
    if (pid === undefined) throw new Error('target child has no pid');
    await sleep(1000);
    const c0 = procCpuSeconds(pid);
    const t0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const wall = (performance.now() - t0) / 1000;
    return { firstAfterIdleMs, idleAttachedPercent: (100 * (procCpuSeconds(pid) - c0)) / wall, idleSeconds: wall };
  } finally {
    await ctrl.close();
  }
}

const pinning = detectPinning();
const loadStart = loadavg()[0] ?? 0;
const runs: ModeRun[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const order: Mode[] = rep % 2 === 0 ? ['poll', 'interrupt'] : ['interrupt', 'poll'];
  for (const mode of order) {
    process.env.NVMU_BENCH_VFU_INTERRUPT = mode === 'interrupt' ? '1' : '0';
    process.stderr.write(`vfu-modes: repetition ${rep + 1}/${REPS}, ${mode}\n`);
    const run = await withVfioUserTarget(pinning, [], async (target, dir) => {
      const qd128 = await runNvmu(pinning, target, QD128, SECONDS, WARMUP);
      const qd1 = await runNvmu(pinning, target, QD1, SECONDS, WARMUP);
      const host = await hostPhase(target, dir, rep === 0);
      return { mode, repetition: rep, qd128, qd1, ...host };
    });
    runs.push(run);
  }
}
const loadEnd = loadavg()[0] ?? 0;

const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);
const lines = [
  `load average ${f2(loadStart)} at start, ${f2(loadEnd)} at end; ${pinning.note}; ${REPS} repetitions x ${SECONDS} s (+${WARMUP} s warm-up), modes interleaved`,
  '',
  '| mode | QD 128 IOPS (median) | QD 128 target µs CPU/IO | QD 1 IOPS | QD 1 p50 / p99 µs | QD 1 target µs CPU/IO | first read after 1 s idle, median / max ms | target CPU, host attached and idle |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const mode of ['poll', 'interrupt'] as const) {
  const rs = runs.filter((r) => r.mode === mode);
  const m = (pick: (r: ModeRun) => number): number => median(rs.map(pick));
  const first = rs.flatMap((r) => r.firstAfterIdleMs);
  const idle = rs.find((r) => r.idleAttachedPercent !== null);
  lines.push(
    `| ${mode === 'poll' ? 'adaptive poller (default)' : 'interrupt mode'} | ${Math.round(m((r) => r.qd128.iops)).toLocaleString('en-US')} | ${f2(m((r) => r.qd128.serverCpuUsPerIo))} | ${Math.round(m((r) => r.qd1.iops)).toLocaleString('en-US')} | ${f1(m((r) => r.qd1.latencyUs.p50))} / ${f1(m((r) => r.qd1.latencyUs.p99))} | ${f2(m((r) => r.qd1.serverCpuUsPerIo))} | ${f2(median(first))} / ${f2(Math.max(...first))} | ${idle?.idleAttachedPercent == null ? '–' : `${idle.idleAttachedPercent.toFixed(3)} % over ${f1(idle.idleSeconds ?? 0)} s`} |`,
  );
}
lines.push('', JSON.stringify({ tool: 'nvmu-bench-vfio-user-modes', loadAverage1m: { start: loadStart, end: loadEnd }, runs }), '');
process.stdout.write(lines.join('\n'));
