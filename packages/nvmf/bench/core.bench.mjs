// Core-only throughput: an in-process transport with no wire, null bdev, 4 KiB reads, QD 128.
// Measures the core's per-command cost (dispatch, checks, CQE, completion) and its allocation.
// Run: node bench/core.bench.mjs (after `pnpm run build`).
import { NullBdev, MallocBdev, Target } from '../dist/index.js';

const NQN = 'nqn.2026-11.io.nvmu:bench';
const addr = { trtype: 'bench', adrfam: 'intra-host', traddr: 'b0', trsvcid: '' };

class BenchTransport {
  trtype = 'bench';
  options = { maxQueueDepth: 256, maxAdminQueueDepth: 32, maxIoQueues: 4, maxIoSize: 131072, inCapsuleDataSize: 8192, ioUnitSize: 8192 };
  attach(core) { this.core = core; }
  listen() { return Promise.resolve(); }
  stopListen() { return Promise.resolve(); }
  identifyFields() { return { ioccsz: 516, iorcsz: 1, icdoff: 0, sgls: 0, msdbd: 1, fcatt: 0 }; }
  discoveryEntry(a) { return { trtype: 0xfe, adrfam: 0xfe, treq: 0, traddr: a.traddr, trsvcid: a.trsvcid, tsas: new Uint8Array(256) }; }
  close() { return Promise.resolve(); }
}

function syncCmd(qp, fill, data) {
  return new Promise((resolve) => {
    const req = qp.allocRequest();
    fill(req.sqeBytes);
    if (data) req.setData(data); else req.clearData();
    req.transportData = resolve;
    qp.submit(req);
  });
}

async function run(bdev, seconds, qd) {
  const t = new Target();
  const tr = new BenchTransport();
  await t.addTransport(tr);
  const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
  s.addNamespace({ bdev, nsid: 1 });
  await s.addListener(addr);
  s.start();
  const ops = (onDone) => ({ complete: (req) => { const cb = req.transportData; req.qpair.freeRequest(req); cb(req); }, close: () => {} });
  const admin = tr.core.createQPair(ops(), { depth: 32, listenAddress: addr });
  const cdata = Buffer.alloc(1024);
  cdata.writeUInt16LE(0xffff, 16); cdata.write(NQN, 256); cdata.write('nqn.2026-11.io.nvmu:host', 512);
  let cntlid = 0;
  await syncCmd(admin, (b) => { b[0] = 0x7f; b[4] = 1; b.writeUInt16LE(31, 44); }, cdata).then((r) => { cntlid = r.cqeBytes.readUInt16LE(0); });
  await syncCmd(admin, (b) => { b[0] = 0x7f; b[4] = 0; b.writeUInt32LE(0x14, 44); b.writeUInt32LE(1 | (6 << 16) | (4 << 20), 48); });
  const io = tr.core.createQPair(ops(), { depth: 256, listenAddress: addr });
  cdata.writeUInt16LE(cntlid, 16);
  await syncCmd(io, (b) => { b[0] = 0x7f; b[4] = 1; b.writeUInt16LE(1, 42); b.writeUInt16LE(qd - 1, 44); }, cdata);
  const bufs = Array.from({ length: qd }, () => Buffer.alloc(4096));
  let done = 0;
  let stop = false;
  let lba = 0;
  const blocks = bdev.numBlocks / 8;
  const submitOne = (i) => {
    const req = io.allocRequest();
    const b = req.sqeBytes;
    b.fill(0);
    b[0] = 0x02; b.writeUInt32LE(1, 4); b.writeUInt32LE((lba = (lba + 7919) % blocks) * 8, 40); b.writeUInt32LE(7, 48);
    req.setData(bufs[i]);
    req.transportData = onDone;
    io.submit(req);
  };
  function onDone(req) {
    done++;
    if (!stop) setImmediateOrNow(req.index % qd);
  }
  // Resubmit on the next tick in batches so completions do not recurse unboundedly.
  let pending = [];
  let scheduled = false;
  function setImmediateOrNow(i) {
    pending.push(i);
    if (!scheduled) { scheduled = true; setImmediate(() => { scheduled = false; const p = pending; pending = []; for (const j of p) submitOne(j); }); }
  }
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < qd; i++) submitOne(i);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const heap1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 20));
  await t.close();
  return { iops: Math.round(done / dt), heapDeltaKiB: Math.round((heap1 - heap0) / 1024) };
}

const secs = Number(process.argv[2] ?? 2);
console.log('null   4KiB read QD128', await run(new NullBdev({ name: 'n', blockSize: 512, numBlocks: 1 << 21 }), secs, 128));
console.log('malloc 4KiB read QD128', await run(new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 1 << 15 }), secs, 128));
