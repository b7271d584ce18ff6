/**
 * Facts about the host machine: which kernel to boot, which accelerator works, where QEMU is.
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface KernelImage {
  /** Path of the kernel image (`/boot/vmlinuz-6.1.0-57-amd64`). */
  readonly path: string;
  /** Its version, as `uname -r` prints it in the guest and as /lib/modules names it. */
  readonly version: string;
}

/** Compares dotted/dashed version strings numerically piece by piece (6.1.0-57 < 6.1.0-100). */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isInteger(nx) && Number.isInteger(ny) && x !== '' && y !== '' ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * The newest Debian kernel in /boot that has its modules installed (or the one named by
 * NVMU_INTEROP_KERNEL). Throws with a hint to install-deps.sh when there is none.
 */
export function findKernel(bootDir = '/boot'): KernelImage {
  const forced = process.env.NVMU_INTEROP_KERNEL;
  if (forced !== undefined && forced !== '') {
    const m = /vmlinuz-(.+)$/.exec(forced);
    if (m?.[1] === undefined) throw new Error(`NVMU_INTEROP_KERNEL=${forced}: expected a path ending in vmlinuz-<version>`);
    return { path: forced, version: m[1] };
  }
  let names: string[] = [];
  try {
    names = readdirSync(bootDir);
  } catch {
    // No /boot at all: reported below.
  }
  const versions = names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join('/lib/modules', v, 'modules.dep')))
    .sort(compareVersions);
  const version = versions.at(-1);
  if (version === undefined) {
    throw new Error(
      `no kernel image with modules in ${bootDir} (expected ${bootDir}/vmlinuz-<version> and /lib/modules/<version>): ` +
        'run tools/interop/scripts/install-deps.sh as root',
    );
  }
  return { path: join(bootDir, `vmlinuz-${version}`), version };
}

/** Finds an executable on PATH (plus the sbin directories, which a non-root PATH may lack). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export type Accel = 'kvm' | 'tcg';

/**
 * KVM only when /dev/kvm opens read-write and the host is not a PVM guest: on PVM
 * (`/sys/module/kvm_pvm`, nested virtualization without VMX/SVM) QEMU's `-accel kvm` aborts or
 * hangs with a stock kernel (shared INTEROP.md), so TCG is used there. NVMU_INTEROP_ACCEL
 * (`kvm` / `tcg`) overrides.
 */
export function detectAccel(): Accel {
  const forced = process.env.NVMU_INTEROP_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (existsSync('/sys/module/kvm_pvm')) return 'tcg';
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

/**
 * Whether interop tests should be skipped: NVMU_SKIP_INTEROP=1. Without it, tests that boot
 * guests run and fail with a clear message when QEMU or the kernel is missing. Under CI=true the
 * variable is refused (throws): CI runs the interop tests, so a skip there would be a green run
 * that tested nothing.
 */
export function interopSkipped(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NVMU_SKIP_INTEROP !== '1') return false;
  if (env.CI === 'true') {
    throw new Error('NVMU_SKIP_INTEROP=1 is refused under CI=true: CI runs the interop tests (unset NVMU_SKIP_INTEROP)');
  }
  return true;
}
