/**
 * The QEMU the vfio-user interop tests need (>= 10.1, vfio-user-pci; scripts/build-qemu.sh) and
 * the harness around it: q35, Debian's firmware, shared memfd or plain guest RAM, guest reboots,
 * and the PCI NVMe guest flow — run here against QEMU's own NVMe emulation, which stands in for
 * a vfio-user target so the guest side is known good before nvmu's target meets it.
 *
 * Under CI=true a missing QEMU fails these tests (install-deps.sh builds it); elsewhere it skips
 * them. NVMU_SKIP_INTEROP=1 skips them too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runGuest, startGuest, type RunningGuest } from '../src/guest.js';
import { interopSkipped } from '../src/host.js';
import { pciNvmeFlow } from '../src/pci-nvme.js';
import { findVfioUserQemu, qemuHasDevice, requireVfioUserQemu } from '../src/qemu.js';
import { expectFlow, report } from './pci-nvme-expect.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const missing = findVfioUserQemu() === undefined;
if (missing && !ci) console.log('[interop] no QEMU with vfio-user-pci (scripts/build-qemu.sh): skipping the vfio-user QEMU tests');

/** The open files of a process, as link targets (memfds read `/memfd:<name> (deleted)`). */
function openFiles(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed meanwhile.
    }
  }
  return out;
}

describe.skipIf(interopSkipped() || (missing && !ci))('QEMU with vfio-user-pci', () => {
  const running: RunningGuest[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((x) => x.stop()));
  });

  it('runs, is QEMU >= 10.1 and lists vfio-user-pci', () => {
    const qemu = requireVfioUserQemu(); // throws (the test fails) when there is none
    const v = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    const m = /QEMU emulator version (\d+)\.(\d+)/.exec(v.stdout);
    expect(m, v.stdout).not.toBeNull();
    expect(Number(m![1]) * 100 + Number(m![2]), v.stdout).toBeGreaterThanOrEqual(1001);
    expect(qemuHasDevice(qemu, 'vfio-user-pci')).toBe(true);
    const help = spawnSync(qemu, ['-device', 'vfio-user-pci,help'], { encoding: 'utf8' });
    expect(help.stdout).toMatch(/socket=/);
  });

  for (const shared of [true, false]) {
    it(`boots a q35 guest with ${shared ? 'shared memfd' : 'plain (unshared)'} RAM and Debian's firmware; nvme and nvme_core load`, async () => {
      const guest = await startGuest({
        qemu: requireVfioUserQemu(),
        machine: 'q35',
        sharedMemory: shared,
        script: [
          'modprobe nvme || echo "FAIL: modprobe nvme"',
          'lsmod',
          'echo "HOST-BRIDGE $(cat /sys/bus/pci/devices/0000:00:00.0/vendor):$(cat /sys/bus/pci/devices/0000:00:00.0/device)"',
          'echo "CPUS $(grep -c ^processor /proc/cpuinfo)"',
          'echo READY',
          'read -r line',
          '',
        ].join('\n'),
        timeoutMs: 170_000,
      });
      running.push(guest);
      await guest.waitFor(/^READY$/m);
      // Guest RAM is QEMU's memfd exactly when shared: what a vfio-user server maps.
      expect(openFiles(guest.pid).some((l) => l.startsWith('/memfd:mem')), openFiles(guest.pid).join('\n')).toBe(shared);
      guest.send('done\n');
      const r = await guest.result;
      console.log(`[interop] q35 ${shared ? 'memfd' : 'plain'} RAM: boot ${r.bootMs} ms, total ${r.durationMs} ms (${r.accel})`);
      expect(r.exitCode, report(r)).toBe(0);
      expect(r.guestOutput).not.toContain('FAIL');
      for (const mod of ['nvme', 'nvme_core']) expect(r.guestOutput, report(r)).toMatch(new RegExp(`^${mod}\\s`, 'm'));
      // q35's host bridge (Intel 82G33/MCH, 8086:29c0), not i440FX.
      expect(r.guestOutput, report(r)).toMatch(/^HOST-BRIDGE 0x8086:0x29c0$/m);
      expect(r.guestOutput).toMatch(/^CPUS 2$/m);
      expect(r.qemuStderr, report(r)).not.toMatch(/could not load|failed to find romfile/i);
    });
  }

  describe("the PCI NVMe guest flow against QEMU's own NVMe emulation (stand-in for a vfio-user target)", () => {
    let dir = '';
    let nvme: string[] = [];
    let written: string | undefined;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'nvmu-qemu-nvme-'));
      const disk = join(dir, 'disk.img');
      // 128 MiB: fio's regions from 0, the persisted data at 64 MiB.
      writeFileSync(disk, '');
      truncateSync(disk, 128 * 1024 * 1024);
      nvme = ['-drive', `file=${disk},if=none,id=nvm,format=raw,cache=writeback`, '-device', 'nvme,serial=nvmu-stand-in,drive=nvm'];
    });
    afterAll(() => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('binds, identifies, counts MSI-X, verifies dd and fio, reboots and finds its data (shared RAM)', async () => {
      const r = await runGuest({
        qemu: requireVfioUserQemu(),
        machine: 'q35',
        sharedMemory: true,
        reboot: true,
        qemuArgs: nvme,
        script: pciNvmeFlow({ persist: 'reboot' }),
        timeoutMs: 400_000,
      });
      console.log(`[interop] stand-in flow with reboot: boots ${r.boots}, total ${r.durationMs} ms`);
      const f = expectFlow(r, { idCtrl: { sn: 'nvmu-stand-in' }, nsze: (128 * 1024 * 1024) / 512 });
      expect(r.boots, report(r)).toBe(2);
      expect(f.rebooting && f.rebooted, report(r)).toBe(true);
      expect(f.persistWritten, report(r)).toMatch(/^[0-9a-f]{32}$/);
      expect(f.persistRead, report(r)).toBe(f.persistWritten);
      expect(f.persistPassed).toBe(true);
      written = f.persistWritten;
    }, 420_000);

    it('a second guest (plain RAM) finds the data the first one wrote', async () => {
      expect(written, 'the previous test wrote no data').toBeDefined();
      const r = await runGuest({
        qemu: requireVfioUserQemu(),
        machine: 'q35',
        qemuArgs: nvme,
        script: pciNvmeFlow({ persist: 'check' }),
        timeoutMs: 170_000,
      });
      const f = expectFlow(r, { io: false, idCtrl: { sn: 'nvmu-stand-in' } });
      expect(f.persistRead, report(r)).toBe(written);
      expect(f.persistPassed).toBe(true);
    });
  });
});
