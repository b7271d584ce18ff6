/**
 * PVH boot: QEMU can start an uncompressed ELF vmlinux directly at its PVH entry point
 * (XEN_ELFNOTE_PHYS32_ENTRY, present when the kernel has CONFIG_PVH=y). That skips the
 * firmware's real-mode path and the kernel's self-decompression, which under TCG take about
 * 5 of the 8–11 s a bzImage needs to reach /init. The vmlinux is extracted once from the
 * bzImage's compressed payload and cached next to the initramfs.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelImage } from './host.js';

/** Compressed payload formats a bzImage may carry, with the tool that decompresses each. */
const PAYLOADS: readonly { magic: Buffer; cmd: string; args: string[] }[] = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), cmd: 'xz', args: ['-dc', '--single-stream'] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), cmd: 'zstd', args: ['-dcq'] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), cmd: 'gzip', args: ['-dc'] },
];

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    return head.equals(ELF_MAGIC);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Whether the kernel was built with a PVH entry point (its /boot/config-<version> says so). */
export function kernelHasPvh(kernel: KernelImage): boolean {
  try {
    return /^CONFIG_PVH=y$/m.test(readFileSync(`/boot/config-${kernel.version}`, 'utf8'));
  } catch {
    return false;
  }
}

/** Decompresses the bzImage payload into an ELF vmlinux; undefined when no format fits. */
export function extractVmlinux(image: Buffer): Buffer | undefined {
  for (const p of PAYLOADS) {
    for (let off = image.indexOf(p.magic); off >= 0; off = image.indexOf(p.magic, off + 1)) {
      // The payload runs to the end of the image, followed by a little trailer the tools ignore
      // (xz --single-stream) or warn about (gzip: exit 2, output complete).
      const r = spawnSync(p.cmd, p.args, { input: image.subarray(off), maxBuffer: 1 << 30 });
      // EPIPE is expected: xz stops reading at the end of its stream, before the trailer.
      if (r.error?.message.includes('ENOENT') === true) break; // tool not installed
      if (r.stdout.length > 4 && r.stdout.subarray(0, 4).equals(ELF_MAGIC)) return r.stdout;
    }
  }
  return undefined;
}

/**
 * The path to boot: a cached, extracted vmlinux when the kernel supports PVH and extraction
 * works, else the bzImage itself. NVMU_INTEROP_PVH=0 always boots the bzImage.
 */
export function bootableKernel(kernel: KernelImage, cacheDir: string): string {
  if (process.env.NVMU_INTEROP_PVH === '0') return kernel.path;
  if (isElf(kernel.path)) return kernel.path;
  if (!kernelHasPvh(kernel)) return kernel.path;
  const st = statSync(kernel.path);
  const out = join(cacheDir, `vmlinux-${kernel.version}-${st.size}-${Math.trunc(st.mtimeMs)}`);
  if (existsSync(out)) {
    const now = new Date();
    utimesSync(out, now, now);
    return out;
  }
  let image: Buffer;
  try {
    image = readFileSync(kernel.path);
  } catch (e) {
    // Debian installs /boot/vmlinuz-* mode 0600: QEMU could not read it either.
    throw new Error(`cannot read ${kernel.path} (${(e as Error).message}): run as root, or make it readable`);
  }
  const elf = extractVmlinux(image);
  if (elf === undefined) return kernel.path;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, elf);
  renameSync(tmp, out);
  return out;
}
