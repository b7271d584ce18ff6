/**
 * The target in a child process (this package's sources compiled into a private folder, +
 * @nvmu/nvmf), the client here: nothing is shared but the TCP connection.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connect } from '@nvmu/client';

import '../src/host.js';
import { pattern } from './helpers/raw.js';
import { freePort } from './helpers/setup.js';
import { NQN } from './helpers/target.js';

const pkg = join(import.meta.dirname, '..');
let child: ChildProcess;
let port: number;

// Inside the package, so the compiled files resolve this package's dependencies.
const outDir = join(pkg, `.test-build-${process.pid}`);

beforeAll(async () => {
  // The child runs the compiled sources. They are compiled into a folder of this test's own,
  // never into dist/: other test files (and the README example) import dist/ while this runs.
  const b = spawnSync(
    process.execPath,
    [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'],
    { cwd: pkg, encoding: 'utf8' },
  );
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  port = await freePort();
  child = spawn(process.execPath, [join(pkg, 'test/fixtures/target-child.mjs'), '127.0.0.1', String(port), 'malloc', NQN], {
    cwd: pkg,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NVMU_TCP_DIST: join(outDir, 'target.js') },
  });
  const rl = createInterface({ input: child.stdout! });
  // Fail at once (not at the hook timeout) if the child dies before it listens.
  const line = await Promise.race([
    once(rl, 'line').then(([l]) => l as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`target child exited with ${String(code)} before listening`);
    }),
  ]);
  expect(JSON.parse(line)).toMatchObject({ port });
}, 60_000);

afterAll(async () => {
  child.stdin?.end();
  if (child.exitCode === null) await once(child, 'exit');
  rmSync(outDir, { recursive: true, force: true });
});

describe('target in another process', () => {
  it('connects, writes and reads back across processes with digests, then disconnects', async () => {
    for (const extra of ['', ' hdgst:1 ddgst:1']) {
      const c = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}${extra}`, { reconnect: false });
      const ns = c.namespaces[0]!;
      const jobs = Array.from({ length: 32 }, async (_, i) => {
        const data = pattern(4096 * ((i % 8) + 1), i + extra.length);
        await ns.write(i * 64, data);
        const back = await ns.read(i * 64, data.length / 512);
        expect(Buffer.from(back).equals(data)).toBe(true);
      });
      await Promise.all(jobs);
      await c.close();
    }
  });
});
