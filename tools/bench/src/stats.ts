/** Small statistics and machine facts for the bench report. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { GCProfiler } from 'node:v8';

/** USER_HZ: the unit of /proc/<pid>/stat's utime and stime (100 on every Linux architecture nvmu runs on). */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of `pid`, seconds (proc(5): fields 14 and 15, counted after the command name's closing parenthesis). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field n is fields[n - 3].
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** Median of the values (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    num += dx * (ys[i]! - my);
    den += dx * dx;
  }
  return den === 0 ? 0 : num / den;
}

/** The machine a result was measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly kernel: string;
  readonly node: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) cpuModel = m[1].trim();
  } catch {
    // not Linux: os.cpus() is all there is
  }
  return { cpuModel, cores: availableParallelism(), kernel: release(), node: process.version };
}

/** Whole-machine CPU time from /proc/stat's "cpu" line, in seconds (USER_HZ = 100 on Linux). */
export interface SystemCpu {
  /** user + nice + system + irq + softirq (a process's system time includes the softirq work done in its syscalls, as loopback TCP's is). */
  readonly busy: number;
  /** Time the hypervisor ran something else while this machine wanted a CPU. */
  readonly steal: number;
  /** performance.now() when read, ms. */
  readonly at: number;
}

/** The machine's CPU counters now; undefined where /proc/stat is missing. */
export function systemCpu(): SystemCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100, at: performance.now() };
  } catch {
    return undefined;
  }
}

/**
 * Bytes this process allocates over a window: heap used at the end minus at the start, plus what
 * every GC in between freed (v8.GCProfiler), and how many GCs ran.
 */
export class AllocationWindow {
  private readonly profiler = new GCProfiler();
  private readonly startHeap: number;

  constructor() {
    this.profiler.start();
    this.startHeap = process.memoryUsage().heapUsed;
  }

  stop(): { allocated: number; gcs: number } {
    const end = process.memoryUsage().heapUsed;
    const stats = this.profiler.stop().statistics;
    let allocated = end - this.startHeap;
    for (const g of stats) allocated += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
    return { allocated, gcs: stats.length };
  }
}
