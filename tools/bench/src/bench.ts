/**
 * The bench: nvmu's target (null bdev, own process on CPU 0) driven by nvmu-perf (the real CLI,
 * --json, on CPU 1) over NVMe/TCP and over vfio-user, each interleaved with its ceiling: for TCP
 * a raw-TCP request/response pair carrying the same bytes without NVMe, for vfio-user a pair of
 * processes servicing the same shared-memory rings without NVMe (server on CPU 0, client on
 * CPU 1); then a memory soak of the target under nvmu-perf.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerChild, type Pinning, detectPinning, freePort, pinnedCommand, runToEnd } from './child.js';
import { type CpuProfile, type SelfTimeRow, topSelfTime } from './profile.js';
import { BENCH_NQN, type ChildStats } from './protocol.js';
import { type MachineInfo, type SystemCpu, machineInfo, median, slope, systemCpu } from './stats.js';

/** One workload, run the same way over nvmu and over the raw pair. */
export interface WorkloadSpec {
  readonly id: string;
  readonly label: string;
  /** The transport nvmu-perf uses; it also picks the ceiling (raw TCP, or shared-memory rings). Default tcp. */
  readonly transport?: 'tcp' | 'vfio-user';
  /** I/O queues (nvmu-perf's -P; the ring ceiling's --queues), the queue depth spread over them. Default 1. */
  readonly queues?: number;
  /** nvmu-perf's -w. */
  readonly rw: 'randread' | 'randwrite' | 'read';
  readonly ioSize: number;
  readonly queueDepth: number;
  /** The figure the ratio is taken on. */
  readonly metric: 'iops' | 'mibps';
  /** The driver's busy-poll window, µs (nvmu-perf's --busy-poll, raw-client's --busy-poll); absent or 0: off. */
  readonly clientBusyPollUs?: number;
  /** raw-client's --busy-poll-mode: recvInto (native, the default) or an event loop kept turning (loop). */
  readonly clientBusyPollMode?: 'native' | 'loop';
}

export const DEFAULT_WORKLOADS: readonly WorkloadSpec[] = [
  { id: 'randread-4k-qd1', label: '4 KiB random read, QD 1', rw: 'randread', ioSize: 4096, queueDepth: 1, metric: 'iops' },
  { id: 'randread-4k-qd128', label: '4 KiB random read, QD 128', rw: 'randread', ioSize: 4096, queueDepth: 128, metric: 'iops' },
  { id: 'randwrite-4k-qd128', label: '4 KiB random write, QD 128', rw: 'randwrite', ioSize: 4096, queueDepth: 128, metric: 'iops' },
  { id: 'read-128k-qd32', label: '128 KiB sequential read, QD 32', rw: 'read', ioSize: 131072, queueDepth: 32, metric: 'mibps' },
  { id: 'vfu-randread-4k-qd1', label: 'vfio-user: 4 KiB random read, QD 1', transport: 'vfio-user', rw: 'randread', ioSize: 4096, queueDepth: 1, metric: 'iops' },
  { id: 'vfu-randread-4k-qd128', label: 'vfio-user: 4 KiB random read, QD 128', transport: 'vfio-user', rw: 'randread', ioSize: 4096, queueDepth: 128, metric: 'iops' },
  { id: 'vfu-randread-4k-qd128-4q', label: 'vfio-user: 4 KiB random read, QD 128 over 4 queues', transport: 'vfio-user', queues: 4, rw: 'randread', ioSize: 4096, queueDepth: 128, metric: 'iops' },
  { id: 'vfu-randwrite-4k-qd128', label: 'vfio-user: 4 KiB random write, QD 128', transport: 'vfio-user', rw: 'randwrite', ioSize: 4096, queueDepth: 128, metric: 'iops' },
  { id: 'vfu-read-128k-qd32', label: 'vfio-user: 128 KiB sequential read, QD 32', transport: 'vfio-user', rw: 'read', ioSize: 131072, queueDepth: 32, metric: 'mibps' },
];

export interface BenchOptions {
  /** Measured seconds per run (default 5). */
  readonly seconds: number;
  /** Unmeasured seconds before each run (default 1). */
  readonly warmupSeconds: number;
  /** nvmu/raw pairs per workload (default 3). */
  readonly repetitions: number;
  /** Length of the memory soak, seconds (default 60; 0 skips it). */
  readonly soakSeconds: number;
  /** Replaces every queue depth above 1 (for quick runs); undefined keeps the workloads'. */
  readonly queueDepth: number | undefined;
  readonly workloads: readonly WorkloadSpec[];
  /** Where the JSON goes; undefined writes nothing. */
  readonly outFile: string | undefined;
  /** The command line recorded in the report. */
  readonly command: string;
  /** When set, the warm target is profiled over one more run of the goal workload; profiles go here. */
  readonly profileDir: string | undefined;
  /** The workload profiled (an id of `workloads`); default the goal workload (4 KiB random read, QD > 1). */
  readonly profileWorkload: string | undefined;
  /** The soak's I/O: 4 KiB random reads (default) or random writes. */
  readonly soakRw: 'randread' | 'randwrite';
  /** Progress lines (default: stderr). */
  readonly log: (line: string) => void;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  seconds: 5,
  warmupSeconds: 1,
  repetitions: 3,
  soakSeconds: 60,
  queueDepth: undefined,
  workloads: DEFAULT_WORKLOADS,
  outFile: undefined,
  profileDir: undefined,
  profileWorkload: undefined,
  soakRw: 'randread',
  command: 'pnpm bench',
  log: (line) => process.stderr.write(`${line}\n`),
};

/** One run of one side (nvmu or raw). */
export interface RunFigures {
  readonly iops: number;
  readonly mibps: number;
  readonly latencyUs: { readonly avg: number; readonly p50: number; readonly p99: number };
  /** I/Os completed in the measured window. */
  readonly ios: number;
  /** CPU time of the serving process (target / raw server) per request it served, warm-up included. */
  readonly serverCpuUsPerIo: number;
  /** CPU time of the driving process (nvmu-perf / raw client) per I/O in the measured window. */
  readonly clientCpuUsPerIo: number;
  /**
   * CPUs' worth of CPU time that other processes used during the run (the machine's /proc/stat
   * busy time minus this run's server and driver): how much the run was disturbed. 0 where
   * /proc/stat is missing; around 0 (either sign) means undisturbed.
   */
  readonly otherCpuCores: number;
  /** CPUs' worth of steal time during the run (the hypervisor running other guests). */
  readonly stealCores: number;
}

export interface PairResult {
  readonly repetition: number;
  readonly nvmu: RunFigures;
  readonly raw: RunFigures;
  /** nvmu / raw on the workload's metric. */
  readonly ratio: number;
}

export interface WorkloadResult extends WorkloadSpec {
  readonly pairs: readonly PairResult[];
  /** Medians over the pairs of every figure, and the median of the per-pair ratios. */
  readonly median: {
    readonly nvmu: RunFigures;
    readonly raw: RunFigures;
    readonly ratio: number;
    /**
     * Median over the pairs of raw server CPU per I/O / target CPU per I/O: the target's cost
     * against the least a server can spend, less sensitive to other load than the throughput.
     */
    readonly serverCpuRatio: number;
  };
}

export interface MemorySample {
  /** Seconds since the soak's nvmu-perf was started. */
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface MinMax {
  readonly start: number;
  readonly end: number;
  readonly max: number;
}

export interface SoakResult {
  readonly seconds: number;
  readonly workload: string;
  readonly iops: number;
  readonly samples: readonly MemorySample[];
  readonly rss: MinMax;
  readonly heapUsed: MinMax;
  /** Least-squares slope over the second half of the samples, bytes per second. */
  readonly heapUsedSlopeBytesPerSec: number;
  readonly rssSlopeBytesPerSec: number;
  /** heapUsed after a full GC, before the soak and after it (the retained heap). */
  readonly retainedHeap: { readonly before: number; readonly after: number };
  /** Verdict: second-half heapUsed slope under 64 KiB/s and retained heap grown under 4 MiB. */
  readonly flat: boolean;
}

export interface BenchResult {
  readonly version: 1;
  readonly tool: 'nvmu-bench';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: MachineInfo & { readonly pinned: boolean; readonly pinning: string; readonly loadAverage1mAtStart: number };
  readonly config: {
    readonly seconds: number;
    readonly warmupSeconds: number;
    readonly repetitions: number;
    readonly soakSeconds: number;
  };
  readonly workloads: readonly WorkloadResult[];
  readonly soak: SoakResult | null;
  /** The issue's goal: 4 KiB random read at QD 128 at least 60 % of the raw ceiling. */
  readonly goal: { readonly workload: string; readonly minRatio: number; readonly ratio: number; readonly met: boolean } | null;
  /** The target's top self-time functions over one run of the goal workload (profileDir set). */
  readonly profile: ProfileResult | null;
}

const here = dirname(fileURLToPath(import.meta.url));
/**
 * Built files, so this works from src/ (tests) and from dist/ alike. NVMU_BENCH_TARGET_CHILD
 * names another build's target-child.js (e.g. main's, built in a scratch worktree), so two
 * builds of the target can be compared under the same driver and ceiling.
 */
export const TARGET_CHILD = process.env.NVMU_BENCH_TARGET_CHILD ?? join(here, '../dist/target-child.js');
export const RAW_SERVER = join(here, '../bench/raw-server.mjs');
export const RAW_CLIENT = join(here, '../bench/raw-client.mjs');
export const SHM_SERVER = join(here, '../bench/shm-ring-server.mjs');
export const SHM_CLIENT = join(here, '../bench/shm-ring-client.mjs');
/** nvmu-perf's CLI, from its package. */
export const PERF_MAIN = join(dirname(fileURLToPath(import.meta.resolve('@nvmu/perf/package.json'))), 'dist/main.js');

/** How long a run of `seconds` may take before it is killed: connect, drain and a busy machine included. */
const limitMs = (seconds: number): number => (seconds + 120) * 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running target: its process, TCP port, subsystem NQN and (when asked for) vfio-user socket directory. */
export interface BenchTarget {
  readonly child: ServerChild;
  readonly port: number;
  readonly nqn: string;
  readonly vfioUserDir?: string | undefined;
}

/** The nvmu target in its child process (pinned to CPU 0), listening on a free port (and on `vfioUserDir` for vfio-user). */
export async function startTarget(pinning: Pinning, nodeFlags: readonly string[] = [], vfioUserDir?: string): Promise<BenchTarget> {
  const port = await freePort();
  const { child, hello } = await ServerChild.start('target', pinning, 0, ['--expose-gc', ...nodeFlags, TARGET_CHILD, String(port), BENCH_NQN, ...(vfioUserDir === undefined ? [] : [vfioUserDir])]);
  return { child, port, nqn: String(hello.nqn), vfioUserDir };
}

/**
 * Runs `fn` with a target child (pinned to CPU 0) listening on vfio-user in a fresh temporary
 * directory (`dir`, the socket directory), then stops the target and removes the directory.
 */
export async function withVfioUserTarget<T>(pinning: Pinning, nodeFlags: readonly string[], fn: (target: BenchTarget, dir: string) => Promise<T>): Promise<T> {
  const tmp = await mkdtemp(join(tmpdir(), 'nvmu-vfu-'));
  const dir = join(tmp, 'vfu0');
  try {
    const target = await startTarget(pinning, nodeFlags, dir);
    try {
      return await fn(target, dir);
    } finally {
      await target.child.stop();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The shared-memory ring ceiling's server in its child process (pinned to CPU 0), on a socket at `path`. */
export async function startShmServer(pinning: Pinning, path: string): Promise<{ child: ServerChild; path: string }> {
  const { child } = await ServerChild.start('shm-ring-server', pinning, 0, [SHM_SERVER, path]);
  return { child, path };
}

/** The transport ID nvmu-perf gets for a workload: SPDK's forms for TCP and vfio-user. */
export function benchTrid(target: BenchTarget, w: WorkloadSpec): string {
  if (w.transport === 'vfio-user') {
    if (target.vfioUserDir === undefined) throw new Error(`${w.id}: the target was started without a vfio-user listener`);
    return `trtype:vfiouser traddr:${target.vfioUserDir} subnqn:${target.nqn}`;
  }
  return `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${target.port} subnqn:${target.nqn}`;
}

/** The raw server in its child process (pinned to CPU 0). */
export async function startRawServer(pinning: Pinning): Promise<{ child: ServerChild; port: number }> {
  const { child, hello } = await ServerChild.start('raw-server', pinning, 0, [RAW_SERVER, '127.0.0.1', '0']);
  return { child, port: Number(hello.port) };
}

/** nvmu-perf's arguments for a workload. */
export function perfArgs(trid: string, w: WorkloadSpec, seconds: number, warmupSeconds: number): string[] {
  return [
    '-r',
    trid,
    '-q',
    String(w.queueDepth),
    ...((w.queues ?? 1) > 1 ? ['-P', String(w.queues)] : []),
    '-o',
    String(w.ioSize),
    '-w',
    w.rw,
    '-t',
    String(seconds),
    '-a',
    String(warmupSeconds),
    '--json',
    '--no-progress',
    ...((w.clientBusyPollUs ?? 0) > 0 ? ['--busy-poll', String(w.clientBusyPollUs)] : []),
  ];
}

interface PerfJson {
  readonly ok: boolean;
  readonly total: { readonly ios: number; readonly errors: number; readonly iops: number; readonly mibps: number; readonly latencyUs: { readonly avg: number; readonly p50: number; readonly p99: number } };
  readonly cpu: { readonly perIoUs: number };
  readonly firstErrors: readonly string[];
}

/** Other processes' CPU use and steal over a run, from the machine's counters and this run's own CPU. */
function disturbance(
  sys0: SystemCpu | undefined,
  s0: ChildStats,
  s1: ChildStats,
  client: { readonly cpuUsPerIo: number; readonly iops: number },
): { otherCpuCores: number; stealCores: number } {
  const sys1 = systemCpu();
  if (sys0 === undefined || sys1 === undefined) return { otherCpuCores: 0, stealCores: 0 };
  const wall = (sys1.at - sys0.at) / 1000;
  if (wall <= 0) return { otherCpuCores: 0, stealCores: 0 };
  const server = (s1.cpuUs - s0.cpuUs) / 1e6 / wall;
  // The driver's CPU rate in the measured window stands for its whole life (connect, warm-up).
  const driver = (client.cpuUsPerIo * client.iops) / 1e6;
  return { otherCpuCores: (sys1.busy - sys0.busy) / wall - server - driver, stealCores: (sys1.steal - sys0.steal) / wall };
}

function serverCpu(s0: ChildStats, s1: ChildStats): number {
  const ios = s1.ios - s0.ios;
  return ios > 0 ? (s1.cpuUs - s0.cpuUs) / ios : 0;
}

/** One nvmu-perf run (CPU 1) against the target. */
export async function runNvmu(pinning: Pinning, target: BenchTarget, w: WorkloadSpec, seconds: number, warmupSeconds: number): Promise<RunFigures> {
  const s0 = await target.child.stats();
  const sys0 = systemCpu();
  const [cmd, args] = pinnedCommand(pinning, 1, [PERF_MAIN, ...perfArgs(benchTrid(target, w), w, seconds, warmupSeconds)]);
  const out = await runToEnd(cmd, args, 'nvmu-perf', limitMs(seconds + warmupSeconds));
  const s1 = await target.child.stats();
  const r = JSON.parse(out) as PerfJson;
  if (!r.ok || r.total.errors > 0 || r.total.ios === 0) throw new Error(`nvmu-perf ${w.id}: ${r.total.errors} errors, ${r.total.ios} I/Os: ${r.firstErrors.join('; ')}`);
  const l = r.total.latencyUs;
  return {
    iops: r.total.iops,
    mibps: r.total.mibps,
    latencyUs: { avg: l.avg, p50: l.p50, p99: l.p99 },
    ios: r.total.ios,
    serverCpuUsPerIo: serverCpu(s0, s1),
    clientCpuUsPerIo: r.cpu.perIoUs,
    ...disturbance(sys0, s0, s1, { cpuUsPerIo: r.cpu.perIoUs, iops: r.total.iops }),
  };
}

interface RawJson {
  readonly ios: number;
  readonly iops: number;
  readonly mibps: number;
  readonly latencyUs: { readonly avg: number; readonly p50: number; readonly p99: number };
  readonly cpu: { readonly perIoUs: number };
}

/** raw-client.mjs's arguments for a workload. */
export function rawClientArgs(port: number, w: WorkloadSpec, seconds: number, warmupSeconds: number): string[] {
  return [
    '--port',
    String(port),
    '--mode',
    w.rw === 'randwrite' ? 'write' : 'read',
    '--size',
    String(w.ioSize),
    '--qd',
    String(w.queueDepth),
    '--seconds',
    String(seconds),
    '--warmup',
    String(warmupSeconds),
    '--pattern',
    w.rw === 'read' ? 'seq' : 'rand',
    ...((w.clientBusyPollUs ?? 0) > 0 ? ['--busy-poll', String(w.clientBusyPollUs), '--busy-poll-mode', w.clientBusyPollMode ?? 'native'] : []),
  ];
}

/** shm-ring-client.mjs's arguments for a workload. */
export function shmClientArgs(path: string, w: WorkloadSpec, seconds: number, warmupSeconds: number): string[] {
  return ['--path', path, '--size', String(w.ioSize), '--qd', String(w.queueDepth), '--queues', String(w.queues ?? 1), '--seconds', String(seconds), '--warmup', String(warmupSeconds)];
}

/** One ceiling run (CPU 1): raw-client against the raw server, or the ring client against the ring server. */
export async function runRaw(pinning: Pinning, raw: { child: ServerChild; port?: number; path?: string }, w: WorkloadSpec, seconds: number, warmupSeconds: number): Promise<RunFigures> {
  const s0 = await raw.child.stats();
  const sys0 = systemCpu();
  const clientArgs = raw.path !== undefined ? [SHM_CLIENT, ...shmClientArgs(raw.path, w, seconds, warmupSeconds)] : [RAW_CLIENT, ...rawClientArgs(raw.port ?? 0, w, seconds, warmupSeconds)];
  const [cmd, args] = pinnedCommand(pinning, 1, clientArgs);
  const out = await runToEnd(cmd, args, raw.path !== undefined ? 'shm-ring-client' : 'raw-client', limitMs(seconds + warmupSeconds));
  const s1 = await raw.child.stats();
  const r = JSON.parse(out) as RawJson;
  if (r.ios === 0) throw new Error(`raw-client ${w.id}: no I/O completed`);
  return {
    iops: r.iops,
    mibps: r.mibps,
    latencyUs: r.latencyUs,
    ios: r.ios,
    serverCpuUsPerIo: serverCpu(s0, s1),
    clientCpuUsPerIo: r.cpu.perIoUs,
    ...disturbance(sys0, s0, s1, { cpuUsPerIo: r.cpu.perIoUs, iops: r.iops }),
  };
}

function medianFigures(runs: readonly RunFigures[]): RunFigures {
  const m = (f: (r: RunFigures) => number): number => median(runs.map(f));
  return {
    iops: m((r) => r.iops),
    mibps: m((r) => r.mibps),
    latencyUs: { avg: m((r) => r.latencyUs.avg), p50: m((r) => r.latencyUs.p50), p99: m((r) => r.latencyUs.p99) },
    ios: m((r) => r.ios),
    serverCpuUsPerIo: m((r) => r.serverCpuUsPerIo),
    clientCpuUsPerIo: m((r) => r.clientCpuUsPerIo),
    otherCpuCores: m((r) => r.otherCpuCores),
    stealCores: m((r) => r.stealCores),
  };
}

function minMax(values: readonly number[]): MinMax {
  return { start: values[0] ?? 0, end: values.at(-1) ?? 0, max: Math.max(...values) };
}

/** nvmu-perf 4 KiB random reads (or writes) at QD 128 for `seconds` while the target's memory is sampled once a second. */
export async function runSoak(pinning: Pinning, target: BenchTarget, seconds: number, queueDepth = 128, rw: 'randread' | 'randwrite' = 'randread'): Promise<SoakResult> {
  const w: WorkloadSpec = { id: `${rw}-4k-qd${queueDepth}`, label: '', rw, ioSize: 4096, queueDepth, metric: 'iops' };
  const before = await target.child.stats(true);
  const [cmd, args] = pinnedCommand(pinning, 1, [PERF_MAIN, ...perfArgs(benchTrid(target, w), w, seconds, 0)]);
  const t0 = performance.now();
  let finished = false;
  const perf = runToEnd(cmd, args, 'nvmu-perf (soak)', limitMs(seconds)).finally(() => {
    finished = true;
  });
  // A function, so the loop sees the change made by the promise's callback.
  const running = (): boolean => !finished;
  const samples: MemorySample[] = [];
  const take = async (): Promise<void> => {
    const s = await target.child.stats();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = s.mem;
    samples.push({ t: (performance.now() - t0) / 1000, rss, heapUsed, heapTotal, external, arrayBuffers });
  };
  await take();
  let next = t0 + 1000;
  while (running()) {
    await Promise.race([sleep(Math.max(0, next - performance.now())), perf.catch(() => undefined)]);
    if (!running()) break;
    await take();
    next += 1000;
  }
  const r = JSON.parse(await perf) as PerfJson;
  if (!r.ok || r.total.ios === 0) throw new Error(`nvmu-perf (soak): ${r.total.errors} errors, ${r.total.ios} I/Os`);
  const after = await target.child.stats(true);
  const half = samples.filter((s) => s.t >= seconds / 2);
  const heapSlope = slope(
    half.map((s) => s.t),
    half.map((s) => s.heapUsed),
  );
  const rssSlope = slope(
    half.map((s) => s.t),
    half.map((s) => s.rss),
  );
  const retainedHeap = { before: before.mem.heapUsed, after: after.mem.heapUsed };
  return {
    seconds,
    workload: w.id,
    iops: r.total.iops,
    samples,
    rss: minMax(samples.map((s) => s.rss)),
    heapUsed: minMax(samples.map((s) => s.heapUsed)),
    heapUsedSlopeBytesPerSec: heapSlope,
    rssSlopeBytesPerSec: rssSlope,
    retainedHeap,
    flat: heapSlope < 64 * 1024 && retainedHeap.after - retainedHeap.before < 4 * 1024 * 1024,
  };
}

/** The whole bench: every workload × repetitions as nvmu/raw pairs, then the soak. */
export async function runBench(input: Partial<BenchOptions> = {}): Promise<BenchResult> {
  const o: BenchOptions = { ...DEFAULT_BENCH_OPTIONS, ...input };
  const startedAt = new Date().toISOString();
  // Other work on the machine skews everything: the report says how busy it was.
  const loadAverage1mAtStart = loadavg()[0] ?? 0;
  const pinning = detectPinning();
  if (!pinning.enabled) o.log(`note: ${pinning.note}`);
  const workloads = o.workloads.map((w) => (o.queueDepth !== undefined && w.queueDepth > 1 ? { ...w, queueDepth: o.queueDepth, label: w.label.replace(/QD \d+/, `QD ${o.queueDepth}`), id: w.id.replace(/qd\d+/, `qd${o.queueDepth}`) } : w));
  const vfu = workloads.some((w) => w.transport === 'vfio-user');
  const tmp = await mkdtemp(join(tmpdir(), 'nvmu-bench-'));
  const target = await startTarget(pinning, [], vfu ? join(tmp, 'vfu0') : undefined);
  const raw = await startRawServer(pinning).catch(async (e: unknown) => {
    await target.child.stop();
    throw e;
  });
  const shm = vfu
    ? await startShmServer(pinning, join(tmp, 'ring.sock')).catch(async (e: unknown) => {
        await Promise.all([target.child.stop(), raw.child.stop()]);
        throw e;
      })
    : undefined;
  try {
    const results: WorkloadResult[] = [];
    for (const w of workloads) {
      const pairs: PairResult[] = [];
      for (let rep = 1; rep <= o.repetitions; rep++) {
        const nvmu = await runNvmu(pinning, target, w, o.seconds, o.warmupSeconds);
        const rawFig = await runRaw(pinning, w.transport === 'vfio-user' && shm !== undefined ? shm : raw, w, o.seconds, o.warmupSeconds);
        const ratio = nvmu[w.metric] / rawFig[w.metric];
        pairs.push({ repetition: rep, nvmu, raw: rawFig, ratio });
        const unit = w.metric === 'iops' ? 'IOPS' : 'MiB/s';
        const other = (f: RunFigures): string => `other load ${f.otherCpuCores.toFixed(2)} CPUs${f.stealCores >= 0.05 ? `, steal ${f.stealCores.toFixed(2)}` : ''}`;
        o.log(`${w.id} #${rep}: nvmu ${nvmu[w.metric].toFixed(0)} ${unit} (${other(nvmu)}), raw ${rawFig[w.metric].toFixed(0)} ${unit} (${other(rawFig)}), ratio ${ratio.toFixed(3)}`);
      }
      results.push({
        ...w,
        pairs,
        median: {
          nvmu: medianFigures(pairs.map((p) => p.nvmu)),
          raw: medianFigures(pairs.map((p) => p.raw)),
          ratio: median(pairs.map((p) => p.ratio)),
          serverCpuRatio: median(pairs.map((p) => p.raw.serverCpuUsPerIo / p.nvmu.serverCpuUsPerIo)),
        },
      });
    }
    let soak: SoakResult | null = null;
    if (o.soakSeconds > 0) {
      const qd = o.queueDepth ?? 128;
      o.log(`soak: ${o.soakSeconds} s of 4 KiB ${o.soakRw} QD ${qd}, target memory sampled once a second`);
      soak = await runSoak(pinning, target, o.soakSeconds, qd, o.soakRw);
    }
    const g = results.find((r) => r.transport !== 'vfio-user' && r.rw === 'randread' && r.ioSize === 4096 && r.queueDepth > 1);
    const pw = o.profileWorkload === undefined ? g : workloads.find((w) => w.id === o.profileWorkload);
    let profile: ProfileResult | null = null;
    if (o.profileDir !== undefined && pw !== undefined) {
      o.log(`profile: the target under V8's CPU profiler over one ${o.seconds} s ${pw.id} run`);
      profile = await profileTarget(pinning, target, o.profileDir, pw, o.seconds, o.warmupSeconds);
    }
    const result: BenchResult = {
      version: 1,
      tool: 'nvmu-bench',
      startedAt,
      finishedAt: new Date().toISOString(),
      command: o.command,
      machine: { ...machineInfo(), pinned: pinning.enabled, pinning: pinning.note, loadAverage1mAtStart },
      config: { seconds: o.seconds, warmupSeconds: o.warmupSeconds, repetitions: o.repetitions, soakSeconds: o.soakSeconds },
      workloads: results,
      soak,
      goal: g === undefined ? null : { workload: g.id, minRatio: 0.6, ratio: g.median.ratio, met: g.median.ratio >= 0.6 },
      profile,
    };
    if (o.outFile !== undefined) {
      await mkdir(dirname(o.outFile), { recursive: true });
      await writeFile(o.outFile, `${JSON.stringify(result, null, 2)}\n`);
    }
    return result;
  } finally {
    await Promise.all([target.child.stop(), raw.child.stop(), shm?.child.stop()]);
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A CPU profile of the target over one nvmu-perf run: its top self-time functions. */
export interface ProfileResult {
  readonly workload: string;
  readonly iops: number;
  /** Requests the target served while profiled. */
  readonly ios: number;
  readonly serverCpuUsPerIo: number;
  readonly busyMs: number;
  readonly idleMs: number;
  /** Each function's self time, also per request served (µs). */
  readonly top: readonly (SelfTimeRow & { readonly usPerIo: number })[];
  readonly profileFile: string;
}

/**
 * Profiles the (warm) target with V8's sampling profiler over exactly one nvmu-perf run (its
 * warm-up included) and reads the profile back. The profile goes to `dir`.
 */
export async function profileTarget(
  pinning: Pinning,
  target: BenchTarget,
  dir: string,
  w: WorkloadSpec,
  seconds: number,
  warmupSeconds: number,
  top = 10,
): Promise<ProfileResult> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `target-${w.id}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  const s0 = await target.child.stats();
  await target.child.request('profile start');
  let fig: RunFigures;
  try {
    fig = await runNvmu(pinning, target, w, seconds, warmupSeconds);
  } finally {
    await target.child.request(`profile stop ${file}`);
  }
  const s1 = await target.child.stats();
  const ios = s1.ios - s0.ios;
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const t = topSelfTime(profile, top);
  return {
    workload: w.id,
    iops: fig.iops,
    ios,
    serverCpuUsPerIo: fig.serverCpuUsPerIo,
    busyMs: t.busyMs,
    idleMs: t.idleMs,
    top: t.rows.map((r) => ({ ...r, usPerIo: ios > 0 ? (r.selfMs * 1000) / ios : 0 })),
    profileFile: file,
  };
}
