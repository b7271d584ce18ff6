#!/usr/bin/env node
/**
 * nvmu-bench: see README.md. Flags override the NVMU_BENCH_* environment variables, which
 * override the defaults (3 pairs x 5 s per workload, 1 s warm-up, 60 s soak).
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BENCH_OPTIONS, runBench } from './bench.js';
import { formatMarkdown, formatProfile, formatTable } from './format.js';

const USAGE = `usage: node dist/main.js [--seconds S] [--warmup S] [--reps N] [--soak-seconds S] [--qd N] [--out FILE] [--no-profile]
       [--workloads ID,ID...] [--profile-workload ID]
  env: NVMU_BENCH_SECONDS, NVMU_BENCH_WARMUP_SECONDS, NVMU_BENCH_REPS, NVMU_BENCH_SOAK_SECONDS,
       NVMU_BENCH_QD, NVMU_BENCH_OUT, NVMU_BENCH_PROFILE=0, NVMU_BENCH_WORKLOADS, NVMU_BENCH_PROFILE_WORKLOAD
`;

const pkgDir = join(import.meta.dirname, '..');
const { values: v } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    reps: { type: 'string' },
    'soak-seconds': { type: 'string' },
    qd: { type: 'string' },
    out: { type: 'string' },
    'no-profile': { type: 'boolean' },
    workloads: { type: 'string' },
    'profile-workload': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (v.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function numberOf(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`${flag} ${text}: expected a number >= ${min}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const env = process.env;
const d = DEFAULT_BENCH_OPTIONS;
const seconds = numberOf('--seconds', v.seconds ?? env.NVMU_BENCH_SECONDS, d.seconds, 0.1);
const warmupSeconds = numberOf('--warmup', v.warmup ?? env.NVMU_BENCH_WARMUP_SECONDS, d.warmupSeconds, 0);
const repetitions = Math.round(numberOf('--reps', v.reps ?? env.NVMU_BENCH_REPS, d.repetitions, 1));
const soakSeconds = numberOf('--soak-seconds', v['soak-seconds'] ?? env.NVMU_BENCH_SOAK_SECONDS, d.soakSeconds, 0);
const qdText = v.qd ?? env.NVMU_BENCH_QD;
const queueDepth = qdText === undefined || qdText === '' ? undefined : Math.round(numberOf('--qd', qdText, 1, 1));
const outFile = v.out ?? env.NVMU_BENCH_OUT ?? join(pkgDir, 'results/latest.json');
const profile = v['no-profile'] !== true && env.NVMU_BENCH_PROFILE !== '0';

const envPart = Object.entries(env)
  .filter(([k]) => k.startsWith('NVMU_BENCH_'))
  .map(([k, val]) => `${k}=${val ?? ''} `)
  .join('');
const argPart = process.argv.slice(2).join(' ');
const command =
  env.npm_lifecycle_event === 'bench'
    ? `${envPart}pnpm bench (tools/bench: node dist/main.js${argPart === '' ? '' : ` ${argPart}`})`
    : `${envPart}node ${relative(process.cwd(), process.argv[1] ?? 'dist/main.js')}${argPart === '' ? '' : ` ${argPart}`}`;

const profileDir = profile ? join(pkgDir, 'results/profiles') : undefined;
const only = (v.workloads ?? env.NVMU_BENCH_WORKLOADS ?? '').split(',').filter((id) => id !== '');
const unknown = only.filter((id) => !d.workloads.some((w) => w.id === id));
if (unknown.length > 0) {
  process.stderr.write(`--workloads: unknown ${unknown.join(', ')} (known: ${d.workloads.map((w) => w.id).join(', ')})\n`);
  process.exit(2);
}
const workloads = only.length === 0 ? d.workloads : d.workloads.filter((w) => only.includes(w.id));
const profileWorkload = v['profile-workload'] ?? env.NVMU_BENCH_PROFILE_WORKLOAD;
const result = await runBench({ seconds, warmupSeconds, repetitions, soakSeconds, queueDepth, outFile, profileDir, command, workloads, profileWorkload });
process.stdout.write(`\n${formatTable(result)}`);
if (result.profile !== null) process.stdout.write(`\n${formatProfile(result.profile)}(profile: ${relative(process.cwd(), result.profile.profileFile)})\n`);
process.stdout.write(`\nJSON: ${relative(process.cwd(), outFile)}\n\n----- Markdown for BENCHMARKS.md -----\n\n${formatMarkdown(result)}`);
