// The raw-TCP ceiling, client half (see raw-server.mjs for the wire format): one connection,
// `--qd` requests outstanding, a new request sent as each answer arrives, for `--warmup` +
// `--seconds`; only the last `--seconds` are measured. Request buffers are preallocated per
// slot (answers come back in order, so slot = FIFO position) and answers are read into one
// reused buffer (`onread`), as nvmu's host transport does. With `--busy-poll <µs>` it polls
// the socket for the answers after sending (busy-poll.mjs), as nvmu's low-latency mode does.
// Prints one JSON line:
// {"ios","iops","mibps","elapsedSeconds","latencyUs":{"avg","p50","p99"},"cpu":{"perIoUs"}}.
import { BusyPoll, LoopPoll } from './busy-poll.mjs';
import { printResult } from './report.mjs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'read' }, // read | write
    size: { type: 'string', default: '4096' },
    qd: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    pattern: { type: 'string', default: 'rand' }, // rand | seq
    'busy-poll': { type: 'string', default: '0' }, // µs, 0 = off
    'busy-poll-mode': { type: 'string', default: 'native' }, // native (recvInto) | loop (setImmediate)
  },
});
const port = Number(v.port);
const write = v.mode === 'write';
const size = Number(v.size);
const qd = Number(v.qd);
const seconds = Number(v.seconds);
const warmup = Number(v.warmup);
const random = v.pattern !== 'seq';
const busyPollUs = Number(v['busy-poll']);
if (!(port > 0) || !(size > 0) || !(qd > 0) || !(seconds > 0) || !(warmup >= 0)) {
  process.stderr.write('usage: raw-client.mjs --port N [--mode read|write] [--size B] [--qd N] [--seconds S] [--warmup S] [--pattern rand|seq]\n');
  process.exit(2);
}

const REQ = 64;
const RESP = 16;
const answerLen = RESP + (write ? 0 : size);
const reqLen = REQ + (write ? size : 0);
const blocks = (1 << 30) / size; // LBAs over 1 GiB, as the null bdev has
const slots = Array.from({ length: qd }, (_, i) => {
  const b = Buffer.alloc(reqLen, 0xa5);
  b.fill(0, 0, REQ);
  b[0] = write ? 0x01 : 0x02;
  b.writeUInt16LE(i, 2);
  b.writeUInt32LE(size, 4);
  return b;
});
const start = new Float64Array(qd);
const LAT_CAP = 1 << 22;
const lat = new Float64Array(LAT_CAP);
let nLat = 0;
let head = 0; // oldest outstanding slot
let tail = 0; // next slot to send
let outstanding = 0;
let pending = 0; // bytes of answers received and not yet counted
let seq = 0;
let done = 0;
let measuring = false;
let stopping = false;
let finish = () => undefined;
const finished = new Promise((r) => (finish = r));

let sock;
const send = () => {
  const b = slots[tail];
  const lba = random ? Math.floor(Math.random() * blocks) : seq++ % blocks;
  b.writeUInt32LE(lba >>> 0, 8);
  start[tail] = performance.now();
  tail = tail + 1 === qd ? 0 : tail + 1;
  outstanding++;
  sock.write(b);
};
const onBytes = (n) => {
  pending += n;
  let completed = 0;
  while (pending >= answerLen) {
    pending -= answerLen;
    outstanding--;
    if (measuring) {
      done++;
      if (nLat < LAT_CAP) lat[nLat++] = (performance.now() - start[head]) * 1000;
    }
    head = head + 1 === qd ? 0 : head + 1;
    completed++;
  }
  if (completed === 0) return;
  if (!stopping) {
    sock.cork();
    for (let i = 0; i < completed; i++) send();
    sock.uncork();
    poller?.spin();
  } else if (outstanding === 0) finish();
};
let poller;
sock = connect({
  host: v.host,
  port,
  noDelay: true,
  onread: {
    buffer: Buffer.alloc(512 * 1024),
    callback: (n) => {
      poller?.hit?.();
      onBytes(n);
      return true;
    },
  },
});
sock.on('error', (e) => {
  process.stderr.write(`raw-client: ${e.message}\n`);
  process.exit(1);
});
await once(sock, 'connect');
if (busyPollUs > 0) {
  poller = v['busy-poll-mode'] === 'loop' ? new LoopPoll(busyPollUs, () => outstanding > 0) : new BusyPoll(sock, busyPollUs, (_buf, n) => onBytes(n), () => outstanding > 0);
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
sock.cork();
for (let i = 0; i < qd; i++) send();
sock.uncork();
poller?.spin();
if (warmup > 0) await sleep(warmup);
const cpu0 = process.cpuUsage();
measuring = true;
const t0 = performance.now();
await sleep(seconds);
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
stopping = true;
if (outstanding > 0) await finished;
sock.destroy();

printResult({ lat, nLat, done, elapsed, size, cpu });
// No process.exit(): nothing is left open, so the process ends by itself once stdout is flushed.
