/**
 * The client's callback path allocates nothing per I/O (README: "High queue depth without
 * allocation"): reads at queue depth 127 through `qp.submitRead` with caller-owned buffers and
 * one shared callback, over loopback into the nvmf core with a null bdev. Allocation is
 * measured, not assumed: heap used after the run minus before, plus what every GC in between
 * freed (v8.GCProfiler). What the whole stack allocates per I/O is the loopback transport's and
 * the core's per-batch work, a few bytes; one object per I/O anywhere is 16 bytes or more. A
 * control run that allocates one small object per I/O in the callback shows the measure sees it.
 */
import { GCProfiler } from 'node:v8';
import { afterEach, expect, it } from 'vitest';
import type { NvmeError, QPair } from '@nvmu/client';
import type { Namespace } from '@nvmu/client';
import { loopbackClientFixture } from '@nvmu/test-kit/loopback';

const f = loopbackClientFixture();
afterEach(f.cleanup);

const QD = 127;
const IOS = 200_000;

interface Run {
  qp: QPair;
  ns: Namespace;
  bufs: Buffer[];
  submitted: number;
  completed: number;
  limit: number;
  failures: number;
  /** Control: allocate one small object per I/O (kept reachable so it cannot be optimised away). */
  allocate: boolean;
  sinks: { i: number }[];
  finish: () => void;
}

let r: Run;

function onDone(err: NvmeError | undefined, i: number): void {
  if (err !== undefined) r.failures++;
  r.completed++;
  if (r.allocate) r.sinks[i & 7] = { i };
  if (r.submitted < r.limit) {
    r.submitted++;
    r.qp.submitRead(r.ns, r.submitted & 0xffff, 1, r.bufs[i]!, onDone, i);
  } else if (r.completed === r.limit) r.finish();
}

function run(n: number): Promise<void> {
  r.submitted = 0;
  r.completed = 0;
  r.limit = n;
  return new Promise((resolve) => {
    r.finish = resolve;
    for (let i = 0; i < QD && r.submitted < r.limit; i++) {
      r.submitted++;
      r.qp.submitRead(r.ns, i, 1, r.bufs[i]!, onDone, i);
    }
  });
}

/** Bytes allocated per I/O over `n` I/Os (after a warm-up run). */
async function allocatedPerIo(n: number): Promise<number> {
  await run(20_000);
  const profiler = new GCProfiler();
  profiler.start();
  const start = process.memoryUsage().heapUsed;
  await run(n);
  const end = process.memoryUsage().heapUsed;
  let bytes = end - start;
  for (const g of profiler.stop().statistics) bytes += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  return bytes / n;
}

it('reads at queue depth 127 through the callback path without allocating per I/O', async () => {
  const ctrl = await f.open({ defaultIoQPair: false }, { bdev: 'null', blockSize: 4096, blocks: 1 << 16 });
  const qp = await ctrl.allocIoQPair({ queueSize: QD + 1 });
  r = {
    qp,
    ns: ctrl.namespaces[0]!,
    bufs: Array.from({ length: QD }, () => Buffer.alloc(4096)),
    submitted: 0,
    completed: 0,
    limit: 0,
    failures: 0,
    allocate: false,
    sinks: [],
    finish: () => undefined,
  };
  const clean = await allocatedPerIo(IOS);
  r.allocate = true;
  const control = await allocatedPerIo(IOS);
  console.log(`callback path: ${clean.toFixed(2)} bytes/I/O allocated; with one object per I/O: ${control.toFixed(2)}`);
  expect(r.failures).toBe(0);
  expect(qp.completedCount).toBeGreaterThanOrEqual(2 * (IOS + 20_000));
  // One object per I/O is at least 16 bytes: the control must show it, the real path must not.
  expect(control - clean).toBeGreaterThanOrEqual(12);
  expect(clean).toBeLessThan(12);
}, 60_000);
