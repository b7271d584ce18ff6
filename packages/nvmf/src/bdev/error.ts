/**
 * Error-injecting wrapper (SPDK's bdev_error): passes I/O through to a base bdev, except the
 * commands an injection rule picks, which it fails with a chosen NVMe status, delays, or drops
 * (never completes, like a lost command). Used by tests of error paths and timeouts.
 */
import { BdevBase, type Bdev, type BdevCallback } from './bdev.js';

/** Which bdev operation a rule matches. */
export type BdevOp = 'read' | 'write' | 'write-zeroes' | 'unmap' | 'flush';

export interface ErrorInjection {
  /** Operations the rule applies to; 'any' matches all. */
  op: BdevOp | 'any';
  /** 'fail' completes with `status`; 'delay' passes through after `delayMs`; 'drop' never completes. */
  action: 'fail' | 'delay' | 'drop';
  /** Packed NVMe status for 'fail' (default 0x0281 Unrecovered Read Error for reads, 0x0280 Write Fault otherwise). */
  status?: number;
  /** Milliseconds for 'delay'. Default 10. */
  delayMs?: number;
  /** How many matching I/Os to affect; default unlimited. */
  count?: number;
  /** Only I/O overlapping this byte range [start, end) matches (flush always matches). */
  range?: readonly [number, number];
}

interface Rule extends ErrorInjection {
  remaining: number;
}

export interface ErrorBdevOptions {
  /** Name of the wrapper; default `EE_<base name>` as in SPDK. */
  name?: string;
}

export class ErrorBdev extends BdevBase {
  readonly kind = 'error';
  readonly base: Bdev;
  private rules: Rule[] = [];
  /** Callbacks of dropped I/O, so `releaseDropped()` can complete them later. */
  private dropped: (() => void)[] = [];
  private readonly unsubscribe: () => void;

  constructor(base: Bdev, opts: ErrorBdevOptions = {}) {
    super(opts.name ?? `EE_${base.name}`, base.blockSize, base.numBlocks, base.uuid);
    this.base = base;
    this.unsubscribe = base.on('resize', () => {
      this.blocks = base.numBlocks;
      this.emit('resize');
    });
  }

  get volatileWriteCache(): boolean {
    return this.base.volatileWriteCache;
  }

  /** Add a rule; rules are checked in order, the first match wins. */
  inject(rule: ErrorInjection): void {
    this.rules.push({ ...rule, remaining: rule.count ?? Number.POSITIVE_INFINITY });
  }

  /** Remove every rule. */
  clearInjections(): void {
    this.rules = [];
  }

  /** Number of I/Os currently dropped (held without completion). */
  get droppedCount(): number {
    return this.dropped.length;
  }

  /** Complete every dropped I/O now by passing it to the base bdev. */
  releaseDropped(): void {
    const d = this.dropped;
    this.dropped = [];
    for (const run of d) run();
  }

  readv<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.intercept('read', offset, length, cb, ctx, () => {
      this.base.readv(iov, iovcnt, offset, length, cb, ctx);
    })) return;
    this.base.readv(iov, iovcnt, offset, length, cb, ctx);
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
    if (this.intercept('write', offset, length, cb, ctx, () => {
      this.base.writev(iov, iovcnt, offset, length, fua, cb, ctx);
    })) return;
    this.base.writev(iov, iovcnt, offset, length, fua, cb, ctx);
  }

  writeZeroes<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.intercept('write-zeroes', offset, length, cb, ctx, () => {
      this.base.writeZeroes(offset, length, cb, ctx);
    })) return;
    this.base.writeZeroes(offset, length, cb, ctx);
  }

  unmap<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void {
    if (this.intercept('unmap', offset, length, cb, ctx, () => {
      this.base.unmap(offset, length, cb, ctx);
    })) return;
    this.base.unmap(offset, length, cb, ctx);
  }

  flush<C>(cb: BdevCallback<C>, ctx: C): void {
    if (this.intercept('flush', -1, 0, cb, ctx, () => {
      this.base.flush(cb, ctx);
    })) return;
    this.base.flush(cb, ctx);
  }

  /** Closes the wrapper only; the base bdev stays open (it may be used elsewhere). */
  close(): Promise<void> {
    this.unsubscribe();
    this.dropped = [];
    return Promise.resolve();
  }

  /** Apply the first matching rule; true when the I/O was taken over. */
  private intercept<C>(op: BdevOp, offset: number, length: number, cb: BdevCallback<C>, ctx: C, pass: () => void): boolean {
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.op !== 'any' && r.op !== op) continue;
      if (r.range !== undefined && offset >= 0 && (offset + length <= r.range[0] || offset >= r.range[1])) continue;
      r.remaining--;
      switch (r.action) {
        case 'fail': {
          const status = r.status ?? (op === 'read' ? 0x0281 : 0x0280);
          queueMicrotask(() => {
            cb(ctx, status);
          });
          return true;
        }
        case 'delay':
          setTimeout(pass, r.delayMs ?? 10);
          return true;
        case 'drop':
          this.dropped.push(pass);
          return true;
      }
    }
    return false;
  }
}
