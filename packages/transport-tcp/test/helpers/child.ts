/**
 * The target in a child process (test/fixtures/target-child.mjs running this package's sources
 * compiled into a private folder, + @nvmu/nvmf): nothing is shared with the test but TCP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

import { freePort } from './setup.js';
import { NQN } from './target.js';

const pkg = join(import.meta.dirname, '../..');

export interface TargetChild {
  readonly child: ChildProcess;
  readonly port: number;
  /** Sends one line on the child's stdin ('cpu', 'mem', 'busypoll') and resolves with its JSON answer. */
  ask(line: string): Promise<unknown>;
  /** Ends the child (stdin closed) and removes its build. */
  stop(): Promise<void>;
}

/**
 * Compiles the sources and starts the child on a free port with a malloc namespace.
 * @param env extra environment (e.g. NVMU_TCP_BUSY_POLL_US for the low-latency mode).
 */
export async function startTargetChild(env: Record<string, string> = {}): Promise<TargetChild> {
  // The child runs the compiled sources. They are compiled into a folder of this child's own,
  // never into dist/: other test files (and the README example) import dist/ while this runs.
  // Inside the package, so the compiled files resolve this package's dependencies.
  const outDir = join(pkg, `.test-build-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const b = spawnSync(
    process.execPath,
    [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'],
    { cwd: pkg, encoding: 'utf8' },
  );
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  const port = await freePort();
  const child = spawn(process.execPath, [join(pkg, 'test/fixtures/target-child.mjs'), '127.0.0.1', String(port), 'malloc', NQN], {
    cwd: pkg,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env, NVMU_TCP_DIST: join(outDir, 'target.js') },
  });
  const rl: Interface = createInterface({ input: child.stdout });
  // Fail at once (not at the hook timeout) if the child dies before it listens.
  const line = await Promise.race([
    once(rl, 'line').then(([l]) => l as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`target child exited with ${String(code)} before listening`);
    }),
  ]);
  const hello = JSON.parse(line) as { port?: unknown };
  if (hello.port !== port) throw new Error(`target child said ${line}`);
  return {
    child,
    port,
    async ask(l: string): Promise<unknown> {
      const answer = once(rl, 'line');
      child.stdin.write(`${l}\n`);
      const [a] = (await answer) as [string];
      return JSON.parse(a);
    },
    async stop(): Promise<void> {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
