/**
 * `nvmu-target` as a user runs it (issue 12): every argument checked before anything is created
 * on disk, one exit-status rule (2 usage, 1 runtime), an existing image's size kept, a clean
 * exit 0 on SIGINT/SIGTERM, and a host with an empty HOSTNQN (SPDK's default) doing I/O against
 * the daemon in another process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connect } from '@nvmu/client';
import '@nvmu/transport-tcp/host';

import { EXIT, HELP, UsageError, handleShutdownSignals, parseCommand } from '../src/index.js';

const pkg = join(import.meta.dirname, '..');
const MAIN = join(pkg, 'dist/main.js');
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  // The CLI runs from dist/: build it (tsc, a few seconds).
  const b = spawnSync(process.execPath, [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: pkg, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
}, 120_000);
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nvmu-cli-'));
  dirs.push(d);
  return d;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => { r(); }));
  return typeof a === 'object' && a !== null ? a.port : 0;
}

/** Run the CLI to completion (for the runs that must fail before serving). */
function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start the CLI and wait until it prints how to connect. */
async function serve(args: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  for (let i = 0; i < 600 && !out.includes('Ctrl-C stops it'); i++) {
    const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => { r(false); }, 50))]);
    if (done) throw new Error(`daemon exited before serving: ${err}`);
  }
  if (!out.includes('Ctrl-C stops it')) throw new Error(`daemon did not start: ${err}`);
  return { child, stderr: () => err, exited };
}

describe('argument checks', () => {
  it('states the exit-status rule in --help and exits 0 for it', () => {
    expect(parseCommand(['--help'])).toEqual({ help: true });
    expect(HELP).toMatch(/Exit status:[\s\S]*\b1\b[\s\S]*runtime failure[\s\S]*\b2\b[\s\S]*usage error/);
    const r = run(['--help']);
    expect(r.status).toBe(EXIT.ok);
    expect(r.stdout).toContain('Exit status:');
  });

  it('refuses bad NQNs, ports and sizes as usage errors naming the option', () => {
    const bad: [string[], RegExp][] = [
      [['--nqn', 'bogus'], /--nqn bogus: not a valid NQN/],
      [['--nqn', `nqn.2026-01.io.nvmu:${'x'.repeat(210)}`], /longer than 223 bytes/],
      [['--listen', '127.0.0.1:0'], /port "0"/],
      [['--listen', '127.0.0.1:70000'], /port "70000"/],
      [['--listen', '127.0.0.1:http'], /port "http"/],
      [['--size', '0'], /--size 0/],
      [['--size', '1.5G'], /--size 1.5G/],
      [['--size', '1000'], /not a multiple of the block size 512/],
      [['--size', '6K', '--block-size', '4096'], /not a multiple of the block size 4096/],
      [['stray'], /positional|Unexpected argument/i],
    ];
    for (const [args, msg] of bad) {
      expect(() => parseCommand(args), args.join(' ')).toThrow(UsageError);
      expect(() => parseCommand(args), args.join(' ')).toThrow(msg);
    }
  });

  it('exits 2 for a usage error and 1 for a busy port, and leaves nothing on disk either way', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'data');
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    for (const args of [
      ['--nqn', 'nqn.bad', '--listen', listen],
      ['--size', '1000', '--listen', listen],
      ['--listen', '127.0.0.1:99999'],
    ]) {
      const r = run([...args, '--data-dir', dataDir]);
      expect(r.status, args.join(' ')).toBe(EXIT.usage);
      expect(r.stderr).toMatch(/--help/);
      expect(existsSync(dataDir)).toBe(false);
    }
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    try {
      const r = run(['--data-dir', dataDir, '--listen', listen, '--size', '1M']);
      expect(r.status).toBe(EXIT.failure);
      expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise<void>((r) => busy.close(() => { r(); }));
    }
    expect(readdirSync(parent)).toEqual([]);
  }, 60_000);
});

describe('an existing image', () => {
  it('is served at its own size without --size, and a --size that disagrees names both sizes', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    const image = join(dataDir, 'nvmu0.img');
    writeFileSync(image, '');
    truncateSync(image, 256 * 2 ** 20);
    const port = await freePort();
    const d = await serve(['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`]);
    const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:nqn.2026-01.io.nvmu:cnode1`, { reconnect: false });
    expect(ctrl.namespaces[0]?.size).toBe(256 * 2 ** 20);
    await ctrl.close();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(EXIT.ok);

    const r = run(['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--size', '1G']);
    expect(r.status).toBe(EXIT.usage);
    expect(r.stderr).toContain('1073741824 bytes (1 GiB)');
    expect(r.stderr).toContain('268435456 bytes (256 MiB)');
    expect(statSync(image).size).toBe(256 * 2 ** 20);
  }, 60_000);
});

describe('signals and a host with an empty HOSTNQN, across processes', () => {
  it('serves a host whose Connect carries an all-zero HOSTNQN (SPDK default), warns once naming it, and exits 0 on SIGINT', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const d = await serve(['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--size', '8M']);
    const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:nqn.2026-01.io.nvmu:cnode1`, { reconnect: false, hostnqn: '' });
    const data = Buffer.alloc(4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 5) & 0xff;
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    await ns.write(8, data);
    expect(Buffer.from(await ns.read(8, 8)).equals(data)).toBe(true);
    await ctrl.close();
    const warns = d
      .stderr()
      .split('\n')
      .filter((l) => l.includes('host NQN is not a valid NQN'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0] ?? '{}')).toMatchObject({ level: 'warn', hostnqn: '', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown });
    d.child.kill('SIGINT');
    expect(await d.exited).toBe(EXIT.ok);
    expect(d.stderr()).toContain('nvmu-target: stopped');
  }, 60_000);

  it('exits at once with 1 on a second signal while the shutdown runs', () => {
    const proc = new EventEmitter();
    const codes: number[] = [];
    let stops = 0;
    handleShutdownSignals({ stop: () => { stops++; return new Promise<void>(() => undefined); }, say: () => undefined, exit: (c) => { codes.push(c); } }, proc);
    proc.emit('SIGTERM');
    expect(codes).toEqual([]);
    proc.emit('SIGINT');
    expect(codes).toEqual([EXIT.failure]);
    expect(stops).toBe(1);
  });
});
