/**
 * CPU of an idle daemon: start `nvmu-target` with its default setup (file namespace, NVMe/TCP,
 * discovery, vfio-user endpoint, RPC socket) in a scratch folder, let it settle, then read its CPU
 * time (utime + stime of /proc/<pid>/stat) and its context switches (every thread's
 * /proc/<pid>/task/<tid>/status: each is a wake-up) over a quiet window. No host connects.
 *
 *   pnpm --filter @nvmu/target bench:idle [main.js ...]
 *
 * With several daemon entry points (e.g. another worktree's apps/target/dist/main.js) it measures
 * them in turn, interleaved over NVMU_BENCH_REPS rounds, so a comparison shares the machine's
 * load. NVMU_IDLE_SECONDS sets the window (default 30).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@nvmu/test-kit/ports';

const CLK_TCK = 100; // Linux USER_HZ
const seconds = Number(process.env.NVMU_IDLE_SECONDS ?? 30);
const reps = Number(process.env.NVMU_BENCH_REPS ?? 1);
const mains = process.argv.length > 2 ? process.argv.slice(2).map((p) => resolve(p)) : [join(import.meta.dirname, '..', 'dist', 'main.js')];

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function contextSwitches(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    for (const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
  }
  return n;
}

interface Result {
  main: string;
  cpuMs: number;
  wakeups: number;
  loadBefore: number;
  loadAfter: number;
}

async function measure(main: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'nvmu-idle-'));
  const args = [main, '--data-dir', join(dir, 'data'), '-r', join(dir, 'nvmu.sock'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '64M'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout.resume();
  try {
    const pid = proc.pid ?? 0;
    for (let i = 0; i < 300 && !err.includes('"msg":"serving"'); i++) await sleep(100);
    if (!err.includes('"msg":"serving"')) throw new Error(`${main} did not start:\n${err}`);
    await sleep(3000); // start-up work (JIT, GC) is not idling
    const loadBefore = loadavg()[0] ?? 0;
    const t0 = cpuTicks(pid);
    const w0 = contextSwitches(pid);
    await sleep(seconds * 1000);
    const t1 = cpuTicks(pid);
    const w1 = contextSwitches(pid);
    return { main, cpuMs: ((t1 - t0) * 1000) / CLK_TCK, wakeups: w1 - w0, loadBefore, loadAfter: loadavg()[0] ?? 0 };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`idle daemon, ${seconds} s window, ${reps} round(s); CPU from /proc/<pid>/stat (${1000 / CLK_TCK} ms ticks), wake-ups = context switches of all its threads`);
console.log('daemon | CPU ms | CPU % of one core | wake-ups/s | load avg (1 min) before → after');
for (let r = 0; r < reps; r++) {
  for (const main of mains) {
    const x = await measure(main);
    console.log(
      `${x.main} | ${x.cpuMs.toFixed(0)} | ${((x.cpuMs / (seconds * 1000)) * 100).toFixed(3)} | ${(x.wakeups / seconds).toFixed(1)} | ${x.loadBefore.toFixed(2)} → ${x.loadAfter.toFixed(2)}`,
    );
  }
}
