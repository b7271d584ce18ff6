// The addon across processes, threads and Node versions: garbage collection of mappings,
// clean exits with watchers still open, and the one build loading under the system's Node 20
// as under the project's Node 24 (Node-API is ABI-stable).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));
const systemNode = '/usr/bin/node';

function run(node: string, args: string[]): { status: number | null; json: unknown; stderr: string } {
  const r = spawnSync(node, [...args], { encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, stderr: r.stderr };
}

describe('in other processes', () => {
  it('mappings nobody references are unmapped by the garbage collector; referenced ones stay', () => {
    const r = run(process.execPath, ['--expose-gc', child, 'gc']);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual({ before: expect.any(Number) as number, after: 0, kept: 1, keptByte: 99 });
    expect((r.json as { before: number }).before).toBeGreaterThan(0);
  });

  it('a process exits cleanly with a started watcher nobody closed', () => {
    const r = run(process.execPath, [child, 'exit-with-watcher']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ exiting: true });
  });

  it("an exception thrown by a watcher's callback is an 'uncaughtException'", () => {
    const r = run(process.execPath, [child, 'throwing-callback']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ caught: 'boom', order: ['callback', 'microtask'] });
  });

  it('a worker thread ends cleanly with a started watcher and a mapping it never released', () => {
    const r = run(process.execPath, [child, 'worker-exit']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json).toEqual({
      results: Array.from({ length: 3 }, () => ({ message: 'started', exitCode: 1 })),
      mainAlive: true,
    });
  });

  const smoke = {
    viaSecondMapping: '12345678',
    received: 1,
    byte: 42,
    viaPassedFd: '12345678',
    fired: 1,
    counter: '3',
  };

  it(`the build works under this Node (${process.version})`, () => {
    const r = run(process.execPath, [child, 'smoke']);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual(smoke);
  });

  it.skipIf(!existsSync(systemNode))('the same build loads and works under the system Node (/usr/bin/node)', () => {
    const version = spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(version).toMatch(/^v\d+\./);
    const r = run(systemNode, [child, 'smoke']);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual(smoke);
  });
});
