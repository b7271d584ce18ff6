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
 *    cycle, with everything connected, and after each cycle; and the target's event-loop delay
 *    (monitorEventLoopDelay, its max) while the connections close, and over the 3 s after the
 *    forced full GC that follows (the transport trims 1 s after that GC), next to the trim's own
 *    time and the GC's (kept out of both windows).
 *
 * With NVMU_MEM_AB=1, two targets run side by side, the transport's malloc_trim after closes
 * on in one (`releaseMemory`, the default) and off in the other, their cycles interleaved
 * (on 1, off 1, on 2, off 2, ...), so both see the same machine; the report ends with the two
 * side by side.
 *
 * Every step is bounded: a connection or controller that fails (refused, closed before its
 * ICResp, a connect, I/O or close that errs or takes too long) is counted with its reason and
 * reported, and the bench goes on (memory-conns.ts).
 *
 * Env: NVMU_MEM_CONNECTIONS (default 1000), NVMU_MEM_QUEUES_PER_CONTROLLER (8),
 * NVMU_MEM_CYCLES (5), NVMU_MEM_AB (0), GLIBC_TUNABLES for the target (default a fixed mmap
 * threshold, as the daemon's start scripts set it), NVMU_TCP_RELEASE_MEMORY=0 to run the
 * target without the transport's malloc_trim after connections close (without
 * NVMU_MEM_AB), NVMU_BENCH_TARGET_MAX_CONNECTIONS (the target's connection limit; tests).
 * "After GC" is V8's last-resort full GC, which also returns the heap pages V8 keeps pooled
 * after a plain one. Besides process.memoryUsage(), the resident size of glibc's main heap
 * ([heap] in /proc/PID/smaps): where what RSS kept after a cycle used to stay. Prints Markdown
 * and one JSON line.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { connect, type Controller, type QPair } from '@nvmu/client';
import '@nvmu/transport-tcp/host';

import { ServerChild, detectPinning, freePort, type Pinning } from './child.js';
import { Failures, bounded, closeAll, openIdleConnections, reasonOf } from './memory-conns.js';
import { BENCH_NQN, type ChildStats } from './protocol.js';

const N = Number(process.env.NVMU_MEM_CONNECTIONS ?? 1000);
const Q = Number(process.env.NVMU_MEM_QUEUES_PER_CONTROLLER ?? 8);
const CYCLES = Number(process.env.NVMU_MEM_CYCLES ?? 5);
const AB = process.env.NVMU_MEM_AB === '1';
const MiB = 2 ** 20;
/** Bounds of the cycle's steps (a loaded machine opens 1,000 connections slowly; none of these is a figure). */
const CONNECT_MS = 30_000;
const IO_MS = 60_000;
const CLOSE_MS = 30_000;
/** The window after the forced GC that follows the closes: the transport trims 1 s after that GC. */
const TRIM_WINDOW_MS = 3000;

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
  /** The longest of the forced full GCs while settling, ms. */
  readonly maxGcMs: number;
}

/** One target process: the malloc_trim after closes on or off. */
interface Variant {
  readonly releaseMemory: boolean;
  readonly child: ServerChild;
  readonly pid: number;
  readonly port: number;
}

interface Eld {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

interface Cycle {
  readonly cycle: number;
  readonly connected: Sample;
  readonly after: Sample;
  /** Controllers connected of those asked for. */
  readonly controllers: number;
  readonly failures: Failures;
  /** The target's event-loop delay while the connections closed, ms. */
  readonly closeEldMs: Eld | null;
  /** The forced full GC after the closes (what the trim waits for), ms. */
  readonly gcMs: number;
  /** The target's event-loop delay over the window the trim runs in (after that GC), ms. */
  readonly trimEldMs: Eld | null;
  /** malloc_trim calls and their µs during this cycle's window. */
  readonly trims: number;
  readonly trimUs: number;
}

interface IdlePhase {
  readonly base: Sample;
  readonly withIdle: Sample;
  readonly afterIdle: Sample;
  readonly opened: number;
  readonly failures: Failures;
  readonly closedByTarget: number;
}

/** Bound of one question to the target child (a forced last-resort GC took up to 2.5 s under load). */
const ASK_MS = 60_000;

/** The target's figures after a last-resort full GC; fails (never hangs) if it does not answer. */
function gcStats(v: Variant): Promise<ChildStats> {
  return bounded(v.child.stats('all'), ASK_MS, 'the target answering "stats gc-all"');
}

/** A line to the target child and its answer; fails (never hangs) if it does not answer. */
function ask(v: Variant, line: string): Promise<Record<string, unknown>> {
  return bounded(v.child.request(line), ASK_MS, `the target answering "${line}"`);
}

/**
 * A full GC, then wait until the target's RSS holds still (V8 gives freed heap pages back to
 * the system a few seconds after a GC, not at once): at most 20 s.
 */
async function settle(v: Variant): Promise<Sample> {
  let last = await gcStats(v);
  let maxGcMs = last.gcMs ?? 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await gcStats(v);
    maxGcMs = Math.max(maxGcMs, now.gcMs ?? 0);
    const still = Math.abs(now.mem.rss - last.mem.rss) < MiB;
    last = now;
    if (still && i >= 2) break;
  }
  return { ...last, heap: mainHeap(v.pid), maxGcMs };
}

const mib = (b: number): string => (b / MiB).toFixed(1);
const kib = (b: number): string => (b / 1024).toFixed(1);
const ms = (x: number): string => x.toFixed(0);

async function startVariant(pinning: Pinning, releaseMemory: boolean): Promise<Variant> {
  const port = await freePort();
  const targetJs = fileURLToPath(new URL('./target-child.js', import.meta.url));
  const env = { ...process.env, NVMU_TCP_RELEASE_MEMORY: releaseMemory ? '1' : '0' };
  const { child, hello } = await ServerChild.start(`target (trim ${releaseMemory ? 'on' : 'off'})`, pinning, 0, ['--expose-gc', targetJs, String(port), BENCH_NQN], env);
  return { releaseMemory, child, pid: Number(hello.pid), port };
}

/** 1. Idle connections: ICReq only, then closed. */
async function idlePhase(v: Variant): Promise<IdlePhase> {
  const base = await settle(v);
  // In batches, so all are open well within the target's 10 s Connect deadline.
  const { open, failures } = await openIdleConnections(v.port, N, { batch: 100, timeoutMs: 10_000 });
  const withIdle = await settle(v);
  const closedByTarget = await closeAll(open);
  const afterIdle = await settle(v);
  return { base, withIdle, afterIdle, opened: open.length, failures, closedByTarget };
}

/** A 4 KiB write and read on every I/O queue of `ctrl` (it opened one; the rest are opened here). */
async function ioOnEveryQueue(ctrl: Controller, data: Buffer): Promise<void> {
  const ns = ctrl.namespaces[0];
  if (ns === undefined) throw new Error('no namespace');
  const qpairs: (QPair | undefined)[] = [undefined];
  for (let q = 0; q < Q - 2; q++) qpairs.push(await ctrl.allocIoQPair());
  for (const qpair of qpairs) {
    await ns.write(0, data, { qpair });
    await ns.read(0, 8, undefined, { qpair });
  }
}

/** 2. One cycle: connect, I/O on every queue, close all; every step bounded, failures counted. */
async function cycle(v: Variant, c: number): Promise<Cycle> {
  const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${v.port} subnqn:${BENCH_NQN}`;
  const want = Math.floor(N / Q);
  const data = Buffer.alloc(4096, 0x5a);
  const failures = new Failures();
  const ctrls: Controller[] = [];
  // Ten controllers at a time, so connects do not time out on a loaded machine (and
  // connectTimeoutMs: 1,000 connections opening there take longer than the client's 5 s default).
  for (let started = 0; started < want; started += 10) {
    const batch = Math.min(10, want - started);
    const results = await Promise.allSettled(
      Array.from({ length: batch }, () =>
        bounded(connect(trid, { reconnect: false, ioQueues: Q - 1, ioQueueSize: 128, kato: 0, connectTimeoutMs: CONNECT_MS }), CONNECT_MS + 5000, 'connect'),
      ),
    );
    for (const r of results) {
      if (r.status === 'fulfilled') ctrls.push(r.value);
      else failures.add(`connect: ${reasonOf(r.reason)}`);
    }
  }
  for (let i = 0; i < ctrls.length; i += 10) {
    const results = await Promise.allSettled(ctrls.slice(i, i + 10).map((ctrl) => bounded(ioOnEveryQueue(ctrl, data), IO_MS, 'I/O')));
    for (const r of results) if (r.status === 'rejected') failures.add(`I/O: ${reasonOf(r.reason)}`);
  }
  const connected = await settle(v);
  // Two windows of the target's event-loop delay. The closes: from the first close until the
  // last has completed at the host. The trim: the transport trims `releaseMemoryDelayMs` (1 s)
  // after the first full GC that follows the closes, so one forced GC (its own block stays
  // out of the window), then 3 s in which the trim, if on, runs; the same window with the trim
  // off is the baseline.
  await ask(v, 'eld start');
  const closes = await Promise.allSettled(ctrls.map((ctrl) => bounded(ctrl.close(), CLOSE_MS, 'close')));
  for (const r of closes) if (r.status === 'rejected') failures.add(`close: ${reasonOf(r.reason)}`);
  const closeEld = (await ask(v, 'eld stop')).eldMs as Eld | null;
  const collected = await gcStats(v);
  await ask(v, 'eld start');
  await new Promise((r) => setTimeout(r, TRIM_WINDOW_MS));
  const trimEld = (await ask(v, 'eld stop')).eldMs as Eld | null;
  const after = await settle(v);
  return {
    cycle: c,
    connected,
    after,
    controllers: ctrls.length,
    failures,
    closeEldMs: closeEld,
    gcMs: collected.gcMs ?? 0,
    trimEldMs: trimEld,
    trims: (after.memoryTrims ?? 0) - (connected.memoryTrims ?? 0),
    trimUs: (after.memoryTrimUs ?? 0) - (connected.memoryTrimUs ?? 0),
  };
}

function report(v: Variant, idle: IdlePhase, before: Sample, rows: readonly Cycle[]): string[] {
  const controllers = Math.floor(N / Q);
  const perIdle = idle.opened === 0 ? 0 : (idle.withIdle.mem.rss - idle.base.mem.rss) / idle.opened;
  const first = rows[0];
  const perQueue = first === undefined || first.controllers === 0 ? 0 : (first.connected.mem.rss - before.mem.rss) / (first.controllers * Q);
  const out: string[] = [];
  out.push(`### Target with malloc_trim after closes ${v.releaseMemory ? 'on' : 'off'} (NVMU_TCP_RELEASE_MEMORY=${v.releaseMemory ? '1' : '0'})`, '');
  out.push(`${N} idle connections (ICReq only): ${idle.opened} opened, failed ${idle.failures.toString()}; RSS ${mib(idle.base.mem.rss)} → ${mib(idle.withIdle.mem.rss)} MiB (${kib(perIdle)} KiB each), heap ${mib(idle.base.mem.heapUsed)} → ${mib(idle.withIdle.mem.heapUsed)} MiB; all closed (${idle.closedByTarget} by the target first): RSS ${mib(idle.afterIdle.mem.rss)} MiB, heap ${mib(idle.afterIdle.mem.heapUsed)} MiB`);
  out.push('');
  out.push(`| cycle (${controllers} controllers × ${Q} queues = ${controllers * Q} connections, 4 KiB write + read on each I/O queue) | controllers connected | failed | RSS connected (MiB) | RSS after close (MiB) | C main heap resident / size after close (MiB) | V8 heap used after close (MiB) | external + array buffers after close (MiB) | event loop max while closing (ms) | forced GC after the closes (ms) | event loop max in the trim's window (ms) | malloc_trim (ms) |`);
  out.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (label: string, a: Sample, c?: Cycle): string =>
    `| ${label} | ${c === undefined ? '' : `${c.controllers} / ${controllers}`} | ${c === undefined ? '' : c.failures.toString()} | ${c === undefined ? '' : mib(c.connected.mem.rss)} | ${mib(a.mem.rss)} | ${mib(a.heap.rss)} / ${mib(a.heap.size)} | ${mib(a.mem.heapUsed)} | ${mib(a.mem.external)} | ${c?.closeEldMs == null ? '' : ms(c.closeEldMs.max)} | ${c === undefined ? '' : ms(c.gcMs)} | ${c?.trimEldMs == null ? '' : ms(c.trimEldMs.max)} | ${c === undefined ? '' : c.trims === 0 ? '–' : `${c.trims} × ${ms(c.trimUs / c.trims / 1000)}`} |`;
  out.push(row('before the first cycle', before));
  for (const r of rows) out.push(row(String(r.cycle), r.after, r));
  out.push('');
  const rssAfter = rows.map((r) => r.after.mem.rss - before.mem.rss);
  out.push(`RSS after close minus before the first cycle: ${rssAfter.map(mib).join(', ')} MiB (largest ${mib(Math.max(0, ...rssAfter))} MiB)`);
  out.push(`RSS per connected queue (first cycle): ${kib(perQueue)} KiB`);
  const last = rows[rows.length - 1];
  const trims = last?.after.memoryTrims ?? 0;
  const trimUs = last?.after.memoryTrimUs ?? 0;
  out.push(`malloc_trim by the transport: ${trims} calls, ${trims === 0 ? 0 : (trimUs / trims / 1000).toFixed(2)} ms each on average`);
  const failed = rows.reduce((n, r) => n + r.failures.count, idle.failures.count);
  out.push(`Failed connections and controllers, all phases: ${failed}`);
  return out;
}

function sampleJson(s: Sample): Record<string, unknown> {
  return { mem: s.mem, mainHeap: s.heap, maxGcMs: s.maxGcMs, memoryTrims: s.memoryTrims ?? 0, memoryTrimUs: s.memoryTrimUs ?? 0 };
}

// As the daemon's start scripts run it: a fixed mmap threshold, so glibc gives each queue's
// buffer slab (one allocation above the threshold) back to the system when it is freed. With
// glibc's default dynamic threshold the first free raises the threshold above the slab size
// and later slabs come from the heap, which does not shrink.
process.env.GLIBC_TUNABLES ??= 'glibc.malloc.mmap_threshold=131072';

const pinning = detectPinning();
const kinds = AB ? [true, false] : [process.env.NVMU_TCP_RELEASE_MEMORY !== '0'];
const variants: Variant[] = [];
try {
  for (const release of kinds) variants.push(await startVariant(pinning, release));
  const idles: IdlePhase[] = [];
  for (const v of variants) idles.push(await idlePhase(v));
  const befores: Sample[] = [];
  for (const v of variants) befores.push(await settle(v));
  const rows: Cycle[][] = variants.map(() => []);
  // Interleaved: on 1, off 1, on 2, off 2, ... (the machine's load moves over a run).
  for (let c = 1; c <= CYCLES; c++) {
    for (const [i, v] of variants.entries()) {
      const r = await cycle(v, c);
      rows[i]?.push(r);
      process.stderr.write(`cycle ${c} (trim ${v.releaseMemory ? 'on' : 'off'}): ${r.controllers} controllers, failed ${r.failures.toString()}, RSS ${mib(r.connected.mem.rss)} → ${mib(r.after.mem.rss)} MiB\n`);
    }
  }

  const out: string[] = [`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES} NVMU_MEM_AB=${AB ? '1' : '0'}`, ''];
  for (const [i, v] of variants.entries()) {
    const idle = idles[i];
    const before = befores[i];
    if (idle === undefined || before === undefined) continue;
    out.push(...report(v, idle, before, rows[i] ?? []), '');
  }
  if (AB) {
    out.push(`### Side by side (${N} connections): RSS after close minus before the first cycle; the event loop's longest delay in the trim's window`, '');
    out.push('| cycle | trim on: RSS | trim off: RSS | trim on: event loop max | trim off: event loop max | trim on: malloc_trim |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    const [on, off] = rows;
    const [bOn, bOff] = befores;
    for (let c = 0; c < CYCLES; c++) {
      const a = on?.[c];
      const b = off?.[c];
      if (a === undefined || b === undefined || bOn === undefined || bOff === undefined) continue;
      out.push(`| ${c + 1} | ${mib(a.after.mem.rss - bOn.mem.rss)} MiB | ${mib(b.after.mem.rss - bOff.mem.rss)} MiB | ${ms(a.trimEldMs?.max ?? 0)} ms | ${ms(b.trimEldMs?.max ?? 0)} ms | ${a.trims === 0 ? '–' : `${a.trims} × ${ms(a.trimUs / a.trims / 1000)} ms`} |`);
    }
  }
  console.log(out.join('\n'));
  console.log(
    JSON.stringify({
      connections: N,
      queuesPerController: Q,
      variants: variants.map((v, i) => {
        const idle = idles[i];
        return {
          releaseMemory: v.releaseMemory,
          idle:
            idle === undefined
              ? null
              : { opened: idle.opened, failed: idle.failures.count, failures: idle.failures.toJSON(), closedByTarget: idle.closedByTarget, base: idle.base.mem, withIdle: idle.withIdle.mem, afterIdle: idle.afterIdle.mem },
          before: befores[i] === undefined ? null : sampleJson(befores[i]),
          cycles: (rows[i] ?? []).map((r) => ({
            controllers: r.controllers,
            failed: r.failures.count,
            failures: r.failures.toJSON(),
            connected: r.connected.mem,
            after: sampleJson(r.after),
            closeEldMs: r.closeEldMs,
            gcMs: r.gcMs,
            trimEldMs: r.trimEldMs,
            trims: r.trims,
            trimUs: r.trimUs,
          })),
        };
      }),
    }),
  );
} finally {
  for (const v of variants) await v.child.stop();
}
