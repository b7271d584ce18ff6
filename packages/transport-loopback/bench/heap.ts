/**
 * Heap growth over 1 M I/Os on @nvmu/client's callback path (`QPair.submitRead` with
 * caller-owned buffers): @nvmu/client → @nvmu/transport-loopback → @nvmu/nvmf with a null bdev,
 * 4 KiB random reads at queue depth 127 (one qpair of 128 entries). Run with `pnpm bench` in
 * this package, or `pnpm bench` at the root (turbo builds the packages it needs first).
 *
 * Prints, for the measured run: bytes allocated per I/O (heap used at the end minus at the
 * start, plus what every GC during the run freed, from v8.GCProfiler), heap retained per I/O
 * (after a full GC on both sides), the number of GCs, and IOPS; then QD 1 latency and a
 * baseline without the client. The goal is a flat heap: nothing retained per I/O, and little
 * allocated (whatever is allocated is the client, the transport and the core together).
 *
 * Environment: BENCH_IOS (default 1000000), BENCH_QD (default 127), BENCH_BS (default 4096).
 */
import { GCProfiler } from 'node:v8';
import { NullBdev, Target } from '@nvmu/nvmf';
import { connect, type HostQPair, type HostQPairHandler, type NvmeError, type QPair } from '@nvmu/client';

// Node runs this file as is (type stripping), so this package's own code is loaded from its
// dist (the bench task builds it first); types come from the sources, so type-checking the
// bench needs no build. @nvmu/client and @nvmu/nvmf resolve by name to their dist.
const loopbackDist = '../dist/index.js';
const { LoopbackTargetTransport, registerLoopbackHostTransport, loopbackHostTransportFactory } = (await import(loopbackDist)) as typeof import('../src/index.js');
registerLoopbackHostTransport();

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const IOS = Number(process.env.BENCH_IOS ?? 1_000_000);
const QD = Number(process.env.BENCH_QD ?? 127);
const BS = Number(process.env.BENCH_BS ?? 4096);
const WARMUP = Math.min(100_000, IOS);

const target = new Target();
const loopback = new LoopbackTargetTransport();
await target.addTransport(loopback);
const nqn = 'nqn.2026-01.io.nvmu:bench';
const sub = target.createSubsystem({ nqn, allowAnyHost: true });
const blocks = 1 << 20;
const bdev = new NullBdev({ name: 'null0', blockSize: BS, numBlocks: blocks });
target.addBdev(bdev);
sub.addNamespace({ bdev });
const addr = { trtype: 'loopback', adrfam: 'intra-host' as const, traddr: 'bench', trsvcid: '' };
await target.listen(addr);
await sub.addListener(addr);
sub.start();

const ctrl = await connect(`trtype:loopback traddr:bench subnqn:${nqn}`, { reconnect: false, defaultIoQPair: false });
const ns = ctrl.namespaces[0]!;
let qp: QPair = await ctrl.allocIoQPair({ queueSize: QD + 1 });
let qd = QD;

// One buffer per slot of the queue, allocated once.
const bufs: Buffer[] = Array.from({ length: QD }, () => Buffer.alloc(BS));
let submitted = 0;
let completed = 0;
let limit = 0;
let failures = 0;
let finish: () => void = () => undefined;
// The xorshift state lives in a typed array: a uint32 above 2^31 in a plain `let` is a heap
// number, and updating it would allocate one per I/O in the bench itself.
const rng = new Uint32Array([0x9e3779b9]);

/**
 * Bytes allocated between two samples of heap used: every byte allocated meanwhile is either
 * still in the heap at the end or was freed by one of the GCs in between.
 */
function allocatedBytes(start: number, end: number, gcStats: readonly { beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }[]): number {
  let n = end - start;
  for (const g of gcStats) n += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  return n;
}

function nextLba(): number {
  // xorshift32: a random LBA without allocating.
  let x = rng[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rng[0] = x;
  return (x >>> 0) % blocks;
}

// One callback for every I/O; the context is the buffer index.
function onDone(err: NvmeError | undefined, i: number): void {
  if (err !== undefined) failures++;
  completed++;
  if (submitted < limit) {
    submitted++;
    qp.submitRead(ns, nextLba(), 1, bufs[i]!, onDone, i);
  } else if (completed === limit) finish();
}

function run(n: number): Promise<void> {
  submitted = 0;
  completed = 0;
  limit = n;
  return new Promise((resolve) => {
    finish = resolve;
    for (let i = 0; i < qd && submitted < limit; i++) {
      submitted++;
      qp.submitRead(ns, nextLba(), 1, bufs[i]!, onDone, i);
    }
  });
}

await run(WARMUP);
gc();
gc();
const before = process.memoryUsage();
const profiler = new GCProfiler();
profiler.start();
const t0 = process.hrtime.bigint();
await run(IOS);
const t1 = process.hrtime.bigint();
const end = process.memoryUsage();
const gcStats = profiler.stop().statistics;
const gcs = gcStats.length;
const allocated = allocatedBytes(before.heapUsed, end.heapUsed, gcStats);
gc();
gc();
const after = process.memoryUsage();

const seconds = Number(t1 - t0) / 1e9;
const mib = (n: number): string => (n / 1048576).toFixed(2);
const delta = after.heapUsed - before.heapUsed;
console.log(`@nvmu/client callback path, loopback + nvmf null bdev, ${BS}-byte random reads, QD ${QD}, ${IOS} I/Os`);
console.log(`allocated during the run: ${mib(allocated)} MiB (${(allocated / IOS).toFixed(3)} bytes/I/O)`);
console.log(`heap used before: ${mib(before.heapUsed)} MiB, after: ${mib(after.heapUsed)} MiB, retained: ${delta} bytes (${(delta / IOS).toFixed(3)} bytes/I/O)`);
console.log(`external before: ${mib(before.external)} MiB, after: ${mib(after.external)} MiB`);
console.log(`GCs during the run: ${gcs} (${((gcs * 1e6) / IOS).toFixed(1)} per million I/Os)`);
console.log(`IOPS: ${Math.round(IOS / seconds).toLocaleString('en-US')} (${seconds.toFixed(2)} s, ${((seconds * 1e6) / IOS).toFixed(2)} µs/I/O), failures: ${failures}`);

// Queue depth 1: the round trip through client, transport and core (one event-loop turn each).
const qdOneIos = Math.min(IOS, 100_000);
qp = await ctrl.allocIoQPair({ queueSize: 2 });
qd = 1;
await run(Math.min(10_000, qdOneIos));
const q0 = process.hrtime.bigint();
await run(qdOneIos);
const q1 = process.hrtime.bigint();
console.log(`QD 1: ${(Number(q1 - q0) / 1e3 / qdOneIos).toFixed(2)} µs per I/O (${qdOneIos} I/Os)`);

// Baseline in the same run: the loopback transport and the core driven through the raw
// HostQPair contract, without the client (hand-built SQEs, one per CID), at the same depth.
// The difference to the first figure is what the client's slots, views and callbacks cost.
const host = await loopbackHostTransportFactory.open({ trtype: 'loopback', traddr: 'bench' }, {
  hostnqn: ctrl.hostnqn,
  hostid: Buffer.from(ctrl.hostid.replaceAll('-', ''), 'hex'),
  connectTimeoutMs: 1000,
});
const rawQid = Math.max(...ctrl.ioQPairList.map((q) => q.qid)) + 1;
const sqes = Array.from({ length: QD + 1 }, () => Buffer.alloc(64));
let rawLeft = 0;
let rawDone: () => void = () => undefined;
const rawHandler: HostQPairHandler = {
  completion(cqe) {
    const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
    if (((cqe[14] ?? 0) | ((cqe[15] ?? 0) << 8)) >>> 1 !== 0) failures++;
    if (cid === QD) {
      rawDone(); // the Connect
      return;
    }
    if (rawLeft > 0) {
      rawLeft--;
      sqes[cid]!.writeUInt32LE(nextLba(), 40);
      raw.submit(sqes[cid]!, bufs[cid], 0, BS, 'c2h');
    } else if (--rawInflight === 0) rawDone();
  },
  disconnected() {
    failures++;
  },
};
let rawInflight = 0;
const raw: HostQPair = await host.connectQPair({ qid: rawQid, queueSize: QD + 1, maxInCapsuleDataSize: 0, handler: rawHandler });
const connectSqe = sqes[QD]!;
connectSqe[0] = 0x7f;
connectSqe.writeUInt16LE(QD, 2);
connectSqe[4] = 0x01;
connectSqe.writeUInt16LE(rawQid, 42);
connectSqe.writeUInt16LE(QD, 44);
const connectData = Buffer.alloc(1024);
connectData.set(Buffer.from(ctrl.hostid.replaceAll('-', ''), 'hex'), 0);
connectData.writeUInt16LE(ctrl.cntlid, 16);
connectData.write(nqn, 256, 'ascii');
connectData.write(ctrl.hostnqn, 512, 'ascii');
await new Promise<void>((resolve) => {
  rawDone = resolve;
  raw.submit(connectSqe, connectData, 0, 1024, 'h2c');
});
function rawRun(n: number): Promise<void> {
  return new Promise((resolve) => {
    rawDone = resolve;
    rawLeft = n;
    rawInflight = QD;
    for (let cid = 0; cid < QD; cid++) {
      const sqe = sqes[cid]!;
      sqe[0] = 0x02; // Read
      sqe.writeUInt16LE(cid, 2);
      sqe.writeUInt32LE(ns.nsid, 4);
      sqe.writeUInt32LE(nextLba(), 40);
      sqe.writeUInt32LE(0, 48); // NLB 0 = one block
      rawLeft--;
      raw.submit(sqe, bufs[cid], 0, BS, 'c2h');
    }
  });
}
await rawRun(WARMUP);
gc();
const rawStart = process.memoryUsage().heapUsed;
const r0 = process.hrtime.bigint();
const rawProfiler = new GCProfiler();
rawProfiler.start();
await rawRun(IOS);
const r1 = process.hrtime.bigint();
const rawEnd = process.memoryUsage().heapUsed;
const rawAllocated = allocatedBytes(rawStart, rawEnd, rawProfiler.stop().statistics);
const rawSeconds = Number(r1 - r0) / 1e9;
console.log(`baseline without the client (raw HostQPair, QD ${QD}): ${Math.round(IOS / rawSeconds).toLocaleString('en-US')} IOPS (${((rawSeconds * 1e6) / IOS).toFixed(2)} µs/I/O), allocated ${(rawAllocated / IOS).toFixed(3)} bytes/I/O; failures: ${failures}`);
console.log(`allocated by the client's callback path (difference): ${((allocated - rawAllocated) / IOS).toFixed(3)} bytes/I/O`);
await host.close();

await ctrl.close();
await target.close();
