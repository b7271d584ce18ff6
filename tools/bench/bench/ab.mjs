#!/usr/bin/env node
// Before/after of the target in one run: this build's bench (its nvmu-perf, its raw ceiling)
// alternates between another build's target (A, e.g. main built in a scratch worktree) and this
// build's (B): A B A B …, one pair per workload per run. Prints every run and the medians per
// side, with the target's CPU per I/O (the figure other load disturbs least) and, when both are
// measured, 4 KiB randwrite QD 128 IOPS / 4 KiB randread QD 128 IOPS of the same run.
//   node bench/ab.mjs --base <worktree> [--rounds 3] [--seconds 3] [--workloads id,id] [--out file.json]
// <worktree> must have a built tools/bench (dist/target-child.js). Run from tools/bench, built.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    workloads: { type: 'string', default: 'randread-4k-qd128,randwrite-4k-qd128,read-128k-qd32' },
    out: { type: 'string' },
  },
});
if (v.base === undefined) {
  process.stderr.write('usage: node bench/ab.mjs --base <worktree with a built tools/bench> [--rounds N] [--seconds S] [--workloads id,id] [--out file.json]\n');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../dist/main.js');
const baseChild = join(v.base, 'tools/bench/dist/target-child.js');
const tmp = mkdtempSync(join(tmpdir(), 'nvmu-ab-'));
const runs = [];
for (let r = 1; r <= Number(v.rounds); r++) {
  for (const side of ['A', 'B']) {
    const env = { ...process.env };
    if (side === 'A') env.NVMU_BENCH_TARGET_CHILD = baseChild;
    else delete env.NVMU_BENCH_TARGET_CHILD;
    const out = join(tmp, `${side}-${r}.json`);
    const load = loadavg()[0] ?? 0;
    const p = spawnSync(process.execPath, [main, '--workloads', v.workloads, '--reps', '1', '--seconds', v.seconds, '--soak-seconds', '0', '--no-profile', '--out', out], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (p.status !== 0) throw new Error(`bench ${side} round ${r} failed (${p.status})`);
    runs.push({ side, round: r, load, result: JSON.parse(readFileSync(out, 'utf8')) });
  }
}

const fig = (w) => {
  const p = w.pairs[0];
  return { value: w.metric === 'iops' ? p.nvmu.iops : p.nvmu.mibps, target: p.nvmu.serverCpuUsPerIo, perf: p.nvmu.clientCpuUsPerIo, other: p.nvmu.otherCpuCores, raw: w.metric === 'iops' ? p.raw.iops : p.raw.mibps, rawServer: p.raw.serverCpuUsPerIo };
};
const unit = (w) => (w.metric === 'iops' ? 'IOPS' : 'MiB/s');
const n0 = (x) => Math.round(x).toLocaleString('en-US');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ids = v.workloads.split(',');
const writeRead = (res) => {
  const r = res.workloads.find((w) => w.id === 'randread-4k-qd128');
  const w = res.workloads.find((x) => x.id === 'randwrite-4k-qd128');
  return r !== undefined && w !== undefined ? fig(w).value / fig(r).value : undefined;
};

const lines = [];
lines.push(`A = ${v.base} (its target-child.js), B = this build; ${v.rounds} rounds × ${v.seconds} s per workload, alternated A B A B; load average at each run's start.`);
lines.push('');
lines.push(`| run | load | ${ids.map((id) => `${id}: nvmu (target / perf CPU µs/IO, other load) · raw (server µs/IO)`).join(' | ')} | randwrite / randread |`);
lines.push(`| --- | ---: | ${ids.map(() => '---').join(' | ')} | ---: |`);
for (const run of runs) {
  const cells = ids.map((id) => {
    const w = run.result.workloads.find((x) => x.id === id);
    if (w === undefined) return '–';
    const f = fig(w);
    return `${n0(f.value)} ${unit(w)} (${f.target.toFixed(2)} / ${f.perf.toFixed(2)}, ${f.other.toFixed(2)}) · ${n0(f.raw)} (${f.rawServer.toFixed(2)})`;
  });
  const wr = writeRead(run.result);
  lines.push(`| ${run.side}${run.round} | ${run.load.toFixed(1)} | ${cells.join(' | ')} | ${wr === undefined ? '–' : wr.toFixed(2)} |`);
}
lines.push('');
lines.push('Medians per side:');
lines.push('');
lines.push(`| side | ${ids.map((id) => `${id}: nvmu, target CPU µs/IO`).join(' | ')} | randwrite / randread |`);
lines.push(`| --- | ${ids.map(() => '---').join(' | ')} | ---: |`);
for (const side of ['A', 'B']) {
  const rs = runs.filter((r) => r.side === side);
  const cells = ids.map((id) => {
    const ws = rs.map((r) => r.result.workloads.find((x) => x.id === id)).filter((w) => w !== undefined);
    if (ws.length === 0) return '–';
    return `${n0(median(ws.map((w) => fig(w).value)))} ${unit(ws[0])}, ${median(ws.map((w) => fig(w).target)).toFixed(2)}`;
  });
  const wrs = rs.map((r) => writeRead(r.result)).filter((x) => x !== undefined);
  lines.push(`| ${side} | ${cells.join(' | ')} | ${wrs.length === 0 ? '–' : `${median(wrs).toFixed(2)} (${wrs.map((x) => x.toFixed(2)).join(', ')})`} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
if (v.out !== undefined) writeFileSync(v.out, `${JSON.stringify({ base: v.base, rounds: Number(v.rounds), seconds: Number(v.seconds), runs }, null, 2)}\n`);
