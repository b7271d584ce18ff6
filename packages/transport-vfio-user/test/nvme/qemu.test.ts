/**
 * QEMU's vfio-user-pci against the NVMe controller, with no guest OS: SeaBIOS finds the class
 * 01:08:02 function, enables the controller, identifies it and its namespace, creates an I/O
 * queue pair and reads the boot sector through it (its nvme.c driver, polling). Skipped without a
 * QEMU >= 10.1 that has vfio-user-pci (NVMU_INTEROP_QEMU, or tools/interop's build-qemu.sh cache
 * in /var/cache/nvmu/qemu-<version>/bin).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MallocBdev, Target, silentLogger } from '@nvmu/nvmf';
import { describe, expect, it } from 'vitest';
import { VfioUserTargetTransport } from '../../src/target.js';
import { tempDir } from '../server/helpers.js';

function qemuWithVfioUser(): string | undefined {
  const fromEnv = process.env.NVMU_INTEROP_QEMU;
  const cache = process.env.NVMU_QEMU_CACHE ?? '/var/cache/nvmu';
  let cached: string[] = [];
  try {
    cached = readdirSync(cache)
      .filter((d) => d.startsWith('qemu-'))
      .sort()
      .reverse()
      .map((d) => join(cache, d, 'bin', 'qemu-system-x86_64'));
  } catch {
    cached = [];
  }
  return [...(fromEnv ? [fromEnv] : []), ...cached].find((bin) => {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return false;
    }
    const help = spawnSync(bin, ['-nodefaults', '-machine', 'none', '-device', 'help'], { encoding: 'utf8', timeout: 30_000 });
    return help.status === 0 && help.stdout.includes('"vfio-user-pci"');
  });
}

const qemu = qemuWithVfioUser();

describe.skipIf(qemu === undefined)('SeaBIOS in QEMU drives the NVMe controller', () => {
  it('enables it, creates an I/O queue and reads the boot sector', { timeout: 120_000 }, async () => {
    const target = new Target({ logger: silentLogger });
    const transport = new VfioUserTargetTransport({ poller: { maxDelayMs: 2 } });
    await target.addTransport(transport);
    const sub = target.createSubsystem({ nqn: 'nqn.2026-12.io.nvmu:seabios', allowAnyHost: true });
    const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 8192 });
    target.addBdev(bdev);
    sub.addNamespace({ bdev });
    const { dir, cleanup } = tempDir();
    await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: dir, trsvcid: '' });
    sub.start();
    const args = [
      '-nodefaults', '-display', 'none', '-accel', 'tcg',
      '-machine', 'q35,memory-backend=mem', '-m', '128M',
      '-object', 'memory-backend-memfd,id=mem,size=128M,share=on',
      '-L', '/usr/share/seabios', '-L', '/usr/share/qemu', '-L', '/usr/lib/ipxe/qemu',
      '-serial', 'none', '-monitor', 'none',
      '-device', JSON.stringify({ driver: 'vfio-user-pci', socket: { path: join(dir, 'cntrl'), type: 'unix' } }),
    ];
    const child = spawn(qemu ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      // Identify controller and namespace, Create I/O CQ and SQ, then the boot sector read.
      const done = (): boolean => (transport.stats(dir)?.completions ?? 0) >= 5;
      for (let i = 0; i < 600 && !done() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(child.exitCode, stderr).toBeNull();
      const s = transport.stats(dir);
      expect(s?.completions ?? 0, stderr).toBeGreaterThanOrEqual(5);
      expect(s?.slowCommands).toBe(0); // guest RAM is shared: zero-copy path
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await target.close();
      cleanup();
    }
  });
});
