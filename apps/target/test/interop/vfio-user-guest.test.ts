/**
 * The banner's QEMU line against the default daemon: the daemon starts as a user starts it (no
 * options but its folders), prints `qemu-system-x86_64 ... -device '{"driver":"vfio-user-pci",...}'`,
 * and a Linux guest (Debian 12's 6.1 kernel, tools/interop) booted with that line's memory and
 * device options binds its `nvme` driver to the controller and lists the namespace in `nvme list`
 * (model `nvmu`, serial NVMU0001, the image's size).
 *
 * NVMU_SKIP_INTEROP=1 skips it; without a QEMU that has vfio-user-pci (tools/interop's
 * build-qemu.sh) it is skipped too, except under CI=true.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { findVfioUserQemu, guestScripts as g, interopSkipped, runGuest } from '@nvmu/interop';

import { freePort, startDaemonProcess } from '../process.js';

const qemu = findVfioUserQemu();
const skip = interopSkipped() || (qemu === undefined && process.env.CI !== 'true');
const dir = mkdtempSync(join(tmpdir(), 'nvmu-vfu-guest-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The words of a shell line with single-quoted parts (what the banner prints). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? '');
  return words;
}

describe.skipIf(skip)("Linux guest booted with the banner's QEMU options → the default daemon over vfio-user", () => {
  it(
    'binds nvme to the controller and shows the namespace in nvme list',
    async () => {
      const run = join(dir, 'run');
      const d = await startDaemonProcess(['--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '64M'], { NVMU_RUN_DIR: run });
      try {
        const line = d.stdout().split('\n').map((l) => l.trim()).find((l) => l.startsWith('qemu-system-x86_64 '));
        if (line === undefined) throw new Error(`no QEMU line in the banner:\n${d.stdout()}`);
        const words = shellWords(line);
        const opt = (name: string): string => {
          const i = words.indexOf(name);
          const v = i < 0 ? undefined : words[i + 1];
          if (v === undefined) throw new Error(`the banner's QEMU line has no ${name}: ${line}`);
          return v;
        };
        // The harness lays out guest memory itself; the banner's must be the same shape: q35 with
        // its RAM in a shared memfd backend of the -m size.
        expect(opt('-machine')).toBe('q35,memory-backend=mem');
        expect(opt('-m')).toBe('1G');
        expect(opt('-object')).toBe('memory-backend-memfd,id=mem,size=1G,share=on');
        const device = opt('-device');
        expect(JSON.parse(device)).toEqual({ driver: 'vfio-user-pci', socket: { path: join(run, 'vfu0', 'cntrl'), type: 'unix' } });
        const r = await runGuest({
          ...(qemu === undefined ? {} : { qemu }),
          machine: 'q35',
          sharedMemory: true,
          memoryMiB: 1024,
          qemuArgs: ['-device', device],
          script: [g.prelude(), g.pciNvmeController({ waitS: 60 }), 'echo "--- nvme list"', 'nvme list', 'echo "DEV $dev"', ''].join('\n'),
          timeoutMs: 300_000,
        });
        const out = r.guestOutput;
        expect(r.exitCode, `${out}\n${r.output.slice(-3000)}\n${r.qemuStderr}\n${d.stderr().slice(-3000)}`).toBe(0);
        expect(out).toMatch(/BOUND \S+ nvme nvme\d+/);
        const list = out.slice(out.indexOf('--- nvme list'));
        expect(list).toMatch(/\/dev\/nvme\d+n1/);
        expect(list).toContain('NVMU0001');
        expect(list).toMatch(/nvmu/);
        expect(list).toMatch(/67\.11\s+MB/);
      } finally {
        expect(await d.stop()).toBe(0);
      }
    },
    330_000,
  );
});
