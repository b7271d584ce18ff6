#!/usr/bin/env node
/**
 * Memory of the NVMe/TCP target per connection, and whether it comes back (issue 12). The
 * target runs in its own process (target-child.js with --expose-gc); every figure is its
 * `process.memoryUsage()` after a full GC.
 *
 * 1. Idle: N raw connections that send an ICReq and nothing else (what a port scan or a host
 *    that never connects costs); then closed.
 * 2. Cycles: N connections of real hosts (@nvmu/client: N / Q controllers, each with one admin
 *    queue and Q - 1 I/O queues of 128 entries), a 4 KiB write and read on every I/O queue,
 *    then all closed; repeated `NVMU_MEM_CYCLES` times. Reported: RSS and heap before the first
 *    cycle, with everything connected, and after each cycle.
 *
 * Env: NVMU_MEM_CONNECTIONS (default 1000), NVMU_MEM_QUEUES_PER_CONTROLLER (8),
 * NVMU_MEM_CYCLES (5), GLIBC_TUNABLES for the target (default a fixed mmap threshold, as the
 * daemon's start scripts set it), NVMU_TCP_RELEASE_MEMORY=0 to run the target without the
 * transport's malloc_trim after connections close (the "before"). "After GC" is V8's
 * last-resort full GC, which also returns the heap pages V8 keeps pooled after a plain one.
 * Besides process.memoryUsage(), the resident size of glibc's main heap ([heap] in
 * /proc/PID/smaps): where what RSS kept after a cycle used to stay. Prints a Markdown table and
 * one JSON line.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { connect, type Controller, type QPair } from '@nvmu/client';
import { IcReqView } from '@nvmu/nvme-spec';
import '@nvmu/transport-tcp/host';

import { ServerChild, detectPinning, freePort } from './child.js';
import { BENCH_NQN, type ChildStats } from './protocol.js';

const N = Number(process.env.NVMU_MEM_CONNECTIONS ?? 1000);
const Q = Number(process.env.NVMU_MEM_QUEUES_PER_CONTROLLER ?? 8);
const CYCLES = Number(process.env.NVMU_MEM_CYCLES ?? 5);
const MiB = 2 ** 20;

/** An ICReq (NVMe/TCP 1.0 Figure 26): type 0, HLEN = PLEN = 128, PFV 0, no digests. */
function icreq(): Buffer {
  const b = Buffer.alloc(IcReqView.SIZE);
  new IcReqView(b).init();
  return b;
}

async function openIdle(port: number): Promise<Socket> {
  const s = tcpConnect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  await once(s, 'connect');
  s.write(icreq());
  // Wait for the ICResp (128 bytes) so the target has handled the ICReq.
  let got = 0;
  await new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 128) resolve();
    });
  });
  return s;
}

async function closeAll(socks: Socket[]): Promise<void> {
  await Promise.all(
    socks.map(async (s) => {
      const closed = once(s, 'close');
      s.destroy();
      await closed;
    }),
  );
}

/** glibc's main heap ([heap] in /proc/PID/smaps): resident bytes and its size. */
interface MainHeap {
  readonly rss: number;
  readonly size: number;
}

function mainHeap(pid: number): MainHeap {
  let rss = 0;
  let size = 0;
  let inHeap = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) {
      inHeap = line.endsWith('[heap]');
      if (inHeap) size += parseInt(range[2] ?? '0', 16) - parseInt(range[1] ?? '0', 16);
    } else if (inHeap && line.startsWith('Rss:')) {
      rss += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
    }
  }
  return { rss, size };
}

interface Sample extends ChildStats {
  readonly heap: MainHeap;
}

/**
 * A full GC, then wait until the target's RSS holds still (V8 gives freed heap pages back to
 * the system a few seconds after a GC, not at once): at most 20 s.
 */
async function settle(t: ServerChild): Promise<Sample> {
  let last = await t.stats('all');
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await t.stats('all');
    const still = Math.abs(now.mem.rss - last.mem.rss) < MiB;
    last = now;
    if (still && i >= 2) break;
  }
  return { ...last, heap: mainHeap(pid) };
}

const mib = (b: number): string => (b / MiB).toFixed(1);
const kib = (b: number): string => (b / 1024).toFixed(1);

// As the daemon's start scripts run it: a fixed mmap threshold, so glibc gives each queue's
// buffer slab (one allocation above the threshold) back to the system when it is freed. With
// glibc's default dynamic threshold the first free raises the threshold above the slab size
// and later slabs come from the heap, which does not shrink.
process.env.GLIBC_TUNABLES ??= 'glibc.malloc.mmap_threshold=131072';

const pinning = detectPinning();
const port = await freePort();
const targetJs = fileURLToPath(new URL('./target-child.js', import.meta.url));
const { child: target, hello } = await ServerChild.start('target', pinning, 0, ['--expose-gc', targetJs, String(port), BENCH_NQN]);
const pid = Number(hello.pid);
try {
  const base = await settle(target);

  // 1. Idle connections: ICReq only.
  // In batches, so all are open well within the target's 10 s Connect deadline.
  const idle: Socket[] = [];
  while (idle.length < N) idle.push(...(await Promise.all(Array.from({ length: Math.min(100, N - idle.length) }, () => openIdle(port)))));
  const withIdle = await settle(target);
  await closeAll(idle);
  const afterIdle = await settle(target);

  // 2. Cycles of real hosts doing I/O.
  const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${port} subnqn:${BENCH_NQN}`;
  const controllers = Math.floor(N / Q);
  const rows: { cycle: number; connected: Sample; after: Sample }[] = [];
  const before = await settle(target);
  const data = Buffer.alloc(4096, 0x5a);
  for (let c = 1; c <= CYCLES; c++) {
    const ctrls: Controller[] = [];
    while (ctrls.length < controllers) {
      const batch = Math.min(10, controllers - ctrls.length);
      ctrls.push(...(await Promise.all(Array.from({ length: batch }, () => connect(trid, { reconnect: false, ioQueues: Q - 1, ioQueueSize: 128, kato: 0, connectTimeoutMs: 30_000 })))));
    }
    // (connectTimeoutMs: on a loaded machine 1,000 connections opening take longer than the
    // client's 5 s default.) connect() opens one I/O queue; open the rest (ten controllers at a time, so connects do
    // not time out on a loaded machine), then write and read on every one of them.
    for (let i = 0; i < ctrls.length; i += 10) {
      await Promise.all(
        ctrls.slice(i, i + 10).map(async (ctrl) => {
          const ns = ctrl.namespaces[0];
          if (ns === undefined) throw new Error('no namespace');
          const qpairs: (QPair | undefined)[] = [undefined];
          for (let q = 0; q < Q - 2; q++) qpairs.push(await ctrl.allocIoQPair());
          for (const qpair of qpairs) {
            await ns.write(0, data, { qpair });
            await ns.read(0, 8, undefined, { qpair });
          }
        }),
      );
    }
    const connected = await settle(target);
    await Promise.all(ctrls.map((ctrl) => ctrl.close()));
    const after = await settle(target);
    rows.push({ cycle: c, connected, after });
  }

  const perIdle = (withIdle.mem.rss - base.mem.rss) / N;
  const first = rows[0];
  const perQueue = first === undefined ? 0 : (first.connected.mem.rss - before.mem.rss) / (controllers * Q);
  const out: string[] = [];
  const last = rows[rows.length - 1];
  const trims = last?.after.memoryTrims ?? 0;
  const trimUs = last?.after.memoryTrimUs ?? 0;
  out.push(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES} NVMU_TCP_RELEASE_MEMORY=${process.env.NVMU_TCP_RELEASE_MEMORY ?? '1'}`);
  out.push(`${N} idle connections (ICReq only): RSS ${mib(base.mem.rss)} → ${mib(withIdle.mem.rss)} MiB (${kib(perIdle)} KiB each), heap ${mib(base.mem.heapUsed)} → ${mib(withIdle.mem.heapUsed)} MiB; all closed: RSS ${mib(afterIdle.mem.rss)} MiB, heap ${mib(afterIdle.mem.heapUsed)} MiB`);
  out.push('');
  out.push(`| cycle (${controllers} controllers × ${Q} queues = ${controllers * Q} connections, 4 KiB write + read on each I/O queue) | RSS connected (MiB) | RSS after close (MiB) | C main heap resident / size after close (MiB) | V8 heap used after close (MiB) | external + array buffers after close (MiB) |`);
  out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  const row = (label: string, connected: string, a: Sample): string =>
    `| ${label} | ${connected} | ${mib(a.mem.rss)} | ${mib(a.heap.rss)} / ${mib(a.heap.size)} | ${mib(a.mem.heapUsed)} | ${mib(a.mem.external)} |`;
  out.push(row('before the first cycle', '', before));
  for (const r of rows) out.push(row(String(r.cycle), mib(r.connected.mem.rss), r.after));
  out.push('');
  const rssAfter = rows.map((r) => r.after.mem.rss - before.mem.rss);
  out.push(`RSS after close minus before the first cycle: ${rssAfter.map(mib).join(', ')} MiB (largest ${mib(Math.max(0, ...rssAfter))} MiB)`);
  out.push(`RSS per connected queue (first cycle): ${kib(perQueue)} KiB`);
  out.push(`malloc_trim by the transport: ${trims} calls, ${trims === 0 ? 0 : (trimUs / trims / 1000).toFixed(2)} ms each on average`);
  console.log(out.join('\n'));
  console.log(
    JSON.stringify({
      connections: N,
      queuesPerController: Q,
      rssPerIdleConnection: perIdle,
      rssPerConnectedQueue: perQueue,
      base: base.mem,
      withIdle: withIdle.mem,
      afterIdle: afterIdle.mem,
      before: before.mem,
      mainHeapBefore: before.heap,
      memoryTrims: trims,
      memoryTrimUs: trimUs,
      cycles: rows.map((r) => ({ connected: r.connected.mem, after: r.after.mem, mainHeapAfter: r.after.heap })),
    }),
  );
} finally {
  await target.stop();
}
