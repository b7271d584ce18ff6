/**
 * The real client: QEMU's vfio-user-pci (QEMU >= 10.1, built by tools/interop's build-qemu.sh
 * into /var/cache/nvmu/qemu-<version>/, or NVMU_INTEROP_QEMU) realizes the fake device on this
 * server: VERSION, device/region/IRQ info, config space through REGION_READ, DMA_MAP of the
 * memfd-backed guest RAM; SeaBIOS then sizes and assigns the BARs and enables the device; and
 * when QEMU quits the device detaches and everything is released. Skipped without such a QEMU.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { VfioUserServer } from '../../src/server.js';
import { fakeDevice, mappedMemfds, ourFds, tempDir } from '../server/helpers.js';

function findQemu(): string | undefined {
  const candidates: string[] = [];
  const env = process.env.NVMU_INTEROP_QEMU;
  if (env !== undefined && env !== '') candidates.push(env);
  const cache = process.env.NVMU_QEMU_CACHE ?? '/var/cache/nvmu';
  try {
    for (const n of readdirSync(cache).filter((d) => d.startsWith('qemu-')).sort().reverse()) candidates.push(join(cache, n, 'bin', 'qemu-system-x86_64'));
  } catch {
    // no cache
  }
  for (const q of candidates) {
    try {
      accessSync(q, constants.X_OK);
    } catch {
      continue;
    }
    const r = spawnSync(q, ['-nodefaults', '-machine', 'none', '-device', 'help'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0 && r.stdout.includes('"vfio-user-pci"')) return q;
  }
  return undefined;
}

const qemu = findQemu();

/** Polls every 20 ms (not every loop turn: QEMU needs the CPU) until `cond` holds; fails after `seconds`. */
async function waitFor(cond: () => boolean, seconds = 60): Promise<void> {
  for (let i = 0; i < seconds * 50 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error('condition not reached');
}

describe.skipIf(qemu === undefined)("QEMU's vfio-user-pci against the server", () => {
  it('realizes the device, maps guest RAM, lets SeaBIOS assign BARs, and detaches cleanly on quit', { timeout: 120_000 }, async () => {
    const dev = fakeDevice();
    // Not a storage class: SeaBIOS would drive an NVMe-class device it finds.
    const spec = { ...dev.spec, classCode: 0xff0000 };
    const { dir, cleanup } = tempDir();
    const logs: string[] = [];
    const server = VfioUserServer.listen(dir, { device: spec, hooks: dev.hooks, log: (level, m) => logs.push(`${level}: ${m}`) });
    const baseline = ourFds();
    try {
      const args = [
        '-nodefaults', '-display', 'none', '-accel', 'tcg',
        '-machine', 'q35,memory-backend=mem', '-m', '128M',
        '-object', 'memory-backend-memfd,id=mem,size=128M,share=on',
        '-L', '/usr/share/seabios', '-L', '/usr/share/qemu', '-L', '/usr/lib/ipxe/qemu',
        '-S', '-monitor', 'stdio',
        '-device', JSON.stringify({ driver: 'vfio-user-pci', socket: { path: server.socketPath, type: 'unix' } }),
      ];
      const child = spawn(qemu!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const monitor = async (cmd: string, expect: RegExp): Promise<string> => {
        const from = out.length;
        child.stdin.write(`${cmd}\n`);
        try {
          await waitFor(() => expect.test(out.slice(from)) || child.exitCode !== null);
        } catch {
          throw new Error(`QEMU did not answer '${cmd}'; its output:\n${out.slice(-3000)}\nserver log:\n${logs.join('\n')}`);
        }
        return out.slice(from);
      };
      await monitor('info pci', /Bus\s+0, device/);
      expect(dev.log.attached).toBe(1);
      const shared = dev.log.mapped.filter((r) => r.shared);
      expect(shared.length).toBeGreaterThan(0);
      // Guest RAM below 4 GiB is mapped with its memfd, readable and writable.
      expect(shared.some((r) => r.iova === 0 && r.readable && r.writable)).toBe(true);
      // Let SeaBIOS run: it sizes BAR0 and BAR4 and assigns them (polled: TCG on a busy machine is slow).
      child.stdin.write('c\n');
      let pci = '';
      for (let i = 0; i < 120; i++) {
        pci = await monitor('info pci', /PCI device 4e56:0001[\s\S]*?BAR4[^\n]*\n/);
        if (/BAR0: 64 bit memory at 0x(?!f{16})[0-9a-f]+/.test(pci) && /BAR4: 32 bit memory at 0x(?!f{8}\b)[0-9a-f]+/.test(pci)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(pci).toMatch(/PCI device 4e56:0001/);
      expect(pci).toMatch(/BAR0: 64 bit memory at 0x[0-9a-f]+ \[0x[0-9a-f]+\]/);
      expect(pci).toMatch(/BAR4: 32 bit memory at 0x[0-9a-f]+ \[0x[0-9a-f]+\]/);
      child.stdin.write('quit\n');
      await exited;
      await waitFor(() => dev.log.detached === 1);
      await server.idle();
      expect(server.context.dma.ranges()).toEqual([]);
      expect(mappedMemfds('').filter((l) => !l.includes('nvmu-vfio-user-bar'))).toEqual([]);
      expect(ourFds()).toEqual(baseline);
      expect(logs.filter((l) => l.startsWith('error'))).toEqual([]);
    } finally {
      await server.close();
      cleanup();
    }
  });
});
