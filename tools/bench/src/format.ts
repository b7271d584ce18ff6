/** The bench's human table and its ready-to-paste Markdown section. */
import type { BenchResult, ProfileResult, RunFigures, WorkloadResult } from './bench.js';

const num = (v: number, digits = 0): string => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

function headline(w: WorkloadResult, f: RunFigures): string {
  return w.metric === 'iops' ? `${num(f.iops)} IOPS` : `${num(f.mibps)} MiB/s`;
}

function latency(f: RunFigures): string {
  return `${f.latencyUs.avg.toFixed(1)} / ${f.latencyUs.p50.toFixed(1)} / ${f.latencyUs.p99.toFixed(1)}`;
}

function cpu(f: RunFigures): string {
  return `${f.serverCpuUsPerIo.toFixed(2)} / ${f.clientCpuUsPerIo.toFixed(2)}`;
}

function disturbed(f: RunFigures): string {
  return `${f.otherCpuCores.toFixed(2)} / ${f.stealCores.toFixed(2)}`;
}

function soakLines(r: BenchResult): string[] {
  const s = r.soak;
  if (s === null) return ['memory soak: skipped'];
  return [
    `memory soak: ${s.seconds} s of ${s.workload} at ${num(s.iops)} IOPS, target sampled once a second (${s.samples.length} samples)`,
    `  RSS       start ${mib(s.rss.start)}, end ${mib(s.rss.end)}, max ${mib(s.rss.max)}; second-half slope ${num(s.rssSlopeBytesPerSec)} B/s`,
    `  heapUsed  start ${mib(s.heapUsed.start)}, end ${mib(s.heapUsed.end)}, max ${mib(s.heapUsed.max)}; second-half slope ${num(s.heapUsedSlopeBytesPerSec)} B/s`,
    `  retained heap (after a full GC) before ${mib(s.retainedHeap.before)}, after ${mib(s.retainedHeap.after)} -> ${s.flat ? 'flat' : 'NOT flat'}`,
  ];
}

/** The table printed at the end of a run. */
export function formatTable(r: BenchResult): string {
  const head = ['workload', 'nvmu', 'lat avg/p50/p99 µs', 'CPU µs/IO tgt/perf', 'raw', 'lat avg/p50/p99 µs', 'CPU µs/IO srv/cli', 'nvmu/raw', 'per pair', 'srv CPU raw/nvmu'];
  const rows = r.workloads.map((w) => {
    const m = w.median;
    return [
      w.label,
      headline(w, m.nvmu),
      latency(m.nvmu),
      cpu(m.nvmu),
      headline(w, m.raw),
      latency(m.raw),
      cpu(m.raw),
      `${(100 * m.ratio).toFixed(1)} %`,
      w.pairs.map((p) => p.ratio.toFixed(2)).join(' '),
      `${(100 * m.serverCpuRatio).toFixed(0)} %`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const out = [
    `nvmu target (null bdev) vs its ceiling (raw TCP; shared-memory rings for vfio-user rows): medians of ${r.config.repetitions} pairs x ${r.config.seconds} s (+${r.config.warmupSeconds} s warm-up); load average ${r.machine.loadAverage1mAtStart.toFixed(2)} at start`,
    line(head),
    widths.map((n) => '-'.repeat(n)).join('-+-'),
    ...rows.map(line),
    '',
    ...soakLines(r),
  ];
  if (r.goal !== null) out.push(`goal: ${r.goal.workload} >= ${100 * r.goal.minRatio} % of raw: ${(100 * r.goal.ratio).toFixed(1)} % -> ${r.goal.met ? 'met' : 'NOT met'}`);
  return `${out.join('\n')}\n`;
}

/** A Markdown section for BENCHMARKS.md. */
export function formatMarkdown(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [
    '## NVMe/TCP and vfio-user: nvmu target vs the ceiling of each',
    '',
    `Measured ${r.finishedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; load average ${m.loadAverage1mAtStart.toFixed(2)} at the start (the machine is shared).`,
    `${m.pinned ? 'Pinned' : 'Not pinned'}: ${m.pinning}.`,
    `Command: \`${r.command}\` (${r.config.repetitions} nvmu/raw pairs per workload, interleaved, ${r.config.seconds} s each after ${r.config.warmupSeconds} s warm-up; figures are medians, the ratio is the median of the per-pair ratios).`,
    '',
    'nvmu: `@nvmu/nvmf` Target + `TcpTargetTransport` (and `VfioUserTargetTransport` for the vfio-user rows), 1 GiB null bdev, in its own process, driven by `nvmu-perf --json` over 127.0.0.1 or the vfio-user socket (`trtype:vfiouser traddr:<dir>`, memfd-shared memory, mapped and shadow doorbells, completions by MSI-X eventfd, the host default).',
    'raw (TCP rows): a 64-byte request (+ 4 KiB payload for writes) answered by a 16-byte response (+ the payload for reads), plain Node `net` on both sides.',
    'raw (vfio-user rows): `bench/shm-ring-{server,client}.mjs`, the same shared-memory rings (64-byte entries in, 16-byte phase-tagged completions out, doorbell words in a shared page, the server polling as the target does) with no NVMe and no data copy.',
    'CPU µs/IO: CPU time per I/O of the serving process (nvmu target / raw server) and of the driving one (nvmu-perf / raw client); "server CPU" is raw server CPU per I/O ÷ target CPU per I/O (median over the pairs), the target\'s efficiency against the bare minimum, which other load on the machine disturbs less than throughput.',
    '',
    '| workload | nvmu | lat avg / p50 / p99 (µs) | CPU µs/IO target / perf | raw ceiling | lat avg / p50 / p99 (µs) | CPU µs/IO server / client | nvmu / raw (per pair) | server CPU raw / nvmu |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const w of r.workloads) {
    const x = w.median;
    out.push(
      `| ${w.label} | ${headline(w, x.nvmu)} | ${latency(x.nvmu)} | ${cpu(x.nvmu)} | ${headline(w, x.raw)} | ${latency(x.raw)} | ${cpu(x.raw)} | **${(100 * x.ratio).toFixed(1)} %** (${w.pairs.map((p) => p.ratio.toFixed(2)).join(', ')}) | ${(100 * x.serverCpuRatio).toFixed(0)} % |`,
    );
  }
  out.push('');
  if (r.goal !== null) out.push(`Goal (4 KiB random read at QD 128 ≥ ${100 * r.goal.minRatio} % of the ceiling): ${(100 * r.goal.ratio).toFixed(1)} % — ${r.goal.met ? 'met' : 'not met'}.`, '');
  out.push(
    'Every pair (other load = CPUs\' worth of user+system time other processes used during the run, from /proc/stat; steal = hypervisor steal):',
    '',
    '| workload | pair | nvmu | other load / steal | raw | other load / steal | nvmu / raw |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const w of r.workloads) {
    for (const p of w.pairs) {
      out.push(`| ${w.label} | ${p.repetition} | ${headline(w, p.nvmu)} | ${disturbed(p.nvmu)} | ${headline(w, p.raw)} | ${disturbed(p.raw)} | ${p.ratio.toFixed(2)} |`);
    }
  }
  out.push('');
  const s = r.soak;
  if (s !== null) {
    out.push(
      `Memory over a ${s.seconds} s run (${s.workload}, ${num(s.iops)} IOPS), target sampled once a second:`,
      '',
      '| | start | end | max | slope, second half |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| RSS | ${mib(s.rss.start)} | ${mib(s.rss.end)} | ${mib(s.rss.max)} | ${num(s.rssSlopeBytesPerSec)} B/s |`,
      `| V8 heapUsed | ${mib(s.heapUsed.start)} | ${mib(s.heapUsed.end)} | ${mib(s.heapUsed.max)} | ${num(s.heapUsedSlopeBytesPerSec)} B/s |`,
      '',
      `Retained heap after a full GC: ${mib(s.retainedHeap.before)} before, ${mib(s.retainedHeap.after)} after — ${s.flat ? 'flat' : 'not flat'}.`,
      '',
    );
  }
  if (r.profile !== null) out.push(...formatProfile(r.profile).trimEnd().split('\n'), '');
  return `${out.join('\n')}\n`;
}

/** The top self-time functions of a target profile, as a Markdown table. */
export function formatProfile(p: ProfileResult): string {
  const out = [
    `Target CPU profile (V8 sampling profiler in the warm target over one ${p.workload} run: ${num(p.iops)} IOPS, ${p.serverCpuUsPerIo.toFixed(2)} µs CPU per I/O; busy ${num(p.busyMs)} ms, idle ${num(p.idleMs)} ms), top self time:`,
    '',
    '| function | self ms | % of busy | µs per I/O |',
    '| --- | ---: | ---: | ---: |',
    ...p.top.map((r) => `| \`${r.name}\` | ${num(r.selfMs)} | ${r.percent.toFixed(1)} | ${r.usPerIo.toFixed(3)} |`),
  ];
  return `${out.join('\n')}\n`;
}
