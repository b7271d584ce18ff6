#!/usr/bin/env node
/**
 * nvmu-bench: see README.md. Flags override the NVMU_BENCH_* environment variables, which
 * override the defaults (3 pairs x 5 s per workload, 1 s warm-up, 60 s soak).
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BENCH_OPTIONS, DEFAULT_WORKLOADS, runBench } from './bench.js';
import { formatMarkdown, formatProfile, formatTable } from './format.js';

const USAGE = `usage: node dist/main.js [--seconds S] [--warmup S] [--reps N] [--soak-seconds S] [--soak-rw randread|randwrite]
         [--qd N] [--workloads ID,ID...] [--profile-workload ID] [--out FILE] [--no-profile]
  env: NVMU_BENCH_SECONDS, NVMU_BENCH_WARMUP_SECONDS, NVMU_BENCH_REPS, NVMU_BENCH_SOAK_SECONDS, NVMU_BENCH_SOAK_RW,
       NVMU_BENCH_QD, NVMU_BENCH_WORKLOADS, NVMU_BENCH_PROFILE_WORKLOAD, NVMU_BENCH_OUT, NVMU_BENCH_PROFILE=0
  workload ids: ${DEFAULT_WORKLOADS.map((w) => w.id).join(', ')}
`;

const pkgDir = join(import.meta.dirname, '..');
const { values: v } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    reps: { type: 'string' },
    'soak-seconds': { type: 'string' },
    'soak-rw': { type: 'string' },
    qd: { type: 'string' },
    workloads: { type: 'string' },
    'profile-workload': { type: 'string' },
    out: { type: 'string' },
    'no-profile': { type: 'boolean' },
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

/** Only the named workloads (ids of DEFAULT_WORKLOADS), in their default order; all when unset. */
const ids = (v.workloads ?? env.NVMU_BENCH_WORKLOADS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = ids.filter((id) => !DEFAULT_WORKLOADS.some((w) => w.id === id));
const profileText = v['profile-workload'] ?? env.NVMU_BENCH_PROFILE_WORKLOAD;
const profileWorkload = profileText === undefined || profileText === '' ? undefined : profileText;
if (profileWorkload !== undefined && !DEFAULT_WORKLOADS.some((w) => w.id === profileWorkload)) unknown.push(profileWorkload);
if (unknown.length > 0) {
  process.stderr.write(`unknown workload id ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const workloads = ids.length === 0 ? DEFAULT_WORKLOADS : DEFAULT_WORKLOADS.filter((w) => ids.includes(w.id) || w.id === profileWorkload);
const soakRwText = v['soak-rw'] ?? env.NVMU_BENCH_SOAK_RW ?? 'randread';
if (soakRwText !== 'randread' && soakRwText !== 'randwrite') {
  process.stderr.write(`--soak-rw ${soakRwText}: expected randread or randwrite\n${USAGE}`);
  process.exit(2);
}
const soakRw: 'randread' | 'randwrite' = soakRwText;

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
const result = await runBench({ seconds, warmupSeconds, repetitions, soakSeconds, soakRw, queueDepth, workloads, outFile, profileDir, profileWorkload, command });
process.stdout.write(`\n${formatTable(result)}`);
if (result.profile !== null) process.stdout.write(`\n${formatProfile(result.profile)}(profile: ${relative(process.cwd(), result.profile.profileFile)})\n`);
process.stdout.write(`\nJSON: ${relative(process.cwd(), outFile)}\n\n----- Markdown for BENCHMARKS.md -----\n\n${formatMarkdown(result)}`);
