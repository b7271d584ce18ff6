#!/usr/bin/env node
/**
 * The nvmu target of the bench, in its own process (so the bench can pin it to a CPU and read
 * its CPU time and memory apart from nvmu-perf's): @nvmu/nvmf's Target with the NVMe/TCP
 * transport and one 1 GiB null-bdev namespace, listening on 127.0.0.1, and with a socket
 * directory as third argument a vfio-user listener there too (the same subsystem and namespace).
 * argv: port [nqn] [vfio-user dir]. Prints {"port","pid","nqn"} when listening. Each line "stats" on stdin is
 * answered with {"cpuUs","ios","mem","memoryTrims","memoryTrimUs","gcMs"} (process.cpuUsage(), commands the target has taken in,
 * process.memoryUsage(), the TCP transport's malloc_trim calls, the GC's wall time); "stats gc" first runs a full GC when started with --expose-gc ("stats gc-all": V8's last-resort one) (so
 * the retained heap can be compared at the start and end of the soak). "profile start" starts
 * V8's sampling CPU profiler in this process (what --cpu-prof runs, but only over the window the
 * bench asks for, so start-up and module compilation stay out); "profile stop <file>" writes the
 * .cpuprofile there and answers {"profileFile"}; "heapprofile start" / "heapprofile stop <file>"
 * do the same with the sampling heap profiler (garbage included) and answer {"heapProfileFile"}.
 * "eld start" starts perf_hooks'
 * monitorEventLoopDelay (1 ms resolution) and answers {"eld":true}; "eld stop" answers
 * {"eldMs":{"p50","p99","max","mean","count"}} (the event loop's delay over the window, ms).
 * "alloc start" / "alloc stop" bracket a window whose allocated bytes (heap used at the end
 * minus at the start plus what every GC freed, v8.GCProfiler) and GC count the second answers
 * as {"allocated","gcs"}. Exits when stdin ends.
 */
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { NullBdev, Target, type TransportLogger } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';
import { BENCH_NQN, type ChildStats } from './protocol.js';
import { AllocationWindow } from './stats.js';

const port = process.argv[2] ?? '0';
const nqn = process.argv[3] ?? BENCH_NQN;
const vfioUserDir = process.argv[4];
/** NVMU_BENCH_TARGET_LOG=<file>: the target's info/warn/error lines appended there (e.g. the vfio-user controller's counters at detach). */
const logFile = process.env.NVMU_BENCH_TARGET_LOG;
const line = (level: string) => (msg: string, fields?: Record<string, unknown>): void => {
  if (logFile !== undefined && logFile !== '') appendFileSync(logFile, `${JSON.stringify({ level, msg, ...fields })}\n`);
};
const logger: TransportLogger = { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') };
const target = new Target({ logger });
// NVMU_BENCH_TARGET_BUSY_POLL_US: the TCP low-latency mode's window (latency.ts starts a target with it).
// NVMU_TCP_RELEASE_MEMORY=0: without the malloc_trim after connections close (the memory bench's "before").
// NVMU_BENCH_TARGET_MAX_CONNECTIONS: the transport's connection limit (the memory bench's test: a target that refuses some).
const maxConnections = process.env.NVMU_BENCH_TARGET_MAX_CONNECTIONS;
const tcp = new TcpTargetTransport({
  maxQueueDepth: 256,
  ...(maxConnections === undefined || maxConnections === '' ? {} : { maxConnections: Number(maxConnections) }),
  busyPollUs: Number(process.env.NVMU_BENCH_TARGET_BUSY_POLL_US ?? 0),
  releaseMemory: process.env.NVMU_TCP_RELEASE_MEMORY !== '0',
});
await target.addTransport(tcp);
// NVMU_BENCH_VFU_INTERRUPT=1: the vfio-user transport in interrupt mode (doorbells trapped, no timers while idle).
const interruptMode = process.env.NVMU_BENCH_VFU_INTERRUPT === '1';
if (vfioUserDir !== undefined) await target.addTransport(new VfioUserTargetTransport({ maxQueueDepth: 256, maxIoQueues: 8, interruptMode }));
const sub = target.createSubsystem({ nqn, allowAnyHost: true, serial: 'NVMUBENCH', model: 'nvmu bench' });
const bdev = new NullBdev({ name: 'Null0', blockSize: 512, numBlocks: 1 << 21 });
target.addBdev(bdev);
sub.addNamespace({ bdev, nsid: 1 });
const addr = { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: port } as const;
await target.listen(addr);
await sub.addListener(addr);
if (vfioUserDir !== undefined) await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: vfioUserDir, trsvcid: '' });
sub.start();

/** Commands taken in by every poll group (I/O plus a handful of admin commands per connect). */
function commands(): number {
  let n = 0;
  for (const g of target.getStats().pollGroups) n += g.submitted;
  return n;
}

const gc = (globalThis as { gc?: (opts?: { type: string; execution: string; flavor: string }) => void }).gc;
let session: Session | undefined;

/**
 * "profile start" / "profile stop <file>": V8's sampling CPU profiler over a window (a
 * .cpuprofile); "heapprofile start" / "heapprofile stop <file>": its sampling heap profiler,
 * garbage included (what was allocated, not only what survived; a .heapprofile). One at a time.
 */
async function profile(cmd: string): Promise<void> {
  const heap = cmd.startsWith('heapprofile ');
  if (cmd.endsWith(' start')) {
    session = new Session();
    session.connect();
    if (heap) {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    } else {
      await session.post('Profiler.enable');
      // 1 ms, --cpu-prof's default: a few thousand samples over a run is plenty for a top 10, and a
      // finer interval visibly slows the target down (100 µs cost about a third of its throughput).
      await session.post('Profiler.setSamplingInterval', { interval: 1000 });
      await session.post('Profiler.start');
    }
    process.stdout.write(`${JSON.stringify(heap ? { heapProfiling: true } : { profiling: true })}\n`);
    return;
  }
  const file = cmd.slice(cmd.indexOf(' stop ') + ' stop '.length);
  if (session === undefined) throw new Error(`${cmd}: no profile started`);
  const p = heap ? (await session.post('HeapProfiler.stopSampling')).profile : (await session.post('Profiler.stop')).profile;
  session.disconnect();
  session = undefined;
  await writeFile(file, JSON.stringify(p));
  process.stdout.write(`${JSON.stringify(heap ? { heapProfileFile: file } : { profileFile: file })}\n`);
}

let eld: ReturnType<typeof monitorEventLoopDelay> | undefined;

/** Event-loop delay over a window the bench chooses (bench:responsiveness). */
function eventLoopDelay(cmd: string): void {
  if (cmd === 'eld start') {
    eld?.disable();
    eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();
    process.stdout.write(`${JSON.stringify({ eld: true })}\n`);
    return;
  }
  const h = eld;
  eld = undefined;
  h?.disable();
  const ms = (ns: number): number => ns / 1e6;
  const eldMs = h === undefined ? null : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), count: h.count };
  process.stdout.write(`${JSON.stringify({ eldMs })}\n`);
}

let alloc: AllocationWindow | undefined;

/** "alloc start" / "alloc stop": bytes allocated and GCs over a window (bench:heap). */
function allocation(cmd: string): void {
  if (cmd === 'alloc start') {
    alloc = new AllocationWindow();
    process.stdout.write(`${JSON.stringify({ alloc: true })}\n`);
    return;
  }
  const result = alloc?.stop() ?? { allocated: 0, gcs: 0 };
  alloc = undefined;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'alloc start' || cmd === 'alloc stop') {
    allocation(cmd);
    return;
  }
  if (cmd === 'eld start' || cmd === 'eld stop') {
    eventLoopDelay(cmd);
    return;
  }
  if (cmd.startsWith('profile ') || cmd.startsWith('heapprofile ')) {
    void profile(cmd);
    return;
  }
  if (cmd !== 'stats' && cmd !== 'stats gc' && cmd !== 'stats gc-all') return;
  const t0 = performance.now();
  if (cmd === 'stats gc') gc?.();
  // V8's last-resort full GC (what it runs under memory pressure): it also gives the pages its
  // heap no longer uses back to the system, which a plain full GC keeps pooled.
  if (cmd === 'stats gc-all') gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const gcMs = performance.now() - t0;
  const u = process.cpuUsage();
  const t = tcp.stats();
  const stats: ChildStats = { cpuUs: u.user + u.system, ios: commands(), mem: process.memoryUsage(), memoryTrims: t.memoryTrims, memoryTrimUs: t.memoryTrimUs, gcMs };
  process.stdout.write(`${JSON.stringify(stats)}\n`);
});
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // process.exit() (not a bare return) so that --cpu-prof writes its profile.
  void target.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.on('SIGTERM', stop);
process.stdout.write(`${JSON.stringify({ port: Number(port), pid: process.pid, nqn })}\n`);
