/**
 * The null bdev (SPDK's bdev_null): writes are discarded, reads complete without touching the
 * read buffers, so their data is unspecified (whatever the transport's buffer last held), as
 * with SPDK's null bdev when the transport supplies the buffers. `zeroReads: true` makes reads
 * return zeros instead, at the cost of clearing every byte read. For benchmarks of everything
 * but storage; not for data anyone may read back (a read can return bytes of an earlier I/O,
 * and without `zeroReads` the namespace does not keep the "deallocated / zeroed blocks read as
 * zeros" promise of Identify Namespace DLFEAT). Completes synchronously.
 */
import { BdevBase, type BdevCallback } from './bdev.js';
import { zeroIov } from '../iov.js';

export interface NullBdevOptions {
  name: string;
  blockSize: number;
  numBlocks: number;
  uuid?: string;
  /** Fill read buffers with zeros (default false: reads leave the buffers as they are). */
  zeroReads?: boolean;
}

export class NullBdev extends BdevBase {
  readonly kind = 'null';
  readonly volatileWriteCache = false;
  /** True when reads return zeros (`NullBdevOptions.zeroReads`). */
  readonly zeroReads: boolean;
  /** Identify Namespace DLFEAT promises zeros only when reads return zeros. */
  get readsZeroesAfterDeallocate(): boolean {
    return this.zeroReads;
  }

  constructor(opts: NullBdevOptions) {
    super(opts.name, opts.blockSize, opts.numBlocks, opts.uuid);
    this.zeroReads = opts.zeroReads ?? false;
  }

  readv<C>(iov: readonly Uint8Array[], iovcnt: number, _offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.zeroReads) zeroIov(iov, iovcnt, 0, length);
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
