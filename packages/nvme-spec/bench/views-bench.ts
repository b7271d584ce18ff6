/**
 * Hot-path cost of the views: decoding SQEs and encoding CQEs across a ring, NVMe/TCP header
 * work, and digests — each next to a hand-written Buffer read/write baseline measured in the
 * same run. Also prints heap bytes per operation (run with --expose-gc), which should be ~0 for
 * the number accessors. Run with `npx pnpm@10.34.8 run bench` in this package.
 */
import { crc32c } from '@node-rs/crc32';
import {
  CapsuleCmdView,
  CqeView,
  NvmOpcode,
  SqeView,
  C2HDataView,
  checkPduHeader,
  isPduHeaderProblem,
  newPduLayout,
  writeHeaderDigest,
  verifyHeaderDigest,
  dataDigest,
} from '../src/index.js';

interface Result {
  name: string;
  opsPerSec: number;
  heapBytesPerOp: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Best of `rounds` timed runs of about `ms` milliseconds each, plus heap growth per op. */
function measure(name: string, op: (i: number) => void, ms = 300, rounds = 3): Result {
  for (let i = 0; i < 50_000; i++) op(i); // warm up the JIT
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ms) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1000; i++) op(n + i);
      n += 1000;
      now = process.hrtime.bigint();
    }
    best = Math.max(best, n / (Number(now - start) / 1e9));
  }
  let heapBytesPerOp = Number.NaN;
  if (gc !== undefined) {
    const N = 100_000;
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < N; i++) op(i);
    heapBytesPerOp = Math.max(0, (process.memoryUsage().heapUsed - before) / N);
  }
  return { name, opsPerSec: best, heapBytesPerOp };
}

const QD = 128;
const ring = Buffer.alloc(QD * 64);
for (let i = 0; i < QD; i++) {
  const s = new SqeView(ring, i * 64);
  s.opcode = NvmOpcode.Read;
  s.cid = i;
  s.nsid = 1;
  s.slba = i * 8;
  s.nlb = 7;
  s.prp1 = 0x10_0000 + i * 4096;
}
const cqRing = Buffer.alloc(QD * 16);
let sink = 0;

const sqe = new SqeView(ring);
const cqe = new CqeView(cqRing);
const results: Result[] = [
  measure('SQE decode (SqeView.attach + 6 fields)', (i) => {
    sqe.attach(ring, (i % QD) * 64);
    sink += sqe.opcode + sqe.cid + sqe.nsid + sqe.slba + sqe.nlb + sqe.prp1;
  }),
  measure('SQE decode baseline (Buffer.readUInt*LE)', (i) => {
    const o = (i % QD) * 64;
    sink += ring[o]! + ring.readUInt16LE(o + 2) + ring.readUInt32LE(o + 4) + ring.readUInt32LE(o + 40) + ring.readUInt32LE(o + 44) * 2 ** 32 + ring.readUInt16LE(o + 48) + ring.readUInt32LE(o + 24) + ring.readUInt32LE(o + 28) * 2 ** 32;
  }),
  measure('CQE encode (CqeView.attach + 5 fields)', (i) => {
    cqe.attach(cqRing, (i % QD) * 16);
    cqe.dw0 = 0;
    cqe.sqhd = i & 0xffff;
    cqe.sqid = 1;
    cqe.cid = i & 0xffff;
    cqe.statusRaw = (i >> 7) & 1;
  }),
  measure('CQE encode baseline (Buffer.writeUInt*LE)', (i) => {
    const o = (i % QD) * 16;
    cqRing.writeUInt32LE(0, o);
    cqRing.writeUInt16LE(i & 0xffff, o + 8);
    cqRing.writeUInt16LE(1, o + 10);
    cqRing.writeUInt16LE(i & 0xffff, o + 12);
    cqRing.writeUInt16LE((i >> 7) & 1, o + 14);
  }),
];

const pdu = Buffer.alloc(76);
new CapsuleCmdView(pdu).init(true, false, 0);
writeHeaderDigest(crc32c, pdu);
const opts = { hdgst: true, ddgst: false };
const layout = newPduLayout();
results.push(
  measure('TCP checkPduHeader (CapsuleCmd, reused layout)', () => {
    const r = checkPduHeader(pdu, 0, opts, layout);
    if (!isPduHeaderProblem(r)) sink += r.plen;
  }),
  measure('TCP verifyHeaderDigest (72 bytes)', () => {
    if (verifyHeaderDigest(crc32c, pdu)) sink++;
  }),
);
const c2h = new C2HDataView(Buffer.alloc(24));
results.push(
  measure('TCP C2HData header init + fields', (i) => {
    c2h.init(false, false, 4096, true, 0, true);
    c2h.cccid = i & 0xffff;
    c2h.datao = 0;
    c2h.datal = 4096;
  }),
);
const block = Buffer.alloc(4096, 0x5a);
results.push(
  measure('TCP data digest (4 KiB, @node-rs/crc32)', () => {
    sink += dataDigest(crc32c, block);
  }),
);

console.log('nvme-spec views (best of 3 runs, this machine):');
for (const r of results) {
  const heap = Number.isNaN(r.heapBytesPerOp) ? 'n/a (run with --expose-gc)' : `${r.heapBytesPerOp.toFixed(2)} B/op heap`;
  console.log(`  ${r.name.padEnd(44)} ${(r.opsPerSec / 1e6).toFixed(2).padStart(8)} M ops/s  ${heap}`);
}
if (sink === 42) console.log('');
