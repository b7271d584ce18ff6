#!/usr/bin/env node
// The one test command: builds, type-checks, lints, checks packing and dependency direction,
// runs every vitest project, and ends with a single plain line of totals:
//   N passed, N failed, N skipped
// Checks that are not vitest tests (typecheck, lint, pack, dependency rules) count one each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) console.error(r.error.message);
  return r.status ?? 1;
}

function check(name, ok) {
  if (ok) results.passed++;
  else {
    results.failed++;
    failures.push(name);
  }
}

const major = Number(process.versions.node.split('.')[0]);
console.log(`node ${process.version} (${process.execPath})`);
check('node >= 22 from the project', major >= 22);

// NVMU_SKIP_INTEROP=1 is for local runs; CI runs the interop tests or fails.
const skipInterop = process.env.NVMU_SKIP_INTEROP === '1';
if (skipInterop && process.env.CI === 'true') {
  console.error('NVMU_SKIP_INTEROP=1 is refused under CI=true: CI runs the interop tests (unset one of them)');
  check('NVMU_SKIP_INTEROP=1 refused under CI=true', false);
}

// 1. Build everything; nothing else means anything if this fails.
const buildOk = run('turbo', ['run', 'build', '--output-logs=errors-only']) === 0;
check('build', buildOk);

if (buildOk) {
  // 2. Per-package checks through turbo; its run summary tells each task's exit code.
  const summaryDir = join(root, '.turbo', 'runs');
  rmSync(summaryDir, { recursive: true, force: true });
  run('turbo', ['run', 'typecheck', 'lint', 'check:pack', '--continue', '--summarize', '--output-logs=errors-only']);
  let summary;
  try {
    const file = readdirSync(summaryDir).filter((f) => f.endsWith('.json')).sort().pop();
    summary = JSON.parse(readFileSync(join(summaryDir, file), 'utf8'));
  } catch (e) {
    console.error(`could not read turbo's run summary: ${e.message}`);
  }
  if (summary) {
    for (const t of summary.tasks) {
      if (['build'].includes(t.task)) continue;
      check(t.taskId, t.execution?.exitCode === 0);
    }
  } else check('per-package checks', false);

  // 3. Dependency direction (shared DESIGN.md arrows).
  check('dependency-cruiser', run('depcruise', ['packages', 'apps', 'tools', '--config', '.dependency-cruiser.cjs']) === 0);

  // 4. Every vitest project: unit and in-process tests first, then the tests that boot QEMU
  //    guests on their own, so guests (which take both cores) never compete with the others.
  //    Each path filter of the interop pass must match test files: if one stops matching, the
  //    tests behind it would vanish from the run without a failure.
  const out = join(root, '.test-results');
  mkdirSync(out, { recursive: true });
  vitestPass('unit', ['--project', '!@nvmu/interop', '--exclude', '**/test/interop/**'], []);
  const interopPaths = ['tools/interop/test/', 'packages/transport-tcp/test/interop/'];
  vitestPass('interop', interopPaths, interopPaths, { allSkippedOk: skipInterop });
}

/**
 * Runs one vitest pass and adds its tests to the totals. vitest's exit status and the tally
 * written by scripts/vitest-tally.mjs are both read, so a run that vitest itself calls failed
 * never ends green: an unhandled error, a test file whose worker died (its tests never finish),
 * a file that failed to load, and a pass that matched no test file or ran no test each count as
 * a failure and are named in the list at the end.
 * @param {string} name
 * @param {string[]} args
 * @param {string[]} mustMatch path filters each of which must match at least one test file
 * @param {{ allSkippedOk?: boolean }} [opts] allSkippedOk: a pass whose tests were all skipped is fine
 */
function vitestPass(name, args, mustMatch, opts = {}) {
  const tallyFile = join(root, '.test-results', `vitest-${name}.json`);
  rmSync(tallyFile, { force: true });
  const status = run('vitest', ['run', '--reporter=default', `--reporter=${join(root, 'scripts', 'vitest-tally.mjs')}`, ...args], {
    env: { ...process.env, NVMU_TALLY_FILE: tallyFile },
  });
  const failedBefore = results.failed;
  /** @type {{ reason: string, modules: { file: string, state: string, errors: string[], tests: { name: string, state: string, errors: string[] }[] }[], unhandled: { error: string, file?: string, test?: string }[] }} */
  let tally;
  try {
    tally = JSON.parse(readFileSync(tallyFile, 'utf8'));
  } catch (e) {
    check(`vitest ${name}: exited with status ${status} and wrote no tally (${e.message})`, false);
    return;
  }
  let ran = 0;
  for (const m of tally.modules) {
    const file = relative(root, m.file);
    const unfinished = [];
    for (const t of m.tests) {
      if (t.state === 'passed') results.passed++;
      else if (t.state === 'skipped') results.skipped++;
      else if (t.state === 'failed') {
        results.failed++;
        failures.push(`${file} > ${t.name}${t.errors[0] === undefined ? '' : `: ${t.errors[0]}`}`);
      } else unfinished.push(t.name);
      if (t.state === 'passed' || t.state === 'failed') ran++;
    }
    if (unfinished.length > 0) {
      // A worker that exits mid-file (killed, crashed, process.exit) leaves its tests pending.
      results.failed += unfinished.length;
      failures.push(`${file}: ${unfinished.length} test(s) never finished (the worker running the file died?): ${unfinished.join('; ')}`);
    } else if (m.state === 'failed' && m.tests.every((t) => t.state !== 'failed')) {
      // A file that failed to load or whose hooks failed: count it as one failure.
      results.failed++;
      failures.push(`${file}: ${m.errors[0] ?? 'failed'}`);
    }
  }
  for (const u of tally.unhandled) {
    results.failed++;
    const where = u.file === undefined ? '' : ` (while running ${relative(root, u.file)}${u.test === undefined ? '' : ` > ${u.test}`})`;
    failures.push(`vitest ${name}: unhandled error ${u.error}${where}`);
  }
  for (const path of mustMatch) {
    if (!tally.modules.some((m) => m.file.startsWith(join(root, path)))) check(`vitest ${name}: no test file matched ${path}`, false);
  }
  if (tally.modules.length === 0) check(`vitest ${name}: no test file matched ${args.join(' ')}`, false);
  else if (ran === 0 && !opts.allSkippedOk) check(`vitest ${name}: ran no test (every test was skipped)`, false);
  if (status !== 0 && results.failed === failedBefore) {
    check(`vitest ${name}: exited with status ${status} (${tally.reason}) with no failed test to explain it; see its output above`, false);
  }
}

if (failures.length > 0) {
  console.log('\nFailed:');
  for (const f of failures) console.log(`  - ${f}`);
}
console.log(`\n${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed === 0 ? 0 : 1);
