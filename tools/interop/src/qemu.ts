/**
 * Which QEMU runs a guest, and what it needs around it.
 *
 * Debian 12's QEMU (7.2) has no vfio-user client; scripts/build-qemu.sh builds a QEMU >= 10.1
 * with `vfio-user-pci` from Debian's sid source package into a cache outside the clone
 * (`/var/cache/nvmu/qemu-<version>/bin/qemu-system-x86_64`). This module finds that binary,
 * checks that it offers a device, and gives the firmware search path such a build needs (it is
 * built with --disable-install-blobs, so it has no firmware of its own: Debian 12's seabios,
 * qemu-system-data and ipxe-qemu provide it).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from './host.js';

/** Where build-qemu.sh puts its builds: NVMU_QEMU_CACHE, else /var/cache/nvmu. */
export function qemuCacheDir(): string {
  const env = process.env.NVMU_QEMU_CACHE;
  return env !== undefined && env !== '' ? env : '/var/cache/nvmu';
}

/** Compares `10.2.2+ds-1`-like versions numerically piece by piece. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+~-]/);
  const pb = b.split(/[.+~-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const c = x !== '' && y !== '' && Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `qemu-system-x86_64` binaries in the build cache, newest version first. */
export function cachedQemus(cacheDir = qemuCacheDir()): string[] {
  let names: string[];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith('qemu-'))
    .sort((a, b) => compareVersions(b.slice('qemu-'.length), a.slice('qemu-'.length)))
    .map((n) => join(cacheDir, n, 'bin', 'qemu-system-x86_64'))
    .filter(isExecutable);
}

const deviceLists = new Map<string, string | null>();

/** Whether `qemu -device help` lists `device` (memoized per binary; false when it does not run). */
export function qemuHasDevice(qemu: string, device: string): boolean {
  let list = deviceLists.get(qemu);
  if (list === undefined) {
    const r = spawnSync(qemu, ['-nodefaults', '-machine', 'none', '-device', 'help'], { encoding: 'utf8', timeout: 30_000 });
    list = r.status === 0 ? r.stdout : null;
    deviceLists.set(qemu, list);
  }
  return list?.includes(`"${device}"`) === true;
}

export class QemuNotFoundError extends Error {
  override readonly name = 'QemuNotFoundError';
}

/**
 * The QEMU for guests with a vfio-user device: NVMU_INTEROP_QEMU when set (it must list
 * vfio-user-pci), else the newest intact build in the cache. Returns undefined when there is
 * none; `requireVfioUserQemu()` throws instead.
 */
export function findVfioUserQemu(cacheDir = qemuCacheDir()): string | undefined {
  const named = process.env.NVMU_INTEROP_QEMU;
  if (named !== undefined && named !== '') return qemuHasDevice(named, 'vfio-user-pci') ? named : undefined;
  return cachedQemus(cacheDir).find((q) => qemuHasDevice(q, 'vfio-user-pci'));
}

/** Like findVfioUserQemu(), but throws a QemuNotFoundError that says how to get one. */
export function requireVfioUserQemu(cacheDir = qemuCacheDir()): string {
  const q = findVfioUserQemu(cacheDir);
  if (q !== undefined) return q;
  const named = process.env.NVMU_INTEROP_QEMU;
  throw new QemuNotFoundError(
    named !== undefined && named !== ''
      ? `NVMU_INTEROP_QEMU=${named} does not run or has no vfio-user-pci device (QEMU >= 10.1 needed)`
      : `no QEMU with vfio-user-pci in ${cacheDir}: run tools/interop/scripts/build-qemu.sh as root ` +
          '(install-deps.sh runs it), or set NVMU_INTEROP_QEMU=/path/to/qemu-system-x86_64 (QEMU >= 10.1)',
  );
}

/** Debian 12's firmware directories (seabios, qemu-system-data, ipxe-qemu), in search order. */
export const DEBIAN_FIRMWARE_DIRS: readonly string[] = ['/usr/share/seabios', '/usr/share/qemu', '/usr/lib/ipxe/qemu'];

/**
 * `-L DIR` arguments for a QEMU that is not Debian's own (which finds its firmware itself): the
 * Debian firmware directories that exist.
 */
export function firmwareArgs(qemu: string): string[] {
  const system = findExecutable('qemu-system-x86_64');
  if (qemu === '/usr/bin/qemu-system-x86_64' || (system !== undefined && qemu === system && system.startsWith('/usr/'))) return [];
  return DEBIAN_FIRMWARE_DIRS.filter((d) => existsSync(d)).flatMap((d) => ['-L', d]);
}

/**
 * A vfio-user-pci device on QEMU's command line: QEMU's JSON -device syntax with a unix socket
 * (`<dir>/cntrl` for an SPDK-style listener directory).
 */
export function vfioUserDeviceArgs(socketPath: string, id?: string): string[] {
  return ['-device', JSON.stringify({ driver: 'vfio-user-pci', ...(id === undefined ? {} : { id }), socket: { path: socketPath, type: 'unix' } })];
}
