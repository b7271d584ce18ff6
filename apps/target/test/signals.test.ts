/**
 * The daemon as a process (dist/main.js, what `nvmu-target` runs): where it keeps its data
 * (`NVMU_DATA_DIR`, else `$XDG_DATA_HOME/nvmu`, else `~/.local/share/nvmu`), and SIGINT / SIGTERM
 * while a host has writes in flight: the process exits 0, and every write the host saw complete
 * is in the image when the daemon starts again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NvmeCommandAbortedError, NvmeCommandError, connect, type Controller } from '@nvmu/client';
import '@nvmu/transport-tcp/host';

const MAIN = join(import.meta.dirname, '../dist/main.js');
const NQN = 'nqn.2026-01.io.nvmu:cnode1';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nvmu-daemon-proc-'));
  dirs.push(d);
  return d;
}

async function freePort(): Promise<string> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return String(port);
}

interface Daemon {
  proc: ChildProcess;
  port: string;
  /** The folder the daemon says it keeps its data in. */
  dataDir: string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts dist/main.js with `env` (nothing of the data-folder variables inherited) and waits until it serves. */
async function startDaemonProcess(env: Record<string, string>, size = '16M'): Promise<Daemon> {
  const port = await freePort();
  // A run folder of its own: the RPC socket and the vfio-user endpoint stay out of the user's.
  const base: NodeJS.ProcessEnv = { ...process.env, NVMU_RUN_DIR: tempDir() };
  delete base.NVMU_DATA_DIR;
  delete base.XDG_DATA_HOME;
  const proc = spawn(process.execPath, [MAIN, '--listen', `127.0.0.1:${port}`, '--size', size, '--log-level', 'warn'], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const ready = new Promise<string>((resolve) => {
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('Ctrl-C stops it cleanly.')) resolve(out);
    });
  });
  const help = await Promise.race([
    ready,
    exited.then(([code]) => {
      throw new Error(`the daemon exited with ${String(code)} before serving: ${err}`);
    }),
  ]);
  const m = /\(data in (.+)\)\n/.exec(help);
  if (m?.[1] === undefined) throw new Error(`no data folder in the daemon's help: ${help}`);
  return { proc, port, dataDir: m[1], stderr: () => err, exited };
}

describe('data folder', () => {
  it.each([
    ['NVMU_DATA_DIR first', (d: string) => ({ NVMU_DATA_DIR: join(d, 'explicit'), XDG_DATA_HOME: join(d, 'xdg'), HOME: join(d, 'home') }), (d: string) => join(d, 'explicit')],
    ['else $XDG_DATA_HOME/nvmu', (d: string) => ({ XDG_DATA_HOME: join(d, 'xdg'), HOME: join(d, 'home') }), (d: string) => join(d, 'xdg', 'nvmu')],
    ['else ~/.local/share/nvmu', (d: string) => ({ HOME: join(d, 'home') }), (d: string) => join(d, 'home', '.local', 'share', 'nvmu')],
  ])('%s', async (_name, env, expected) => {
    const d = tempDir();
    const daemon = await startDaemonProcess(env(d), '1M');
    expect(daemon.dataDir).toBe(expected(d));
    expect(existsSync(join(expected(d), 'nvmu0.img'))).toBe(true);
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toEqual([0, null]);
  }, 30_000);
});

describe('shutdown on a signal with writes in flight', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s: exits 0, and every write that completed is there after a restart', async (signal) => {
    const d = tempDir();
    const env = { NVMU_DATA_DIR: d };
    const first = await startDaemonProcess(env);
    const trid = (port: string): string => `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}`;
    const ctrl: Controller = await connect(trid(first.port), { reconnect: false });
    const ns = ctrl.namespaces[0]!;
    const block = (i: number): Buffer => Buffer.alloc(4096, (i * 13 + 1) & 0xff);
    const units = ns.blockCount / 8;

    // 16 writers, each writing 4 KiB units until one fails; the signal goes out once 64 completed.
    const done: number[] = [];
    const failures: unknown[] = [];
    let next = 0;
    let inflight = 0;
    let inflightAtSignal = -1;
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((r) => (reached = r));
    const writer = async (): Promise<void> => {
      while (next < units) {
        const i = next++;
        inflight++;
        try {
          await ns.write(i * 8, block(i));
        } catch (e) {
          failures.push(e);
          return;
        } finally {
          inflight--;
        }
        done.push(i);
        if (done.length === 64) reached();
      }
    };
    const writers = Array.from({ length: 16 }, writer);
    await enough;
    inflightAtSignal = inflight;
    first.proc.kill(signal);
    expect(await first.exited).toEqual([0, null]);
    await Promise.all(writers);
    await ctrl.close();
    expect(first.stderr()).toContain(`${signal}, shutting down`);
    expect(inflightAtSignal).toBeGreaterThan(0);
    // Writes not done when the target went away fail as aborted (or with an NVMe status).
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f instanceof NvmeCommandAbortedError || f instanceof NvmeCommandError, String(f)).toBe(true);

    const second = await startDaemonProcess(env);
    expect(second.dataDir).toBe(d);
    const c2 = await connect(trid(second.port), { reconnect: false });
    try {
      for (const i of done) expect(Buffer.from(await c2.namespaces[0]!.read(i * 8, 8)).equals(block(i)), `unit ${i}`).toBe(true);
    } finally {
      await c2.close();
      second.proc.kill('SIGTERM');
      expect(await second.exited).toEqual([0, null]);
    }
  }, 60_000);
});
