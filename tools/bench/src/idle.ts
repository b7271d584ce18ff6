#!/usr/bin/env node
/**
 * Idle cost of the vfio-user target and of an attached nvmu host (issue 14: "a guest with no I/O
 * costs the target below 1 % of a core over a minute"). The target runs in its own process
 * (target-child.js, pinned to CPU 0 like the bench's); this process attaches @nvmu/client over
 * vfio-user (admin queue, one I/O queue, an AER held, shadow doorbells), does one read, then
 * nothing for `NVMU_IDLE_SECONDS` (default 60). Reported: the target's CPU time from
 * /proc/<pid>/stat (utime + stime, clock ticks) and from its process.cpuUsage() (µs), and this
 * host process's process.cpuUsage(), as a share of one core; plus the same target with no client
 * attached (the idle Node process and its listeners, for reference).
 *
 * Run: `node dist/idle.js` in tools/bench after `pnpm build` (`pnpm run bench:idle`).
 * Prints a Markdown table and one JSON line.
 */
import { loadavg } from 'node:os';

import { connect } from '@nvmu/client';
import '@nvmu/transport-vfio-user/host';

import { detectPinning } from './child.js';
import { withVfioUserTarget } from './bench.js';
import { procCpuSeconds } from './stats.js';

const SECONDS = Number(process.env.NVMU_IDLE_SECONDS ?? 60);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface IdleFigures {
  readonly seconds: number;
  /** Share of one core, percent. */
  readonly targetProcPercent: number;
  readonly targetCpuUsagePercent: number;
  readonly hostPercent: number | null;
}

async function measure(pid: number, stats: () => Promise<number>, host: boolean): Promise<IdleFigures> {
  const p0 = procCpuSeconds(pid);
  const c0 = await stats();
  const h0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const wall = (performance.now() - t0) / 1000;
  const h = process.cpuUsage(h0);
  const c1 = await stats();
  const p1 = procCpuSeconds(pid);
  return {
    seconds: wall,
    targetProcPercent: (100 * (p1 - p0)) / wall,
    targetCpuUsagePercent: (100 * (c1 - c0)) / 1e6 / wall,
    hostPercent: host ? (100 * (h.user + h.system)) / 1e6 / wall : null,
  };
}

const pinning = detectPinning();
const load = loadavg()[0] ?? 0;
await withVfioUserTarget(pinning, [], async (target, dir) => {
  const pid = target.child.proc.pid;
  if (pid === undefined) throw new Error('target child has no pid');
  const stats = async (): Promise<number> => (await target.child.stats()).cpuUs;
  process.stderr.write(`idle: target (pid ${pid}) with no client, ${SECONDS} s\n`);
  const alone = await measure(pid, stats, false);
  const ctrl = await connect(`trtype:vfiouser traddr:${dir} subnqn:${target.nqn}`, { reconnect: false });
  let attached: IdleFigures;
  try {
    await ctrl.namespaces[0]?.read(0, 8);
    await sleep(1000); // the target's poller backs off after the last command
    process.stderr.write(`idle: nvmu host attached over vfio-user, no I/O, ${SECONDS} s\n`);
    attached = await measure(pid, stats, true);
  } finally {
    await ctrl.close();
  }
  const pct = (v: number | null): string => (v === null ? '–' : `${v.toFixed(3)} %`);
  const row = (state: string, f: IdleFigures): string =>
    `| ${state} | ${f.seconds.toFixed(1)} | ${pct(f.targetProcPercent)} | ${pct(f.targetCpuUsagePercent)} | ${pct(f.hostPercent)} |`;
  process.stdout.write(
    [
      `load average at start: ${load.toFixed(2)}; ${pinning.note}`,
      '',
      '| state | seconds | target CPU (/proc stat) | target CPU (cpuUsage) | host CPU |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('target alone, no client', alone),
      row('nvmu host attached over vfio-user, idle', attached),
      '',
      JSON.stringify({ tool: 'nvmu-bench-idle', loadAverage1m: load, alone, attached }),
      '',
    ].join('\n'),
  );
});
