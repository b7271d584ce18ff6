/**
 * The base initramfs: busybox, the NVMe host and target modules, nvme-cli, fio and their shared
 * libraries, all from the host's Debian packages. Built once per set of inputs and cached.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, utimesSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUILDER_SCRIPT, INIT_SCRIPT } from './guest-init.js';
import { findExecutable, findKernel, type KernelImage } from './host.js';

/** Modules put into every image (with their dependencies). */
export const DEFAULT_MODULES: readonly string[] = [
  'configfs',
  'virtio_pci',
  'virtio_net',
  'nvme-core',
  'nvme-fabrics',
  'nvme-tcp',
  'nvme',
  'nvmet',
  'nvmet-tcp',
  'null_blk',
  'brd',
  'loop',
  'crc32c_generic',
  'crc32c-intel',
];

/** Modules the guest's /init loads at every boot, before the script runs. */
export const AUTOLOAD_MODULES: readonly string[] = [
  'virtio_pci',
  'virtio_net',
  'crc32c_generic',
  'crc32c-intel',
  'nvme-tcp',
  'nvmet-tcp',
];

/** Programs put into every image (with their shared libraries); busybox provides the rest. */
export const DEFAULT_BINARIES: readonly string[] = ['nvme', 'fio', 'bash'];

export interface InitramfsOptions {
  /** Kernel whose modules go in (default: findKernel()). */
  readonly kernel?: KernelImage;
  /** More modules to include (loadable in the guest with `modprobe`). */
  readonly extraModules?: readonly string[];
  /** More programs to include, with their libraries. */
  readonly extraBinaries?: readonly string[];
  /** Where images are cached (default: see defaultCacheDir()). */
  readonly cacheDir?: string;
}

export interface Initramfs {
  /** Path of the cached archive. */
  readonly path: string;
  /** The kernel it was built for. */
  readonly kernel: KernelImage;
  /** Whether this call built it (false: it came from the cache). */
  readonly built: boolean;
  /** Time spent building (0 on a cache hit). */
  readonly buildMs: number;
}

/**
 * NVMU_INTEROP_CACHE if set; else `.interop/` at the workspace root (git-ignored) when this file
 * lives in the nvmu workspace; else `<os tmpdir>/nvmu-interop`.
 */
export function defaultCacheDir(): string {
  const env = process.env.NVMU_INTEROP_CACHE;
  if (env !== undefined && env !== '') return env;
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return join(dir, '.interop');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(tmpdir(), 'nvmu-interop');
}

function fingerprint(path: string): string {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return `${real}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `${path}:missing`;
  }
}

const COMPRESS: 'gzip' | 'none' = process.env.NVMU_INTEROP_COMPRESS === 'gzip' ? 'gzip' : 'none';

function cacheKey(kernel: KernelImage, modules: readonly string[], binaries: readonly string[]): string {
  const h = createHash('sha256');
  h.update(BUILDER_SCRIPT).update('\0').update(INIT_SCRIPT).update('\0');
  h.update(kernel.version).update('\0').update(COMPRESS).update('\0');
  h.update(fingerprint(join('/lib/modules', kernel.version, 'modules.dep'))).update('\0');
  h.update(fingerprint('/bin/busybox')).update('\0');
  h.update(modules.join(' ')).update('\0').update(AUTOLOAD_MODULES.join(' ')).update('\0');
  for (const b of binaries) h.update(fingerprint(findExecutable(b) ?? b)).update('\0');
  return h.digest('hex').slice(0, 16);
}

function runBuilder(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', BUILDER_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`initramfs build failed (${signal ?? `exit ${code}`}):\n${log.trim()}`));
    });
  });
}

const PRUNE_AGE_MS = 7 * 24 * 3600 * 1000;

/** Removes images (~100 MB each) and extracted kernels unused for a week; each use refreshes an image's mtime. */
function pruneCache(cacheDir: string, keep: string): void {
  for (const name of readdirSync(cacheDir)) {
    if (!name.startsWith('initramfs-') && !name.startsWith('vmlinux-')) continue;
    const p = join(cacheDir, name);
    if (p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > PRUNE_AGE_MS) rmSync(p, { force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

const inFlight = new Map<string, Promise<Initramfs>>();

/** Returns the cached image for these inputs, building it first if needed (about 5–10 s). */
export function buildInitramfs(opts: InitramfsOptions = {}): Promise<Initramfs> {
  const kernel = opts.kernel ?? findKernel();
  const modules = [...new Set([...DEFAULT_MODULES, ...(opts.extraModules ?? [])])];
  const binaries = [...new Set([...DEFAULT_BINARIES, ...(opts.extraBinaries ?? [])])];
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const key = cacheKey(kernel, modules, binaries);
  const path = join(cacheDir, `initramfs-${kernel.version}-${key}.cpio${COMPRESS === 'gzip' ? '.gz' : ''}`);
  if (existsSync(path)) {
    // Marks it in use, so pruning by age keeps it.
    const now = new Date();
    utimesSync(path, now, now);
    return Promise.resolve({ path, kernel, built: false, buildMs: 0 });
  }
  const pending = inFlight.get(path);
  if (pending) return pending;
  const p = (async (): Promise<Initramfs> => {
    const t0 = performance.now();
    mkdirSync(cacheDir, { recursive: true });
    const stage = await mkdtemp(join(cacheDir, 'stage-'));
    // Unique per process, renamed into place: concurrent builders never see a partial file.
    const tmpOut = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(join(stage, 'init'), INIT_SCRIPT, { mode: 0o755 });
      await mkdir(join(stage, 'etc', 'nvmu'), { recursive: true });
      await writeFile(join(stage, 'etc', 'nvmu', 'autoload'), `${AUTOLOAD_MODULES.join('\n')}\n`);
      await runBuilder({
        ...process.env,
        PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`,
        NVMU_ROOT: stage,
        NVMU_KVER: kernel.version,
        NVMU_MODULES: modules.join(' '),
        NVMU_BINARIES: binaries.join(' '),
        NVMU_OUT: tmpOut,
        NVMU_COMPRESS: COMPRESS,
      });
      await rename(tmpOut, path);
      pruneCache(cacheDir, path);
      return { path, kernel, built: true, buildMs: Math.round(performance.now() - t0) };
    } finally {
      inFlight.delete(path);
      await rm(stage, { recursive: true, force: true });
      await rm(tmpOut, { force: true });
    }
  })();
  inFlight.set(path, p);
  return p;
}
