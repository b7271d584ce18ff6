#!/usr/bin/env node
/**
 * Event-loop responsiveness of the target while a vfio-user host drives full I/O (issue 14: "the
 * daemon's event loop stays responsive (other transports and management answered within
 * milliseconds) while a guest drives full I/O").
 *
 * The target runs in its own process (target-child.js: NVMe/TCP and vfio-user listeners, one
 * null-bdev namespace), pinned to CPU 0 as in the bench. This process connects @nvmu/client over
 * NVMe/TCP and sends a Keep Alive every `NVMU_RESP_PROBE_MS` (default 10) ms, timing each round
 * trip; the target measures its own event-loop delay (perf_hooks.monitorEventLoopDelay). Two
 * phases of `NVMU_RESP_SECONDS` (default 10) each: idle, then under nvmu-perf 4 KiB random reads
 * at QD 128 over vfio-user (one queue; `NVMU_RESP_QUEUES` for more), nvmu-perf pinned to CPU 1.
 *
 * Run: `node dist/responsiveness.js` in tools/bench after `pnpm build` (`pnpm run
 * bench:responsiveness`). Prints a Markdown table and one JSON line.
 */
import { loadavg } from 'node:os';

import { connect, type Controller } from '@nvmu/client';
import '@nvmu/transport-tcp/host';

import { PERF_MAIN, benchTrid, perfArgs, withVfioUserTarget, type BenchTarget, type WorkloadSpec } from './bench.js';
import { detectPinning, pinnedCommand, runToEnd } from './child.js';
import { median } from './stats.js';

const SECONDS = Number(process.env.NVMU_RESP_SECONDS ?? 10);
const PROBE_MS = Number(process.env.NVMU_RESP_PROBE_MS ?? 10);
const QUEUES = Number(process.env.NVMU_RESP_QUEUES ?? 1);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface EventLoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

interface Phase {
  readonly name: string;
  readonly probes: number;
  /** Keep Alive round trips over NVMe/TCP, ms. */
  readonly rttMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** The target's event-loop delay, ms. */
  readonly eldMs: EventLoopDelay | null;
  readonly iops: number | null;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Keep Alive (NVMe Base 2.0 §5.25, opcode 18h) every PROBE_MS until `running()` is false; round trips in ms. */
async function probe(ctrl: Controller, running: () => boolean): Promise<number[]> {
  const sqe = new Uint8Array(64);
  sqe[0] = 0x18;
  const rtts: number[] = [];
  while (running()) {
    const t0 = performance.now();
    await ctrl.adminPassthrough(sqe);
    rtts.push(performance.now() - t0);
    await sleep(PROBE_MS);
  }
  return rtts;
}

async function phase(name: string, target: BenchTarget, ctrl: Controller, load: Promise<string> | undefined): Promise<Phase> {
  await target.child.request('eld start');
  let done = false;
  const running = (): boolean => !done;
  const timer = load ?? sleep(SECONDS * 1000);
  const finished = timer.finally(() => {
    done = true;
  });
  const rtts = await probe(ctrl, running);
  const out = await finished;
  const eld = (await target.child.request('eld stop')).eldMs as EventLoopDelay | null;
  const sorted = [...rtts].sort((a, b) => a - b);
  let iops: number | null = null;
  if (typeof out === 'string') iops = (JSON.parse(out) as { total: { iops: number } }).total.iops;
  return { name, probes: rtts.length, rttMs: { p50: median(rtts), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN }, eldMs: eld, iops };
}

const pinning = detectPinning();
const load = loadavg()[0] ?? 0;
await withVfioUserTarget(pinning, [], async (target) => {
  const ctrl = await connect(`trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${target.port} subnqn:${target.nqn}`, { reconnect: false });
  try {
    process.stderr.write(`responsiveness: idle, ${SECONDS} s\n`);
    const idle = await phase('idle', target, ctrl, undefined);
    const w: WorkloadSpec = { id: 'vfu-randread-4k-qd128', label: '', transport: 'vfio-user', queues: QUEUES, rw: 'randread', ioSize: 4096, queueDepth: 128, metric: 'iops' };
    const [cmd, args] = pinnedCommand(pinning, 1, [PERF_MAIN, ...perfArgs(benchTrid(target, w), w, SECONDS, 0)]);
    process.stderr.write(`responsiveness: nvmu-perf 4 KiB randread QD 128 over vfio-user (${QUEUES} queue(s)), ${SECONDS} s\n`);
    const loaded = await phase(`vfio-user 4 KiB randread QD 128, ${QUEUES} queue(s)`, target, ctrl, runToEnd(cmd, args, 'nvmu-perf', (SECONDS + 120) * 1000));
    const f = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(2));
    const row = (p: Phase): string =>
      `| ${p.name} | ${p.iops === null ? '–' : Math.round(p.iops).toLocaleString('en-US')} | ${p.probes} | ${f(p.rttMs.p50)} / ${f(p.rttMs.p99)} / ${f(p.rttMs.max)} | ${f(p.eldMs?.p50)} / ${f(p.eldMs?.p99)} / ${f(p.eldMs?.max)} |`;
    process.stdout.write(
      [
        `load average at start: ${load.toFixed(2)}; ${pinning.note}; Keep Alive over NVMe/TCP every ${PROBE_MS} ms`,
        '',
        '| phase | vfio-user IOPS | probes | Keep Alive RTT p50 / p99 / max (ms) | target event-loop delay p50 / p99 / max (ms) |',
        '| --- | ---: | ---: | ---: | ---: |',
        row(idle),
        row(loaded),
        '',
        JSON.stringify({ tool: 'nvmu-bench-responsiveness', loadAverage1m: load, probeMs: PROBE_MS, seconds: SECONDS, phases: [idle, loaded] }),
        '',
      ].join('\n'),
    );
  } finally {
    await ctrl.close();
  }
});
