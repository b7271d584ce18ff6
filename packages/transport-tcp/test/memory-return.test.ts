/**
 * Per-connection memory comes back (issue 12): after controllers with several queues connect,
 * do I/O (4 KiB in-capsule and 128 KiB through the shared pool) and close, in two cycles, the
 * transport's accounting is back to zero (connection bytes, pool buffers lent or waited for,
 * qpairs, controllers, libuv handles) and every per-connection object the target made (the
 * connection, its socket, its qpair, every request and request buffer) is garbage-collected:
 * FinalizationRegistry in a child process run with --expose-gc. A control run that keeps the
 * connections shows that a leak is seen. Nothing here measures RSS or time.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = join(import.meta.dirname, '..');
const fixture = join(pkg, 'test/fixtures/memory-return-child.mjs');
// The child runs this package's sources compiled into a folder of this test's own (never
// dist/, which other test files import meanwhile), inside the package so they resolve its
// dependencies.
const outDir = join(pkg, `.test-build-memory-${process.pid}`);

interface Result {
  connected: { connections: number; connectionBytes: number; poolInUse: number }[];
  registered: Record<string, number>;
  finalized: Record<string, number>;
  after: { connections: number; connectionBytes: number; poolInUse: number; poolWaiting: number };
  qpairsInPollGroups: number;
  controllers: number;
  handlesBefore: number;
  handlesAfter: number;
  memoryTrims: number;
  held: number;
}

function run(...args: string[]): Result {
  const r = spawnSync(process.execPath, ['--expose-gc', fixture, ...args], {
    cwd: pkg,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NVMU_TCP_DIST_DIR: outDir },
  });
  if (r.status !== 0) throw new Error(`memory-return child failed (${String(r.status ?? r.signal)}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Result;
}

beforeAll(() => {
  const b = spawnSync(
    process.execPath,
    [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'],
    { cwd: pkg, encoding: 'utf8' },
  );
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
}, 120_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe('per-connection memory after connections close', () => {
  it('is all returned: accounting at zero, every per-connection object collected, the C heap trimmed', () => {
    const r = run();
    // 4 controllers × (admin + 3 I/O queues), each cycle.
    for (const c of r.connected) {
      expect(c.connections).toBe(16);
      expect(c.connectionBytes).toBeGreaterThan(0);
    }
    expect(r.after).toEqual({ connections: 0, connectionBytes: 0, poolInUse: 0, poolWaiting: 0 });
    expect(r.qpairsInPollGroups).toBe(0);
    expect(r.controllers).toBe(0);
    expect(r.handlesAfter).toBeLessThanOrEqual(r.handlesBefore);
    expect(r.registered.connection).toBe(32);
    expect(r.registered.request).toBeGreaterThan(32 * 8);
    expect(r.finalized).toEqual(r.registered);
    // malloc_trim ran after the closes (@nvmu/native loaded, glibc).
    expect(r.memoryTrims).toBeGreaterThan(0);
  }, 120_000);

  it('control: connections something still references are seen as not collected', () => {
    const r = run('hold');
    expect(r.after.connections).toBe(0);
    expect(r.held).toBeGreaterThan(0);
    expect(r.finalized.connection ?? 0).toBe(0);
  }, 120_000);
});
