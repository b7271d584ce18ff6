/**
 * A namespace: a block device exposed under an NSID in a subsystem, with its identifiers
 * (NVMe Base 2.0 §4.5.2 NGUID, EUI64, UUID) and ANA group. Counts its in-flight I/O so removal
 * can wait for it.
 */
import { randomUUID } from 'node:crypto';
import type { Bdev } from './bdev/bdev.js';

export interface NamespaceOptions {
  /** The block device. */
  bdev: Bdev;
  /** NSID 1 .. maxNamespaces; default: the lowest free one. */
  nsid?: number;
  /** 16 bytes, or 32 hex digits. Default: the bytes of `uuid`. */
  nguid?: Uint8Array | string;
  /** UUID string. Default: the bdev's uuid, else a random one. */
  uuid?: string;
  /** 8 bytes, or 16 hex digits. Default: none (all zero, not reported). */
  eui64?: Uint8Array | string;
  /** ANA group id (>= 1). Default 1. */
  anaGroupId?: number;
}

/** 'active' serves I/O; 'removing' waits for in-flight I/O after removal; 'removed' is gone. */
export type NamespaceState = 'active' | 'removing' | 'removed';

export class Namespace {
  readonly nsid: number;
  readonly bdev: Bdev;
  readonly nguid: Uint8Array;
  readonly uuid: string;
  /** The UUID as 16 bytes (Identify descriptor type 3). */
  readonly uuidBytes: Uint8Array;
  readonly eui64: Uint8Array;
  anaGroupId: number;
  state: NamespaceState = 'active';
  /**
   * False makes I/O fail with Namespace Not Ready (no DNR: the host retries), e.g. while its
   * bdev is being swapped or resized by management.
   */
  ready = true;
  /** I/O commands started and not yet completed by the bdev. */
  inflight = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(nsid: number, opts: NamespaceOptions) {
    this.nsid = nsid;
    this.bdev = opts.bdev;
    this.uuid = (opts.uuid ?? opts.bdev.uuid ?? randomUUID()).toLowerCase();
    this.uuidBytes = hexBytes(this.uuid.replaceAll('-', ''), 16, 'uuid');
    this.nguid = opts.nguid === undefined ? Uint8Array.from(this.uuidBytes) : toBytes(opts.nguid, 16, 'nguid');
    this.eui64 = opts.eui64 === undefined ? new Uint8Array(8) : toBytes(opts.eui64, 8, 'eui64');
    this.anaGroupId = opts.anaGroupId ?? 1;
  }

  get blockSize(): number {
    return this.bdev.blockSize;
  }

  get numBlocks(): number {
    return this.bdev.numBlocks;
  }

  /** Count an I/O in (called by the I/O commands). */
  ioStart(): void {
    this.inflight++;
  }

  /** Count an I/O out; wakes `drain()` waiters when the last one finishes. */
  ioDone(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drainWaiters.length > 0) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const fn of w) fn();
    }
  }

  /** Resolves when no I/O is in flight. */
  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}

function toBytes(v: Uint8Array | string, n: number, what: string): Uint8Array {
  if (typeof v === 'string') return hexBytes(v.replaceAll('-', ''), n, what);
  if (v.byteLength !== n) throw new RangeError(`${what} must be ${n} bytes`);
  return Uint8Array.from(v);
}

function hexBytes(hex: string, n: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9a-fA-F]{${2 * n}}$`).test(hex)) throw new RangeError(`${what} must be ${n} bytes (${2 * n} hex digits)`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
