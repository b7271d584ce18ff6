#!/usr/bin/env node
/**
 * nvmu-bench latency: NVMe/TCP 4 KiB random read at queue depth 1 with the low-latency
 * (busy-poll) mode off and on, at the target only, the client only and both, next to the raw
 * request/response pair with the same four settings (its floor with the same technique), all
 * interleaved in one run; then the CPU time an idle connected target and client use with the
 * mode on. Targets and raw servers on CPU 0, nvmu-perf and the raw client on CPU 1.
 *
 *   node dist/latency.js [--seconds S] [--warmup S] [--reps N] [--window US] [--idle-seconds S] [--out FILE]
 *   env: NVMU_BENCH_SECONDS, NVMU_BENCH_WARMUP_SECONDS, NVMU_BENCH_REPS, NVMU_BENCH_BUSY_POLL_US,
 *        NVMU_BENCH_IDLE_SECONDS, NVMU_BENCH_OUT
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { connect } from '@nvmu/client';
import '@nvmu/transport-tcp/host';

import { RAW_SERVER, type BenchTarget, type RunFigures, type WorkloadSpec, benchTrid, runNvmu, runRaw, startTarget } from './bench.js';
import { ServerChild, type Pinning, detectPinning } from './child.js';
import { type MachineInfo, machineInfo, median } from './stats.js';

/**
 * Which ends poll: the server (nvmu target / raw server) and the client (nvmu-perf / raw
 * client). 'both-loop' (the raw pair only): both ends poll without the native call, by keeping
 * the event loop turning (setImmediate) for the window: what recvInto buys over pure JS.
 */
export type PollSetting = 'off' | 'server' | 'client' | 'both' | 'both-loop';
export const POLL_SETTINGS: readonly PollSetting[] = ['off', 'server', 'client', 'both'];
/** The raw pair's settings: the four, and the pure-JavaScript spin for comparison. */
export const RAW_POLL_SETTINGS: readonly PollSetting[] = [...POLL_SETTINGS, 'both-loop'];

export interface LatencyRow {
  readonly pair: 'nvmu' | 'raw';
  readonly poll: PollSetting;
  readonly runs: readonly RunFigures[];
  /** Medians over the runs. */
  readonly median: { readonly iops: number; readonly p50: number; readonly p99: number; readonly avg: number; readonly serverCpuUsPerIo: number; readonly clientCpuUsPerIo: number; readonly otherCpuCores: number };
}

export interface IdleResult {
  readonly seconds: number;
  /** The window, or 0 for the same measure with the mode off (the baseline). */
  readonly windowUs: number;
  /** CPU time per second of wall time (µs/s; 1e6 = one whole CPU) while connected and idle. */
  readonly targetCpuUsPerSec: number;
  readonly clientCpuUsPerSec: number;
}

export interface LatencyResult {
  readonly tool: 'nvmu-bench-latency';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: MachineInfo & { readonly pinned: boolean; readonly pinning: string; readonly loadAverage1mAtStart: number; readonly loadAverage1mAtEnd: number };
  readonly config: { readonly seconds: number; readonly warmupSeconds: number; readonly repetitions: number; readonly windowUs: number };
  readonly rows: readonly LatencyRow[];
  /** Idle CPU with the mode on, and the same with it off. */
  readonly idle: { readonly on: IdleResult; readonly off: IdleResult } | null;
}

const QD1: WorkloadSpec = { id: 'randread-4k-qd1', label: '4 KiB random read, QD 1', rw: 'randread', ioSize: 4096, queueDepth: 1, metric: 'iops' };

/** Starts `start` with one environment variable set for its child (spawned before start's first await). */
async function withEnv<T>(name: string, value: string, start: () => Promise<T>): Promise<T> {
  const old = process.env[name];
  process.env[name] = value;
  try {
    return await start();
  } finally {
    if (old === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = old;
  }
}

async function startRaw(pinning: Pinning, windowUs: number, mode: 'native' | 'loop' = 'native'): Promise<{ child: ServerChild; port: number }> {
  const { child, hello } = await ServerChild.start('raw-server', pinning, 0, [RAW_SERVER, '127.0.0.1', '0', String(windowUs), mode]);
  return { child, port: Number(hello.port) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An idle connected client (this process, `busypoll` on) and target (mode on): CPU time of each
 * over `seconds` after a few I/Os (so both have spun and their windows passed).
 */
async function measureIdle(target: BenchTarget, windowUs: number, seconds: number): Promise<IdleResult> {
  const ctrl = await connect(`${benchTrid(target, QD1)}${windowUs > 0 ? ` busypoll:${windowUs}` : ''}`, { reconnect: false, ioQueues: 1 });
  try {
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error('idle: no namespace');
    const buf = new Uint8Array(4096);
    for (let i = 0; i < 1000; i++) await ns.read(i * 8, 8, buf);
    await sleep(100);
    const t0 = await target.child.stats();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = process.cpuUsage(c0);
    const t1 = await target.child.stats();
    const wall = (performance.now() - w0) / 1000;
    return { seconds, windowUs, targetCpuUsPerSec: (t1.cpuUs - t0.cpuUs) / wall, clientCpuUsPerSec: (c1.user + c1.system) / wall };
  } finally {
    await ctrl.close();
  }
}

export interface LatencyOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly repetitions: number;
  readonly windowUs: number;
  /** 0 skips the idle measurement. */
  readonly idleSeconds: number;
  readonly command: string;
  readonly log: (line: string) => void;
}

export async function runLatency(o: LatencyOptions): Promise<LatencyResult> {
  const startedAt = new Date().toISOString();
  const loadAverage1mAtStart = loadavg()[0] ?? 0;
  const pinning = detectPinning();
  if (!pinning.enabled) o.log(`note: ${pinning.note}`);
  const targetOff = await startTarget(pinning);
  const targetOn = await withEnv('NVMU_BENCH_TARGET_BUSY_POLL_US', String(o.windowUs), () => startTarget(pinning));
  const rawOff = await startRaw(pinning, 0);
  const rawOn = await startRaw(pinning, o.windowUs);
  const rawLoop = await startRaw(pinning, o.windowUs, 'loop');
  const children = [targetOff.child, targetOn.child, rawOff.child, rawOn.child, rawLoop.child];
  try {
    const runs = new Map<string, RunFigures[]>();
    for (let rep = 1; rep <= o.repetitions; rep++) {
      for (const poll of RAW_POLL_SETTINGS) {
        const loop = poll === 'both-loop';
        const server = poll === 'server' || poll === 'both' || loop;
        const w: WorkloadSpec = { ...QD1, clientBusyPollUs: poll === 'client' || poll === 'both' || loop ? o.windowUs : 0, clientBusyPollMode: loop ? 'loop' : 'native' };
        for (const pair of loop ? (['raw'] as const) : (['nvmu', 'raw'] as const)) {
          const f = pair === 'nvmu' ? await runNvmu(pinning, server ? targetOn : targetOff, w, o.seconds, o.warmupSeconds) : await runRaw(pinning, loop ? rawLoop : server ? rawOn : rawOff, w, o.seconds, o.warmupSeconds);
          const key = `${pair}|${poll}`;
          runs.set(key, [...(runs.get(key) ?? []), f]);
          o.log(`#${rep} ${pair} poll ${poll}: ${f.iops.toFixed(0)} IOPS, p50 ${f.latencyUs.p50.toFixed(1)} µs, p99 ${f.latencyUs.p99.toFixed(1)} µs (other load ${f.otherCpuCores.toFixed(2)} CPUs)`);
        }
      }
    }
    const rows: LatencyRow[] = [];
    for (const pair of ['nvmu', 'raw'] as const) {
      for (const poll of pair === 'raw' ? RAW_POLL_SETTINGS : POLL_SETTINGS) {
        const r = runs.get(`${pair}|${poll}`) ?? [];
        const m = (f: (x: RunFigures) => number): number => median(r.map(f));
        rows.push({
          pair,
          poll,
          runs: r,
          median: {
            iops: m((x) => x.iops),
            p50: m((x) => x.latencyUs.p50),
            p99: m((x) => x.latencyUs.p99),
            avg: m((x) => x.latencyUs.avg),
            serverCpuUsPerIo: m((x) => x.serverCpuUsPerIo),
            clientCpuUsPerIo: m((x) => x.clientCpuUsPerIo),
            otherCpuCores: m((x) => x.otherCpuCores),
          },
        });
      }
    }
    let idle: LatencyResult['idle'] = null;
    if (o.idleSeconds > 0) {
      o.log(`idle: a connected client and target with the mode on (${o.windowUs} µs), then off, ${o.idleSeconds} s each`);
      idle = { on: await measureIdle(targetOn, o.windowUs, o.idleSeconds), off: await measureIdle(targetOff, 0, o.idleSeconds) };
    }
    return {
      tool: 'nvmu-bench-latency',
      startedAt,
      finishedAt: new Date().toISOString(),
      command: o.command,
      machine: { ...machineInfo(), pinned: pinning.enabled, pinning: pinning.note, loadAverage1mAtStart, loadAverage1mAtEnd: loadavg()[0] ?? 0 },
      config: { seconds: o.seconds, warmupSeconds: o.warmupSeconds, repetitions: o.repetitions, windowUs: o.windowUs },
      rows,
      idle,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

const POLL_LABEL: Record<PollSetting, string> = {
  off: 'off (epoll both ends)',
  server: 'server only',
  client: 'client only',
  both: 'both ends',
  'both-loop': 'both ends, no native call (event loop kept turning)',
};

/** The rows as a Markdown table for BENCHMARKS.md. */
export function formatLatency(r: LatencyResult): string {
  const lines = [
    `4 KiB random read, QD 1, busy-poll window ${r.config.windowUs} µs; medians of ${r.config.repetitions} runs of ${r.config.seconds} s (+${r.config.warmupSeconds} s warm-up), interleaved; load average ${r.machine.loadAverage1mAtStart.toFixed(2)} at start, ${r.machine.loadAverage1mAtEnd.toFixed(2)} at end.`,
    '',
    '| pair | busy-poll | IOPS | p50 µs | p99 µs | avg µs | server CPU µs/IO | client CPU µs/IO | other load (CPUs) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of r.rows) {
    const m = row.median;
    const who = row.pair === 'nvmu' ? 'nvmu target + nvmu-perf' : 'raw TCP pair';
    lines.push(`| ${who} | ${POLL_LABEL[row.poll]} | ${m.iops.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.avg.toFixed(1)} | ${m.serverCpuUsPerIo.toFixed(1)} | ${m.clientCpuUsPerIo.toFixed(1)} | ${m.otherCpuCores.toFixed(2)} |`);
  }
  if (r.idle !== null) {
    const pct = (usPerSec: number): string => `${(usPerSec / 1e4).toFixed(3)} %`;
    const { on, off } = r.idle;
    lines.push(
      '',
      `Idle, connected, over ${on.seconds} s each (CPU time / wall time): mode on (${on.windowUs} µs) target ${pct(on.targetCpuUsPerSec)}, client ${pct(on.clientCpuUsPerSec)}; mode off target ${pct(off.targetCpuUsPerSec)}, client ${pct(off.clientCpuUsPerSec)}.`,
    );
  }
  lines.push('', `Command: \`${r.command}\``, '');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------ command line

function numberOf(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`${flag} ${text}: expected a number >= ${min}`);
  return n;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      reps: { type: 'string' },
      window: { type: 'string' },
      'idle-seconds': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const env = process.env;
  const pkgDir = join(import.meta.dirname, '..');
  const opts: LatencyOptions = {
    seconds: numberOf('--seconds', v.seconds ?? env.NVMU_BENCH_SECONDS, 5, 0.1),
    warmupSeconds: numberOf('--warmup', v.warmup ?? env.NVMU_BENCH_WARMUP_SECONDS, 1, 0),
    repetitions: Math.round(numberOf('--reps', v.reps ?? env.NVMU_BENCH_REPS, 3, 1)),
    windowUs: Math.round(numberOf('--window', v.window ?? env.NVMU_BENCH_BUSY_POLL_US, 50, 1)),
    idleSeconds: numberOf('--idle-seconds', v['idle-seconds'] ?? env.NVMU_BENCH_IDLE_SECONDS, 30, 0),
    command: `${Object.entries(env)
      .filter(([k]) => k.startsWith('NVMU_BENCH_'))
      .map(([k, val]) => `${k}=${val ?? ''} `)
      .join('')}node dist/latency.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const outFile = v.out ?? env.NVMU_BENCH_OUT ?? join(pkgDir, 'results/latency.json');
  const result = await runLatency(opts);
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${formatLatency(result)}\nJSON: ${relative(process.cwd(), outFile)}\n`);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
