/**
 * Cost of one call on the hot path (eventfd doorbells and interrupts, vfio-user messages over
 * the socket), next to Node's own way of making the same system call, measured in the same run:
 * on a virtualized machine the system call dominates, and the addon's share is the difference.
 * Run with `npx pnpm@10 run bench` in this package (after `build`).
 */
import { fstatSync, readSync, writeSync } from 'node:fs';
import {
  closeFd,
  eventfdCreate,
  eventfdRead,
  eventfdWrite,
  fdSize,
  memfdCreate,
  recvmsg,
  sendmsg,
  socketpair,
} from '@nvmu/native';

/** Best of 3 timed runs of about 300 ms each, in nanoseconds per call. */
function measure(op: () => void): number {
  for (let i = 0; i < 20_000; i++) op();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + 300_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1000; i++) op();
      n += 1000;
      now = process.hrtime.bigint();
    }
    best = Math.min(best, Number(now - start) / n);
  }
  return best;
}

const rows: [string, number, string, number][] = [];
function compare(name: string, op: () => void, baselineName: string, baseline: () => void): void {
  rows.push([name, measure(op), baselineName, measure(baseline)]);
}

const [a, b] = socketpair();
const e = eventfdCreate();
const memfd = memfdCreate('bench');
const eight = Buffer.alloc(8);
eight.writeBigUInt64LE(1n);
const chunks = [new Uint8Array(16), new Uint8Array(48)];
const joined = Buffer.alloc(64);
const buf = new Uint8Array(4096);
const fdsOut = new Int32Array(8);

compare(
  'fdSize(fd)',
  () => fdSize(memfd),
  'fs.fstatSync(fd)',
  () => fstatSync(memfd),
);
compare(
  'eventfdWrite + eventfdRead',
  () => {
    eventfdWrite(e, 1n);
    eventfdRead(e);
  },
  'fs.writeSync + fs.readSync, 8 bytes',
  () => {
    writeSync(e, eight);
    readSync(e, eight);
  },
);
compare(
  'sendmsg (2 chunks) + recvmsg, 64 bytes',
  () => {
    sendmsg(a, chunks);
    recvmsg(b, buf, 0, buf.length, fdsOut);
  },
  'fs.writeSync + fs.readSync, 64 bytes',
  () => {
    writeSync(a, joined);
    readSync(b, buf);
  },
);
compare(
  'sendmsg + recvmsg with one fd (+ close it)',
  () => {
    sendmsg(a, chunks, [memfd]);
    recvmsg(b, buf, 0, buf.length, fdsOut);
    closeFd(fdsOut[0] ?? -1);
  },
  'fs.writeSync + fs.readSync, 64 bytes',
  () => {
    writeSync(a, joined);
    readSync(b, buf);
  },
);

for (const fd of [a, b, e, memfd]) closeFd(fd);
console.log('| call | ns | Node baseline | ns |');
console.log('| --- | ---: | --- | ---: |');
for (const [name, ns, baseName, baseNs] of rows) {
  console.log(`| ${name} | ${ns.toFixed(0)} | ${baseName} | ${baseNs.toFixed(0)} |`);
}
