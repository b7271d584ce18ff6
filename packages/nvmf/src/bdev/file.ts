/**
 * File-backed bdev: a regular file (or block device node) as a namespace. Durable: Flush and
 * FUA writes reach fdatasync(2), so a completed Flush survives power loss of the host machine
 * (as far as the file system keeps its promise).
 *
 * I/O uses Node's callback-style fs.read/fs.write on the file descriptor, one call per iovec
 * segment. This path ALLOCATES per I/O (libuv request objects inside Node, and one small state
 * object here); storage I/O dominates it. Write Zeroes and Deallocate write zeros (Node offers no
 * fallocate(PUNCH_HOLE)), which keeps "deallocated blocks read as zeros" true.
 */
import * as fs from 'node:fs';
import { EMPTY } from '../iov.js';
import { BdevBase, BdevStatus, type BdevCallback } from './bdev.js';

export interface FileBdevOptions {
  name: string;
  /** Path of the image file. */
  path: string;
  /** 512 or 4096. Default 512. */
  blockSize?: number;
  /**
   * Size in bytes for a new image. When the file does not exist and `size` is given, a sparse
   * file of this size is created. When it exists, `size` must be absent or equal (use
   * `resize()` to change it).
   */
  size?: number;
  /** Open read-only (writes fail with Write Fault). Default false. */
  readOnly?: boolean;
  uuid?: string;
}

const ZERO_CHUNK = new Uint8Array(1 << 20);

interface FileOp<C> {
  iov: readonly Uint8Array[];
  iovcnt: number;
  /** Current iovec index and offset inside it. */
  i: number;
  segOff: number;
  pos: number;
  left: number;
  write: boolean;
  fua: boolean;
  cb: BdevCallback<C>;
  ctx: C;
}

export class FileBdev extends BdevBase {
  readonly kind = 'file';
  readonly volatileWriteCache = true;
  readonly path: string;
  readonly readOnly: boolean;
  private fd: number;
  private closed = false;

  private constructor(opts: FileBdevOptions, fd: number, numBlocks: number, blockSize: number) {
    super(opts.name, blockSize, numBlocks, opts.uuid);
    this.path = opts.path;
    this.readOnly = opts.readOnly ?? false;
    this.fd = fd;
  }

  /** Open an existing image, or create a sparse one when it is missing and `size` is given. */
  static async open(opts: FileBdevOptions): Promise<FileBdev> {
    const blockSize = opts.blockSize ?? 512;
    if (blockSize !== 512 && blockSize !== 4096) throw new RangeError(`block size ${blockSize} unsupported (512 or 4096)`);
    let exists = true;
    try {
      await fs.promises.stat(opts.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      exists = false;
    }
    if (!exists) {
      if (opts.size === undefined) throw new Error(`${opts.path} does not exist and no size was given to create it`);
      if (opts.readOnly === true) throw new Error(`${opts.path} does not exist; cannot create it read-only`);
      checkSize(opts.size, blockSize);
      const h = await fs.promises.open(opts.path, 'wx', 0o644);
      try {
        await h.truncate(opts.size); // sparse: no blocks written
      } finally {
        await h.close();
      }
    }
    const fd = await new Promise<number>((resolve, reject) => {
      fs.open(opts.path, opts.readOnly === true ? 'r' : 'r+', (err, fd) => {
        if (err) reject(err);
        else resolve(fd);
      });
    });
    try {
      const st = await new Promise<fs.Stats>((resolve, reject) => {
        fs.fstat(fd, (err, s) => {
          if (err) reject(err);
          else resolve(s);
        });
      });
      const bytes = st.isBlockDevice() ? await blockDeviceSize(fd) : st.size;
      if (exists && opts.size !== undefined && opts.size !== bytes) {
        throw new Error(`${opts.path} is ${bytes} bytes, not the ${opts.size} asked for`);
      }
      checkSize(bytes, blockSize);
      return new FileBdev(opts, fd, bytes / blockSize, blockSize);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  readv<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.fd < 0) {
      cb(ctx, BdevStatus.UnrecoveredReadError); // closed (hot-removed) image
      return;
    }
    this.start({ iov, iovcnt, i: 0, segOff: 0, pos: offset, left: length, write: false, fua: false, cb, ctx });
  }

  writev<C>(
    iov: readonly Uint8Array[],
    iovcnt: number,
    offset: number,
    length: number,
    fua: boolean,
    cb: BdevCallback<C>,
    ctx: C,
  ): void {
    if (this.readOnly || this.fd < 0) {
      cb(ctx, BdevStatus.WriteFault);
      return;
    }
    this.start({ iov, iovcnt, i: 0, segOff: 0, pos: offset, left: length, write: true, fua, cb, ctx });
  }

  writeZeroes<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.readOnly || this.fd < 0) {
      cb(ctx, BdevStatus.WriteFault);
      return;
    }
    const step = (pos: number, left: number): void => {
      if (left === 0) {
        cb(ctx, 0);
        return;
      }
      const n = Math.min(left, ZERO_CHUNK.byteLength);
      if (this.fd < 0) {
        cb(ctx, BdevStatus.WriteFault);
        return;
      }
      fs.write(this.fd, ZERO_CHUNK, 0, n, pos, (err, written) => {
        if (err !== null || written === 0) cb(ctx, BdevStatus.WriteFault);
        else step(pos + written, left - written);
      });
    };
    step(offset, length);
  }

  unmap<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    this.writeZeroes(offset, length, cb, ctx);
  }

  flush<C>(cb: BdevCallback<C>, ctx: C): void {
    if (this.fd < 0) {
      cb(ctx, BdevStatus.WriteFault);
      return;
    }
    fs.fdatasync(this.fd, (err) => {
      cb(ctx, err === null ? 0 : BdevStatus.WriteFault);
    });
  }

  /** Grow or shrink the image (truncate) and raise 'resize'. */
  async resize(numBlocks: number): Promise<void> {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks ${numBlocks} must be a positive integer`);
    await new Promise<void>((resolve, reject) => {
      fs.ftruncate(this.fd, numBlocks * this.blockSize, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    this.blocks = numBlocks;
    this.emit('resize');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fd;
    this.fd = -1;
    await new Promise<void>((resolve, reject) => {
      fs.fsync(fd, () => {
        fs.close(fd, (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    });
  }

  private start<C>(op: FileOp<C>): void {
    if (op.left === 0) {
      this.finish(op, 0);
      return;
    }
    this.step(op);
  }

  /** One fs.read/fs.write for the current segment; continues until `left` is 0. */
  private step<C>(op: FileOp<C>): void {
    if (this.fd < 0) {
      // Closed between two steps of a multi-segment I/O.
      op.cb(op.ctx, op.write ? BdevStatus.WriteFault : BdevStatus.UnrecoveredReadError);
      return;
    }
    while (op.i < op.iovcnt && op.segOff >= (op.iov[op.i] ?? EMPTY).byteLength) {
      op.i++;
      op.segOff = 0;
    }
    const seg = op.iov[op.i];
    if (seg === undefined) {
      // The iovecs were shorter than `length`: the core never asks this.
      op.cb(op.ctx, BdevStatus.InternalError);
      return;
    }
    const n = Math.min(seg.byteLength - op.segOff, op.left);
    const done = (err: NodeJS.ErrnoException | null, bytes: number): void => {
      if (err !== null) {
        op.cb(op.ctx, op.write ? BdevStatus.WriteFault : BdevStatus.UnrecoveredReadError);
        return;
      }
      if (bytes === 0) {
        if (op.write) {
          op.cb(op.ctx, BdevStatus.WriteFault);
          return;
        }
        // Reading past the end of a file that shrank underneath us: the rest reads as zeros.
        seg.fill(0, op.segOff, op.segOff + n);
        bytes = n;
      }
      op.segOff += bytes;
      op.pos += bytes;
      op.left -= bytes;
      if (op.left === 0) this.finish(op, 0);
      else this.step(op);
    };
    if (op.write) fs.write(this.fd, seg, op.segOff, n, op.pos, done);
    else fs.read(this.fd, seg, op.segOff, n, op.pos, done);
  }

  private finish<C>(op: FileOp<C>, status: number): void {
    if (op.write && op.fua && status === 0) {
      if (this.fd < 0) {
        op.cb(op.ctx, BdevStatus.WriteFault);
        return;
      }
      fs.fdatasync(this.fd, (err) => {
        op.cb(op.ctx, err === null ? 0 : BdevStatus.WriteFault);
      });
      return;
    }
    op.cb(op.ctx, status);
  }
}

function checkSize(bytes: number, blockSize: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < blockSize || bytes % blockSize !== 0) {
    throw new RangeError(`image size ${bytes} must be a positive multiple of the block size ${blockSize}`);
  }
}

/** Size of a block device node: seek to its end (fstat reports 0 for them). */
async function blockDeviceSize(fd: number): Promise<number> {
  // Node has no lseek; read the size from sysfs-free fallback: binary search with 1-byte reads.
  const probe = new Uint8Array(1);
  const readAt = (pos: number): Promise<number> =>
    new Promise((resolve) => {
      fs.read(fd, probe, 0, 1, pos, (err, n) => {
        resolve(err === null ? n : 0);
      });
    });
  let lo = 0;
  let hi = 1;
  while ((await readAt(hi * 512 - 1)) === 1) hi *= 2;
  // Invariant: byte lo*512-1 readable (or lo = 0), byte hi*512-1 not.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await readAt(mid * 512 - 1)) === 1) lo = mid;
    else hi = mid;
  }
  return lo * 512;
}
