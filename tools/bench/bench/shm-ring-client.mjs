// The shared-memory ring ceiling, client half (see shm-ring-server.mjs): `--queues` rings in one
// memfd, `--qd` entries outstanding in all (spread over the queues), each completion found by
// its phase bit on a setImmediate poll and answered with a new submission, for `--warmup` +
// `--seconds`; only the last `--seconds` are measured. No data is copied. Prints one JSON line
// as raw-client.mjs does: {"ios","iops","mibps","elapsedSeconds","latencyUs":{...},"cpu":{"perIoUs"}}.
import { printResult } from './report.mjs';
import { parseArgs } from 'node:util';
import { closeFd, ftruncate, memfdCreate, mmap, sendmsg, unixConnect } from '@nvmu/native';

const { values: v } = parseArgs({
  options: {
    path: { type: 'string' },
    size: { type: 'string', default: '4096' },
    qd: { type: 'string', default: '1' },
    queues: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
  },
});
const size = Number(v.size);
const qd = Number(v.qd);
const queues = Number(v.queues);
const seconds = Number(v.seconds);
const warmup = Number(v.warmup);
if (v.path === undefined || !(qd >= queues) || !(queues >= 1) || !(seconds > 0) || !(warmup >= 0)) {
  process.stderr.write('usage: shm-ring-client.mjs --path SOCKET [--size B] [--qd N] [--queues N] [--seconds S] [--warmup S]\n');
  process.exit(2);
}
const ENTRIES = 256;
const cqBytes = Math.ceil((ENTRIES * 16) / 4096) * 4096;
const bytes = 4096 + queues * (ENTRIES * 64 + cqBytes);
const memfd = memfdCreate('shm-ring');
ftruncate(memfd, bytes);
const mem = mmap(memfd, 0, bytes);
const db = new Uint32Array(mem, 0, 1024);
const LAT_CAP = 1 << 22;
const lat = new Float64Array(LAT_CAP);
let nLat = 0;
let done = 0;
let measuring = false;
let stopping = false;
let outstanding = 0;
const qs = [];
let off = 4096;
for (let q = 0; q < queues; q++) {
  const sq = new Uint32Array(mem, off, ENTRIES * 16);
  off += ENTRIES * 64;
  const cq = new Uint32Array(mem, off, ENTRIES * 4);
  off += cqBytes;
  const depth = Math.floor(qd / queues) + (q < qd % queues ? 1 : 0);
  qs.push({ q, sq, cq, tail: 0, head: 0, phase: 1, depth, start: new Float64Array(ENTRIES) });
}
const template = new Uint32Array(16);
template[0] = 0x02; // a read's opcode, for the shape
template[12] = size; // a length

const submit = (s, id) => {
  const at = s.tail * 16;
  s.sq.set(template, at);
  s.sq[at] = 0x02 | (id << 16);
  s.start[id] = performance.now();
  s.tail = s.tail + 1 === ENTRIES ? 0 : s.tail + 1;
  db[2 * s.q] = s.tail;
  outstanding++;
};

let finish = () => undefined;
const finished = new Promise((r) => (finish = r));
const poll = () => {
  for (const s of qs) {
    let n = 0;
    for (;;) {
      const dw3 = s.cq[s.head * 4 + 3];
      if (((dw3 >>> 16) & 1) !== s.phase) break;
      const id = dw3 & 0xffff;
      s.head = s.head + 1 === ENTRIES ? 0 : s.head + 1;
      if (s.head === 0) s.phase ^= 1;
      n++;
      outstanding--;
      if (measuring) {
        done++;
        if (nLat < LAT_CAP) lat[nLat++] = (performance.now() - s.start[id]) * 1000;
      }
      if (!stopping) submit(s, id);
    }
    if (n > 0) db[2 * s.q + 1] = s.head;
  }
  if (outstanding > 0) setImmediate(poll);
  else finish();
};

const sock = unixConnect(v.path);
const hdr = new Uint8Array(16);
const dv = new DataView(hdr.buffer);
dv.setUint32(0, queues, true);
dv.setUint32(4, ENTRIES, true);
dv.setUint32(8, bytes, true);
if (sendmsg(sock, [hdr], [memfd]) !== 16) throw new Error('shm-ring-client: short send');
closeFd(memfd);
for (const s of qs) for (let id = 0; id < s.depth; id++) submit(s, id);
setImmediate(poll);

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
if (warmup > 0) await sleep(warmup);
const cpu0 = process.cpuUsage();
measuring = true;
const t0 = performance.now();
await sleep(seconds);
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
stopping = true;
await finished;
closeFd(sock);

printResult({ lat, nLat, done, elapsed, size, cpu });
