// NVMe/TCP through @nvmu/client's callback path (no nvmu-perf): 4 KiB random reads at QD 128 and
// QD 1 through the bench's target child (dist/target-child.js: null bdev, its own process)
// driven from this process over 127.0.0.1, next to the bench's raw TCP ceiling
// (bench/raw-server.mjs, the same one `node dist/main.js` uses) at the same QD, in the same run.
// What it adds to dist/main.js: header and data digests (BENCH_DIGESTS=1), which nvmu-perf does
// not offer, and the client library's own cost. Needs `pnpm run build` first (uses dist/).
// Env: BENCH_SECONDS (default 4), BENCH_WARMUP_SECONDS (default 1), BENCH_DIGESTS=1,
// BENCH_QDS (default 128,1), BENCH_TARGET_NODE_ARGS (node flags for the target process),
// BENCH_BS (bytes per read, default 4096; the raw pair's response grows with it),
// NVMU_BENCH_TARGET_CHILD (another build's dist/target-child.js, to compare commits).
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';

import { connect } from '@nvmu/client';
import { freePort } from '@nvmu/test-kit';

import '@nvmu/transport-tcp/host';

const here = import.meta.dirname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const DIGESTS = process.env.BENCH_DIGESTS === '1';
const BLOCKS = 1 << 21; // null bdev: 1 GiB of 512-byte blocks
const BS = Number(process.env.BENCH_BS ?? 4096);
const BS_LABEL = BS % 1024 === 0 ? `${BS / 1024}k` : `${BS}b`;

async function child(script, args, nodeArgs = []) {
  const p = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: p.stdout });
  // JSON lines answer us; anything else (e.g. --trace-gc output) is passed to stderr.
  const waiters = [];
  rl.on('line', (l) => {
    if (l.startsWith('{')) waiters.shift()?.(JSON.parse(l));
    else process.stderr.write(`[child] ${l}\n`);
  });
  const next = () => new Promise((r) => waiters.push(r));
  const c = { proc: p, info: await next() };
  // Both children answer a line "stats" with {"cpuUs","mem",...} (src/protocol.ts).
  /** Memory of the child now (process.memoryUsage()). */
  c.mem = async () => {
    const answer = next();
    p.stdin.write('stats\n');
    return (await answer).mem;
  };
  /** CPU time (µs) the child used so far. */
  c.cpu = async () => {
    const answer = next();
    p.stdin.write('stats\n');
    return (await answer).cpuUs;
  };
  return c;
}

function selfCpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function stop(c) {
  c.proc.stdin.end();
  if (c.proc.exitCode === null) await once(c.proc, 'exit');
}

/** Latency samples in a preallocated array; percentiles at the end. */
class Lat {
  constructor(n = 4_000_000) {
    this.a = new Float64Array(n);
    this.n = 0;
  }
  add(us) {
    if (this.n < this.a.length) this.a[this.n++] = us;
  }
  summary() {
    const s = this.a.subarray(0, this.n).sort();
    const pct = (p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[i];
    return { avg: sum / s.length, p50: pct(50), p99: pct(99) };
  }
}

function rand(max) {
  return Math.floor(Math.random() * max);
}

/** Drive `qd` outstanding BS-byte reads through the client's callback path. */
async function runNvmu(ns, qpair, qd, seconds) {
  const nlb = BS / ns.blockSize;
  const maxLba = ns.blockCount - nlb;
  const lat = new Lat();
  const bufs = Array.from({ length: qd }, () => Buffer.alloc(BS));
  const start = new Float64Array(qd);
  let done = 0;
  let all = 0;
  let measuring = false;
  let stopping = false;
  let outstanding = 0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const submit = (i) => {
    start[i] = performance.now();
    outstanding++;
    qpair.submitRead(ns, rand(maxLba / nlb) * nlb, nlb, bufs[i], cb, i);
  };
  const cb = (err, i) => {
    outstanding--;
    all++;
    if (err) throw err;
    if (measuring) {
      done++;
      lat.add((performance.now() - start[i]) * 1000);
    }
    if (!stopping) submit(i);
    else if (outstanding === 0) finish();
  };
  for (let i = 0; i < qd; i++) submit(i);
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopping = true;
  await finished;
  return { iops: done / elapsed, all, ...lat.summary() };
}

/** Drive `qd` outstanding 64-byte requests against the raw server (responses come in order). */
async function runRaw(port, qd, seconds) {
  // Reads into one reused buffer (onread), as the nvmu host transport does.
  let onBytes = () => undefined;
  const sock = netConnect({
    port,
    host: '127.0.0.1',
    noDelay: true,
    onread: {
      buffer: Buffer.alloc(256 * 1024),
      callback: (n) => {
        onBytes(n);
        return true;
      },
    },
  });
  await once(sock, 'connect');
  // raw-server.mjs's request: opcode (0x02 read) at byte 0, cid at 2, payload length at 4; its
  // answer: a 16-byte header and `length` payload bytes.
  const REQ = 64;
  const RESP = BS + 16;
  const req = Buffer.alloc(REQ);
  req[0] = 0x02;
  req.writeUInt32LE(BS, 4);
  const lat = new Lat();
  const ring = new Float64Array(qd);
  let head = 0;
  let tail = 0;
  let outstanding = 0;
  let pending = 0;
  let done = 0;
  let all = 0;
  let measuring = false;
  let stopping = false;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const send = () => {
    ring[tail] = performance.now();
    tail = (tail + 1) % qd;
    outstanding++;
    sock.write(req);
  };
  onBytes = (nread) => {
    pending += nread;
    let n = 0;
    while (pending >= RESP) {
      pending -= RESP;
      outstanding--;
      all++;
      const t = ring[head];
      head = (head + 1) % qd;
      if (measuring) {
        done++;
        lat.add((performance.now() - t) * 1000);
      }
      n++;
    }
    if (!stopping) {
      sock.cork();
      for (let i = 0; i < n; i++) send();
      process.nextTick(() => sock.uncork());
    } else if (outstanding === 0) finish();
  };
  for (let i = 0; i < qd; i++) send();
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopping = true;
  await finished;
  sock.destroy();
  return { iops: done / elapsed, all, ...lat.summary() };
}

const tport = await freePort();
// BENCH_TARGET_NODE_ARGS: extra node flags for the target process (e.g. --cpu-prof).
const targetArgs = (process.env.BENCH_TARGET_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const targetChild = process.env.NVMU_BENCH_TARGET_CHILD ?? join(here, '../dist/target-child.js');
const target = await child(targetChild, [String(tport)], targetArgs);
const raw = await child(join(here, 'raw-server.mjs'), ['127.0.0.1', '0']);
const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${tport} subnqn:${target.info.nqn}${DIGESTS ? ' hdgst:1 ddgst:1' : ''}`, {
  reconnect: false,
  ioQueueSize: 256,
  ioTimeoutMs: 0,
});
const ns = ctrl.namespaces[0];
const qpair = await ctrl.allocIoQPair({ queueSize: 256 });

const rows = [];
const QDS = (process.env.BENCH_QDS ?? '128,1').split(',').map(Number);
for (const qd of QDS) {
  let t0 = await target.cpu();
  let s0 = selfCpu();
  const n = await runNvmu(ns, qpair, qd, SECONDS);
  n.srvCpu = (await target.cpu()) - t0;
  n.cliCpu = selfCpu() - s0;
  t0 = await raw.cpu();
  s0 = selfCpu();
  const r = await runRaw(raw.info.port, qd, SECONDS);
  r.srvCpu = (await raw.cpu()) - t0;
  r.cliCpu = selfCpu() - s0;
  rows.push({ qd, n, r });
}
const mem = await target.mem();
await ctrl.close();
await stop(target);
await stop(raw);

const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`\nNVMe/TCP ${BS_LABEL} random read, null bdev, loopback, ${SECONDS} s per run${DIGESTS ? ', header+data digests' : ''} (node ${process.version})`);
console.log('workload          | nvmu IOPS  | avg µs | p50 µs | p99 µs | tgt/cli CPU µs/IO || raw IOPS   | avg µs | p50 µs | p99 µs | srv/cli CPU µs/IO || IOPS nvmu/raw');
for (const { qd, n, r } of rows) {
  const cpu = (x) => `${f(x.srvCpu / x.all, 2)} / ${f(x.cliCpu / x.all, 2)}`.padStart(17);
  console.log(
    `${`${BS_LABEL} randread QD${qd}`.padEnd(18)}| ${f(n.iops).padStart(10)} | ${f(n.avg, 1).padStart(6)} | ${f(n.p50, 1).padStart(6)} | ${f(n.p99, 1).padStart(6)} | ${cpu(n)} || ${f(r.iops).padStart(10)} | ${f(r.avg, 1).padStart(6)} | ${f(r.p50, 1).padStart(6)} | ${f(r.p99, 1).padStart(6)} | ${cpu(r)} || ${f(n.iops / r.iops, 2)}`,
  );
}
console.log('(CPU µs/IO: CPU time of the serving process and of this driving process per completed I/O, warm-up included.)');
const mib = (x) => (x / 1048576).toFixed(1);
console.log(`target memory after the runs: rss ${mib(mem.rss)} MiB, heap used ${mib(mem.heapUsed)} MiB, ArrayBuffers ${mib(mem.arrayBuffers)} MiB`);
