/**
 * Issue 14: the Linux `nvme` driver (Debian 12's 6.1 kernel, nvme-cli, fio) in a QEMU guest
 * against nvmu's vfio-user target, through QEMU's vfio-user-pci client (QEMU >= 10.1 from
 * scripts/build-qemu.sh). The target runs in a child process and serves a file-backed namespace
 * at `<dir>/cntrl`:
 *
 * 1. shared guest RAM (memfd: the target maps it): bind, nvme list / id-ctrl / id-ns, MSI-X
 *    counting up, dd, fio --verify=crc32c (4 KiB random, 128 KiB sequential, one job per I/O
 *    queue); then the guest reboots and finds its data;
 * 2. plain guest RAM (no fd: every transfer is DMA_READ / DMA_WRITE): the same flow against the
 *    same running target, writing data last;
 * 3. the target is stopped and started again; a new guest finds that data;
 * 4. interrupt mode (`--interrupt-mode` of the workspace's target): the doorbells are trapped,
 *    the guest runs the I/O flow, stays idle 3 s, then writes and reads back again; the target
 *    logs that it slept on messages and took doorbells as messages.
 *
 * The target: NVMU_VFIO_USER_TARGET, or DEFAULT_TARGET in the workspace once the vfio-user
 * transport provides it. It is run as
 *   [node] <target> --socket-dir DIR --file PATH --size-mib N --serial SN
 * must create the file at N MiB if it does not exist (keep it otherwise), serve one NVMe
 * controller with the file as namespace 1 at DIR/cntrl, print a line `READY` once listening, and
 * on SIGTERM flush, close and exit 0. Without a target these tests are skipped (with a notice);
 * without a vfio-user QEMU they fail under CI=true and are skipped elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runGuest, type GuestResult } from '../src/guest.js';
import { interopSkipped } from '../src/host.js';
import { pciNvmeFlow, type PciNvmeFlowReport } from '../src/pci-nvme.js';
import { findVfioUserQemu } from '../src/qemu.js';
import { expectFlow, report } from './pci-nvme-expect.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
/** Where the workspace's vfio-user target launcher is expected (built by `pnpm build`). */
const DEFAULT_TARGET = join(ROOT, 'packages', 'transport-vfio-user', 'dist', 'bin', 'serve-file.js');
const SIZE_MIB = 128;
const SERIAL = 'NVMU-VFU-INTEROP';

function targetCommand(): string | undefined {
  const env = process.env.NVMU_VFIO_USER_TARGET;
  if (env !== undefined && env !== '') return env;
  return existsSync(DEFAULT_TARGET) ? DEFAULT_TARGET : undefined;
}

const ci = process.env.CI === 'true' || process.env.CI === '1';
const target = targetCommand();
const noQemu = findVfioUserQemu() === undefined;
if (target === undefined) {
  console.log(`[interop] no vfio-user target (${DEFAULT_TARGET} or NVMU_VFIO_USER_TARGET): skipping the Linux guest ↔ nvmu vfio-user tests`);
}
const skip = interopSkipped() || target === undefined || (noQemu && !ci);

/** The target in a child process. */
class TargetProcess {
  readonly log: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;

  constructor(
    readonly socketDir: string,
    readonly file: string,
    readonly extraArgs: readonly string[] = [],
  ) {}

  get socketPath(): string {
    return join(this.socketDir, 'cntrl');
  }

  async start(): Promise<void> {
    const cmd = target!;
    const args = ['--socket-dir', this.socketDir, '--file', this.file, '--size-mib', String(SIZE_MIB), '--serial', SERIAL, ...this.extraArgs];
    const [bin, argv] = /\.[cm]?js$/.test(cmd) ? [process.execPath, [cmd, ...args]] : [cmd, args];
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exit = new Promise((resolve) => child.on('exit', (code) => { resolve(code); }));
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`the target printed no READY in 60 s:\n${this.tail()}`)); }, 60_000);
      const onData = (d: Buffer): void => {
        const text = d.toString();
        out += text;
        this.log.push(...text.split('\n').filter((l) => l !== ''));
        if (/^READY\b/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void this.exit?.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the target exited (${code}) before READY:\n${this.tail()}`));
      });
    });
    await ready;
    expect(existsSync(this.socketPath), this.tail()).toBe(true);
  }

  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit status. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (child === undefined || this.exit === undefined) return null;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await this.exit;
    clearTimeout(t);
    return code;
  }

  tail(): string {
    return this.log.slice(-60).join('\n');
  }
}

/**
 * A target child for the tests of one describe: started in a new temporary folder before them,
 * stopped (and the folder removed) after them. `get()` is the running TargetProcess.
 */
function targetPerDescribe(prefix: string, extraArgs: readonly string[] = []): { get: () => TargetProcess } {
  let dir = '';
  let t: TargetProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    t = new TargetProcess(join(dir, 'sock'), join(dir, 'ns1.img'), extraArgs);
    mkdirSync(t.socketDir, { recursive: true });
    await t.start();
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });
  return {
    get: () => {
      if (t === undefined) throw new Error('the target did not start');
      return t;
    },
  };
}

/** id-ns: nsze × the in-use LBA format's data size is the namespace's size in bytes. */
function namespaceBytes(f: PciNvmeFlowReport): number {
  const inUse = Object.entries(f.idNs).find(([k, v]) => k.startsWith('lbaf ') && v.includes('(in use)'));
  const lbads = Number(/lbads:(\d+)/.exec(inUse?.[1] ?? '')?.[1] ?? NaN);
  return Number(f.idNs.nsze) * 2 ** lbads;
}

describe.skipIf(skip)('Linux guest (nvme driver) → nvmu vfio-user target', () => {
  const served = targetPerDescribe('nvmu-vfu-interop-');
  let t: TargetProcess;
  let written: string | undefined;
  const why = (r: GuestResult): string => `--- target log (tail) ---\n${t.tail()}\n${report(r)}`;
  beforeEach(() => {
    t = served.get();
  });

  it('shared guest RAM: binds, identifies, MSI-X counts up, dd and fio verify pass; reboots and finds its data', async () => {
    const r = await runGuest({
      vfioUser: [t.socketPath],
      sharedMemory: true,
      reboot: true,
      script: pciNvmeFlow({ persist: 'reboot' }),
      timeoutMs: 600_000,
    });
    console.log(`[interop] nvmu vfio-user, shared RAM, with reboot: boots ${r.boots}, total ${r.durationMs} ms`);
    const f = expectFlow(r, { idCtrl: { sn: SERIAL } });
    expect(namespaceBytes(f), why(r)).toBe(SIZE_MIB * 1024 * 1024);
    expect(r.boots, why(r)).toBe(2);
    expect(f.rebooting && f.rebooted, why(r)).toBe(true);
    expect(f.persistRead, why(r)).toBe(f.persistWritten);
  }, 620_000);

  it('plain guest RAM (DMA_READ / DMA_WRITE): the same flow against the same running target', async () => {
    const r = await runGuest({
      vfioUser: [t.socketPath],
      sharedMemory: false,
      script: pciNvmeFlow({ persist: 'write' }),
      timeoutMs: 600_000,
    });
    console.log(`[interop] nvmu vfio-user, plain RAM: total ${r.durationMs} ms`);
    const f = expectFlow(r, { idCtrl: { sn: SERIAL } });
    expect(f.persistWritten, why(r)).toMatch(/^[0-9a-f]{32}$/);
    written = f.persistWritten;
  }, 620_000);

  it('the target is stopped and started again: the next guest finds the data (file bdev)', async () => {
    expect(written, 'the previous test wrote no data').toBeDefined();
    expect(await t.stop(), t.tail()).toBe(0);
    expect(existsSync(t.file)).toBe(true);
    await t.start();
    const r = await runGuest({
      vfioUser: [t.socketPath],
      sharedMemory: true,
      script: pciNvmeFlow({ persist: 'check' }),
      timeoutMs: 300_000,
    });
    const f = expectFlow(r, { io: false, idCtrl: { sn: SERIAL } });
    expect(f.persistRead, why(r)).toBe(written);
    expect(f.persistPassed, why(r)).toBe(true);
  }, 400_000);
});

/** The counters the workspace target logs when its client goes ('vfio-user nvme: detached {...}'). */
function detachedStats(log: readonly string[]): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (const line of log) {
    const m = /vfio-user nvme: detached (\{.*\})$/.exec(line);
    if (m !== null) out.push(JSON.parse(m[1] ?? '{}') as Record<string, number>);
  }
  return out;
}

// Interrupt mode is an option of the workspace's own target (serve-file --interrupt-mode).
describe.skipIf(skip || target !== DEFAULT_TARGET)('Linux guest (nvme driver) → nvmu vfio-user target in interrupt mode', () => {
  const served = targetPerDescribe('nvmu-vfu-intr-', ['--interrupt-mode']);

  it('trapped doorbells: binds, identifies, dd and fio verify pass; idle 3 s, then I/O again', async () => {
    const t = served.get();
    const r = await runGuest({
      vfioUser: [t.socketPath],
      sharedMemory: true,
      script: pciNvmeFlow({ idleS: 3 }),
      timeoutMs: 600_000,
    });
    console.log(`[interop] nvmu vfio-user, interrupt mode: total ${r.durationMs} ms`);
    const why = `--- target log (tail) ---\n${t.tail()}\n${report(r)}`;
    const f = expectFlow(r, { idCtrl: { sn: SERIAL } });
    expect(f.afterIdlePassed, why).toBe(true);
    // QEMU is gone: the target logged the controller's counters when it detached.
    const code = await t.stop();
    expect(code, why).toBe(0);
    const stats = detachedStats(t.log);
    expect(stats.length, why).toBeGreaterThanOrEqual(1);
    const last = stats[stats.length - 1] ?? {};
    console.log(`[interop] interrupt-mode target counters at detach: ${JSON.stringify(last)}`);
    // Doorbells came as REGION_WRITE messages (none could be mmapped) and the target slept on them.
    expect(last.doorbellMessages, why).toBeGreaterThan(0);
    expect(last.interruptSleeps, why).toBeGreaterThan(0);
    expect(last.commands, why).toBeGreaterThan(1000);
  }, 620_000);
});
