/**
 * nvmu-perf's own cost. Three measurements, 4 KiB random reads from a null bdev:
 *
 * 1. In-process over the loopback transport: IOPS, latency and CPU µs per I/O of the whole
 *    process (nvmu-perf + client + loopback + target core).
 * 2. The same with a minimal submit loop on the client's callback path (no histogram, no
 *    random offsets, no statistics) measured in the same run: the difference is what
 *    nvmu-perf itself adds per I/O.
 * 3. Over NVMe/TCP on 127.0.0.1 with the target in a child process: CPU µs per I/O split
 *    between the tool process (nvmu-perf + client + TCP host) and the target process.
 *
 * Run: `pnpm --filter @nvmu/perf bench` (NVMU_BENCH_SECONDS=3 per point by default).
 */
import '@nvmu/transport-loopback/host';
import '@nvmu/transport-tcp/host';
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { type IoCallback, connect } from '@nvmu/client';
import { NullBdev, Target } from '@nvmu/nvmf';
import { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { runPerf } from '../src/run.js';
import { freePort } from '@nvmu/test-kit';

const SECONDS = Number(process.env.NVMU_BENCH_SECONDS ?? '3');
const DEPTHS = [1, 32, 128];
const IO_SIZE = 4096;

interface Row {
  readonly name: string;
  readonly qd: number;
  readonly iops: number;
  readonly p50: number;
  readonly p99: number;
  readonly toolCpuPerIo: number;
  readonly targetCpuPerIo: number | undefined;
}

const rows: Row[] = [];

async function loopbackTarget(): Promise<{ trid: string; close: () => Promise<void> }> {
  const target = new Target();
  await target.addTransport(new LoopbackTargetTransport({ maxQueueDepth: 256 }));
  const nqn = 'nqn.2026-11.io.nvmu:perf-bench';
  const sub = target.createSubsystem({ nqn, allowAnyHost: true });
  const bdev = new NullBdev({ name: 'Null0', blockSize: 512, numBlocks: 1 << 21 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  await sub.addListener({ trtype: 'loopback', adrfam: 'intra-host', traddr: 'perf-bench', trsvcid: '' });
  sub.start();
  return { trid: `trtype:loopback traddr:perf-bench subnqn:${nqn}`, close: () => target.close() };
}

/** The minimal loop: keep `qd` reads in flight on one qpair, count completions. */
async function baseline(trid: string, qd: number): Promise<{ iops: number; cpuPerIo: number }> {
  const ctrl = await connect(trid, { ioQueueSize: qd + 1, defaultIoQPair: false, reconnect: false });
  try {
    const qp = await ctrl.allocIoQPair({ queueSize: qd + 1 });
    const ns = ctrl.namespace(1);
    if (ns === undefined) throw new Error('no namespace 1');
    const nlb = IO_SIZE / ns.blockSize;
    const units = Math.floor(ns.blockCount / nlb);
    const bufs = Array.from({ length: qd }, () => new Uint8Array(IO_SIZE));
    let done = 0;
    let next = 0;
    let end = 0;
    let outstanding = 0;
    let finish: () => void = () => undefined;
    const cb: IoCallback<number> = (_err, slot) => {
      done++;
      if (performance.now() < end) {
        next = next + 1 === units ? 0 : next + 1;
        qp.submitRead(ns, next * nlb, nlb, bufs[slot]!, cb, slot);
      } else if (--outstanding === 0) finish();
    };
    const finished = new Promise<void>((r) => (finish = r));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    end = t0 + SECONDS * 1000;
    for (let s = 0; s < qd; s++) {
      outstanding++;
      qp.submitRead(ns, s * nlb, nlb, bufs[s]!, cb, s);
    }
    await finished;
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { iops: done / secs, cpuPerIo: (cpu.user + cpu.system) / done };
  } finally {
    await ctrl.close();
  }
}


function ask<T>(child: ChildProcess, msg: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && key in m) {
        child.off('message', on);
        resolve((m as Record<string, T>)[key] as T);
      }
    };
    child.on('message', on);
    if (msg !== '') child.send(msg);
  });
}

async function main(): Promise<void> {
  process.stderr.write(`nvmu-perf overhead bench: 4 KiB randread, null bdev, ${SECONDS} s per point\n`);
  // 1 + 2: in-process loopback.
  const lb = await loopbackTarget();
  try {
    // Warm-up so JIT compilation is not measured.
    await runPerf({ trids: [lb.trid], timeSeconds: 1, queueDepth: 32, progress: false });
    for (const qd of DEPTHS) {
      const r = await runPerf({ trids: [lb.trid], timeSeconds: SECONDS, queueDepth: qd, ioSize: IO_SIZE, workload: 'randread', progress: false });
      rows.push({ name: 'loopback, nvmu-perf', qd, iops: r.total.iops, p50: r.total.latencyUs.p50, p99: r.total.latencyUs.p99, toolCpuPerIo: r.cpu.perIoUs, targetCpuPerIo: undefined });
      const b = await baseline(lb.trid, qd);
      rows.push({ name: 'loopback, minimal loop', qd, iops: b.iops, p50: NaN, p99: NaN, toolCpuPerIo: b.cpuPerIo, targetCpuPerIo: undefined });
    }
  } finally {
    await lb.close();
  }

  // 3: NVMe/TCP, target in a child process.
  const port = await freePort();
  const child = fork(fileURLToPath(new URL('./target-child.js', import.meta.url)), [String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const nqn = await ask<string>(child, '', 'nqn');
    const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`;
    await runPerf({ trids: [trid], timeSeconds: 1, queueDepth: 32, progress: false });
    for (const qd of DEPTHS) {
      const c0 = await ask<NodeJS.CpuUsage>(child, 'cpu', 'cpu');
      const r = await runPerf({ trids: [trid], timeSeconds: SECONDS, queueDepth: qd, ioSize: IO_SIZE, workload: 'randread', progress: false });
      const c1 = await ask<NodeJS.CpuUsage>(child, 'cpu', 'cpu');
      // The target's figure includes connect and shutdown of the run (a few ms, amortised).
      const targetUs = c1.user - c0.user + (c1.system - c0.system);
      rows.push({
        name: 'tcp, nvmu-perf (target in a child process)',
        qd,
        iops: r.total.iops,
        p50: r.total.latencyUs.p50,
        p99: r.total.latencyUs.p99,
        toolCpuPerIo: r.cpu.perIoUs,
        targetCpuPerIo: targetUs / r.total.ios,
      });
    }
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }

  const f = (v: number | undefined, d = 2): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  const lines = [
    '| setup | QD | IOPS | p50 µs | p99 µs | tool CPU µs/IO | target CPU µs/IO |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${r.qd} | ${Math.round(r.iops)} | ${f(r.p50, 1)} | ${f(r.p99, 1)} | ${f(r.toolCpuPerIo)} | ${f(r.targetCpuPerIo)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const qd of DEPTHS) {
    const p = rows.find((r) => r.name === 'loopback, nvmu-perf' && r.qd === qd);
    const b = rows.find((r) => r.name === 'loopback, minimal loop' && r.qd === qd);
    if (p !== undefined && b !== undefined) {
      process.stdout.write(`QD ${qd}: nvmu-perf adds ${(p.toolCpuPerIo - b.toolCpuPerIo).toFixed(2)} µs CPU per I/O over the minimal loop (loopback, whole process)\n`);
    }
  }
}

await main();
