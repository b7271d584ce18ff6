#!/usr/bin/env node
// nvmu and SPDK over vfio-user, crossed in one run: each initiator (spdk_nvme_perf, nvmu-perf)
// against each target (SPDK's nvmf_tgt with VFIOUSER, the nvmu daemon's vfio-user endpoint),
// a null namespace, the target on CPU 0 and the initiator on CPU 1 (taskset), one target alive
// at a time, repetitions interleaved so the machine's drift hits every pair alike. Prints IOPS, mean latency and
// each side's CPU per I/O (utime + stime from /proc over the run).
//
// Needs an SPDK tree built by hand with --with-vfio-user (nothing of SPDK is in this repo), 2 MiB
// hugepages reserved, and `pnpm build`:
//   NVMU_SPDK_DIR=/path/to/spdk node bench/spdk-vfio-user.mjs      (from tools/bench)
// NVMU_BENCH_SECONDS (default 5) and NVMU_BENCH_REPS (default 2) set the length.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SPDK = process.env.NVMU_SPDK_DIR ?? '';
if (SPDK === '' || !existsSync(join(SPDK, 'build/bin/nvmf_tgt'))) {
  console.error('NVMU_SPDK_DIR must name an SPDK tree built with --with-vfio-user');
  process.exit(2);
}
const SECONDS = Number(process.env.NVMU_BENCH_SECONDS ?? 5);
const REPS = Number(process.env.NVMU_BENCH_REPS ?? 2);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const NODE = process.execPath;
const work = mkdtempSync(join(tmpdir(), 'nvmu-spdk-bench-'));
const NQN_NVMU = 'nqn.2026-01.io.nvmu:bench';
const NQN_SPDK = 'nqn.2019-07.io.spdk:cnode0';
const TICK = 100; // USER_HZ

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK;
}
function rpc(sock, ...args) {
  const r = spawnSync('/usr/bin/python3', [join(SPDK, 'scripts/rpc.py'), '-s', sock, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rpc.py ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}
async function waitFor(path) {
  for (let i = 0; i < 300 && !existsSync(path); i++) await sleep(100);
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}
function startPinned(cpu, cmd, args, name) {
  const fd = openSync(join(work, `${name}.log`), 'w');
  const child = spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

// Targets: both serve a 1 GiB null bdev with 512-byte blocks.
async function startSpdkTarget() {
  const sock = join(work, 'spdk.sock');
  const dir = join(work, 'spdk-vfu');
  mkdirSync(dir, { recursive: true });
  const child = startPinned(0, join(SPDK, 'build/bin/nvmf_tgt'), ['-m', '0x1', '-s', '512', '-r', sock], 'nvmf_tgt');
  await waitFor(sock);
  await sleep(500);
  rpc(sock, 'nvmf_create_transport', '-t', 'VFIOUSER');
  rpc(sock, 'bdev_null_create', 'Null0', '1024', '512');
  rpc(sock, 'nvmf_create_subsystem', NQN_SPDK, '-a', '-s', 'SPDK0');
  rpc(sock, 'nvmf_subsystem_add_ns', NQN_SPDK, 'Null0');
  rpc(sock, 'nvmf_subsystem_add_listener', NQN_SPDK, '-t', 'VFIOUSER', '-a', dir, '-s', '0');
  return { name: 'SPDK nvmf_tgt', child, dir, nqn: NQN_SPDK, nsid: 1 };
}
async function startNvmuTarget() {
  const sock = join(work, 'nvmu.sock');
  const dir = join(work, 'nvmu-vfu');
  const child = startPinned(0, NODE, [join(ROOT, 'apps/target/dist/main.js'), '--nqn', NQN_NVMU, '--data-dir', join(work, 'data'), '--rpc-socket', sock, '--no-vfio-user', '--listen', '127.0.0.1:14420', '--size', '16M', '--log-level', 'warn'], 'nvmu-target');
  await waitFor(sock);
  // The default endpoint is off; one listener made by RPC, in front of a null namespace (nsid 2).
  try {
    rpc(sock, 'nvmf_create_transport', '-t', 'VFIOUSER');
  } catch (e) {
    if (!String(e).includes('already exists')) throw e;
  }
  rpc(sock, 'bdev_null_create', 'Null0', '1024', '512');
  rpc(sock, 'nvmf_subsystem_add_ns', NQN_NVMU, 'Null0');
  rpc(sock, 'nvmf_subsystem_add_listener', NQN_NVMU, '-t', 'VFIOUSER', '-a', dir, '-s', '0');
  return { name: 'nvmu daemon', child, dir, nqn: NQN_NVMU, nsid: 2 };
}

const WORKLOADS = [
  { name: '4 KiB randread QD 128, 1 queue', q: 128, o: 4096, w: 'randread' },
  { name: '4 KiB randread QD 1', q: 1, o: 4096, w: 'randread' },
  { name: '4 KiB randwrite QD 128', q: 128, o: 4096, w: 'randwrite' },
  { name: '128 KiB read QD 32', q: 32, o: 131072, w: 'read' },
];

const INITIATORS = {
  spdk_nvme_perf: (t, wl) => [join(SPDK, 'build/bin/spdk_nvme_perf'), ['-g', '-c', '0x2', '-r', `trtype:vfiouser traddr:${t.dir} subnqn:${t.nqn} ns:${t.nsid}`, '-q', String(wl.q), '-o', String(wl.o), '-w', wl.w, '-t', String(SECONDS)]],
  'nvmu-perf': (t, wl) => [NODE, [join(ROOT, 'tools/perf/dist/main.js'), '--no-progress', '--json', '-r', `trtype:vfiouser traddr:${t.dir}`, '-N', String(t.nsid), '-q', String(wl.q), '-o', String(wl.o), '-w', wl.w, '-t', String(SECONDS)]],
};

function parse(initiator, out) {
  if (initiator === 'nvmu-perf') {
    const j = JSON.parse(out.slice(out.indexOf('{')));
    return { iops: j.total.iops, latUs: j.total.latencyUs.avg };
  }
  const m = /^Total\s*:\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)/m.exec(out);
  return { iops: Number(m?.[1] ?? 0), latUs: Number(m?.[3] ?? NaN) };
}

async function runOne(target, initiator, wl) {
  const [cmd, args] = INITIATORS[initiator](target, wl);
  const tBefore = cpuSeconds(target.child.pid);
  const p = initiator === 'nvmu-perf' ? spawn('taskset', ['-c', '1', cmd, ...args]) : spawn(cmd, args);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  let pCpu = 0;
  const sampler = setInterval(() => {
    try {
      pCpu = cpuSeconds(p.pid);
    } catch {
      // exited
    }
  }, 200);
  const code = await new Promise((r) => p.on('exit', r));
  clearInterval(sampler);
  const tCpu = cpuSeconds(target.child.pid) - tBefore;
  if (code !== 0) throw new Error(`${initiator} against ${target.name}: exit ${code}\n${out}`);
  const { iops, latUs } = parse(initiator, out);
  const ios = iops * SECONDS;
  return { iops, latUs, targetUsPerIo: (tCpu / ios) * 1e6, initiatorUsPerIo: (pCpu / ios) * 1e6 };
}

// One target alive at a time: SPDK's reactor polls its core at 100 % even when idle, so a
// target started beside it would run on half a core.
const results = new Map();
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? [startSpdkTarget, startNvmuTarget] : [startNvmuTarget, startSpdkTarget];
  for (const startTarget of order) {
    const t = await startTarget();
    try {
      for (const wl of WORKLOADS) {
        for (const i of Object.keys(INITIATORS)) {
          const r = await runOne(t, i, wl);
          const key = `${wl.name}|${i}|${t.name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          process.stderr.write(`${key}: ${Math.round(r.iops)} IOPS\n`);
        }
      }
    } finally {
      t.child.kill('SIGKILL');
      await new Promise((r) => t.child.once('exit', r));
      rmSync(t.dir, { recursive: true, force: true });
      rmSync(join(work, t.name === 'SPDK nvmf_tgt' ? 'spdk.sock' : 'nvmu.sock'), { force: true });
      rmSync(join(work, 'data'), { recursive: true, force: true });
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| workload | initiator | target | IOPS (median of ${REPS}) | mean latency µs | target CPU µs/IO | initiator CPU µs/IO |`);
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const [key, rs] of results) {
  const [wl, i, t] = key.split('|');
  const f = (k, d = 2) => median(rs.map((r) => r[k])).toFixed(d);
  console.log(`| ${wl} | ${i} | ${t} | ${Math.round(median(rs.map((r) => r.iops))).toLocaleString('en-US')} | ${f('latUs', 1)} | ${f('targetUsPerIo')} | ${f('initiatorUsPerIo')} |`);
}
rmSync(work, { recursive: true, force: true });
