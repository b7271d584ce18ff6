/**
 * A minimal writer for the "newc" cpio format (the one the Linux kernel unpacks as an initramfs,
 * `Documentation/driver-api/early-userspace/buffer-format.rst`). Used for the small per-run
 * archive (the guest script and its environment) that is appended to the cached base image: the
 * kernel unpacks concatenated archives in order, so no external `cpio` is needed per run.
 */

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (`nvmu/script.sh`). */
  readonly name: string;
  /** File contents; omit for a directory. */
  readonly data?: Buffer | string;
  /** Permission bits (default 0o644 for files, 0o755 for directories). */
  readonly mode?: number;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, size: number, nameSize: number): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
  // rdevminor, namesize, check — each field 8 hex digits.
  return (
    '070701' +
    hex8(ino) +
    hex8(mode) +
    hex8(0) +
    hex8(0) +
    hex8(mode & S_IFDIR ? 2 : 1) +
    hex8(0) +
    hex8(size) +
    hex8(0) +
    hex8(0) +
    hex8(0) +
    hex8(0) +
    hex8(nameSize) +
    hex8(0)
  );
}

/** Builds a newc archive of `entries` followed by the TRAILER!!! record. Length is a multiple of 4. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer): void => {
    const nameBuf = Buffer.from(`${name}\0`, 'utf8');
    const head = Buffer.from(header(ino++, mode, data.length, nameBuf.length), 'ascii');
    parts.push(head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length)));
    parts.push(data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    if (e.name.startsWith('/') || e.name.length === 0) throw new Error(`cpio: bad entry name '${e.name}'`);
    if (e.data === undefined) push(e.name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
    else push(e.name, S_IFREG | (e.mode ?? 0o644), typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data);
  }
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
