/**
 * RAM-backed bdev. Storage is split into 1 MiB chunks allocated on first write, so a large
 * malloc bdev costs memory only for what was written; unallocated chunks read as zeros, and
 * unmapping a whole chunk frees it. I/O completes synchronously (callback before return).
 */
import { BdevBase, type BdevCallback } from './bdev.js';
import { EMPTY, copyBytes } from '../iov.js';


const CHUNK = 1 << 20;

export interface MallocBdevOptions {
  name: string;
  /** 512 or 4096. */
  blockSize: number;
  numBlocks: number;
  uuid?: string;
}

export class MallocBdev extends BdevBase {
  readonly kind = 'malloc';
  readonly volatileWriteCache = false;
  private chunks: (Uint8Array | undefined)[];

  constructor(opts: MallocBdevOptions) {
    super(opts.name, opts.blockSize, opts.numBlocks, opts.uuid);
    this.chunks = new Array<Uint8Array | undefined>(Math.ceil((this.blocks * this.blockSize) / CHUNK));
  }

  /** Bytes of RAM actually allocated. */
  get allocatedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n += c.byteLength;
    return n;
  }

  readv<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    this.walk(iov, iovcnt, offset, length, false);
    cb(ctx, 0);
  }

  writev<C>(
    iov: readonly Uint8Array[],
    iovcnt: number,
    offset: number,
    length: number,
    _fua: boolean,
    cb: BdevCallback<C>,
    ctx: C,
  ): void {
    this.walk(iov, iovcnt, offset, length, true);
    cb(ctx, 0);
  }

  writeZeroes<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    this.zero(offset, length);
    cb(ctx, 0);
  }

  unmap<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    this.zero(offset, length);
    cb(ctx, 0);
  }

  flush<C>(cb: BdevCallback<C>, ctx: C): void {
    cb(ctx, 0);
  }

  /** Change the capacity (growing reads zeros; shrinking drops data). Raises 'resize'. */
  resize(numBlocks: number): void {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks ${numBlocks} must be a positive integer`);
    const oldBytes = this.blocks * this.blockSize;
    const newBytes = numBlocks * this.blockSize;
    if (newBytes < oldBytes) this.zero(newBytes, Math.min(oldBytes, Math.ceil(newBytes / CHUNK) * CHUNK) - newBytes);
    this.chunks.length = Math.ceil(newBytes / CHUNK);
    this.blocks = numBlocks;
    this.emit('resize');
  }

  close(): Promise<void> {
    this.chunks = [];
    return Promise.resolve();
  }

  private zero(offset: number, length: number): void {
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const ci = Math.floor(pos / CHUNK);
      const co = pos % CHUNK;
      const n = Math.min(CHUNK - co, end - pos);
      const chunk = this.chunks[ci];
      if (chunk !== undefined) {
        if (n === CHUNK) this.chunks[ci] = undefined;
        else chunk.fill(0, co, co + n);
      }
      pos += n;
    }
  }

  /** Copy between the iovecs and the chunks; `write` picks the direction. */
  private walk(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, write: boolean): void {
    let pos = offset;
    let left = length;
    let i = 0;
    let segOff = 0;
    while (left > 0 && i < iovcnt) {
      const seg = iov[i] ?? EMPTY;
      if (segOff >= seg.byteLength) {
        i++;
        segOff = 0;
        continue;
      }
      const ci = Math.floor(pos / CHUNK);
      const co = pos % CHUNK;
      const n = Math.min(CHUNK - co, seg.byteLength - segOff, left);
      let chunk = this.chunks[ci];
      if (write) {
        if (chunk === undefined) {
          chunk = new Uint8Array(CHUNK);
          this.chunks[ci] = chunk;
        }
        copyBytes(seg, segOff, chunk, co, n);
      } else if (chunk === undefined) {
        seg.fill(0, segOff, segOff + n);
      } else {
        copyBytes(chunk, co, seg, segOff, n);
      }
      pos += n;
      left -= n;
      segOff += n;
    }
  }
}
