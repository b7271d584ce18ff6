/**
 * The null bdev (SPDK's bdev_null): writes are discarded, reads return zeros. For benchmarks of
 * everything but storage. Completes synchronously.
 */
import { BdevBase, type BdevCallback } from './bdev.js';
import { zeroIov } from '../iov.js';

export interface NullBdevOptions {
  name: string;
  blockSize: number;
  numBlocks: number;
  uuid?: string;
}

export class NullBdev extends BdevBase {
  readonly kind = 'null';
  readonly volatileWriteCache = false;

  constructor(opts: NullBdevOptions) {
    super(opts.name, opts.blockSize, opts.numBlocks, opts.uuid);
  }

  readv<C>(iov: readonly Uint8Array[], iovcnt: number, _offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    zeroIov(iov, iovcnt, 0, length);
    cb(ctx, 0);
  }

  writev<C>(
    _iov: readonly Uint8Array[],
    _iovcnt: number,
    _offset: number,
    _length: number,
    _fua: boolean,
    cb: BdevCallback<C>,
    ctx: C,
  ): void {
    cb(ctx, 0);
  }

  writeZeroes<C>(_offset: number, _length: number, cb: BdevCallback<C>, ctx: C): void {
    cb(ctx, 0);
  }

  unmap<C>(_offset: number, _length: number, cb: BdevCallback<C>, ctx: C): void {
    cb(ctx, 0);
  }

  flush<C>(cb: BdevCallback<C>, ctx: C): void {
    cb(ctx, 0);
  }

  /** Change the capacity; raises 'resize'. */
  resize(numBlocks: number): void {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks ${numBlocks} must be a positive integer`);
    this.blocks = numBlocks;
    this.emit('resize');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
