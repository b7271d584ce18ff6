#!/usr/bin/env node
// The one test command: builds, type-checks, lints, checks packing and dependency direction,
// runs every vitest project, and ends with a single plain line of totals:
//   N passed, N failed, N skipped
// Checks that are not vitest tests (typecheck, lint, pack, dependency rules) count one each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

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
  const out = join(root, '.test-results');
  mkdirSync(out, { recursive: true });
  vitestPass('unit', ['--project', '!@nvmu/interop', '--exclude', '**/test/interop/**']);
  vitestPass('interop', ['tools/interop/test/']);
}

function vitestPass(name, args) {
  const jsonFile = join(root, '.test-results', `vitest-${name}.json`);
  rmSync(jsonFile, { force: true });
  run('vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`, ...args]);
  try {
    const v = JSON.parse(readFileSync(jsonFile, 'utf8'));
    results.passed += v.numPassedTests;
    results.failed += v.numFailedTests;
    results.skipped += v.numPendingTests + v.numTodoTests;
    for (const f of v.testResults) {
      if (f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed')) {
        // A file that failed to load or whose hooks failed: count it as one failure.
        results.failed++;
        failures.push(`${f.name}: ${f.message?.split('\n')[0] ?? 'failed'}`);
      }
      for (const a of f.assertionResults) if (a.status === 'failed') failures.push(`${a.fullName}`);
    }
  } catch (e) {
    console.error(`could not read vitest's ${name} report: ${e.message}`);
    check(`vitest ${name}`, false);
  }
}

if (failures.length > 0) {
  console.log('\nFailed:');
  for (const f of failures) console.log(`  - ${f}`);
}
console.log(`\n${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed === 0 ? 0 : 1);
