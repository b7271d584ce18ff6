/**
 * Block devices ("bdevs", SPDK's word): what a namespace stores its blocks on.
 *
 * The I/O calls take the caller's iovecs (`iov[0 .. iovcnt)`; for vfio-user they are views of
 * guest memory) and a completion callback with a caller context, so the core passes a
 * module-level function and the request as context and allocates nothing per I/O.
 *
 * Offsets and lengths are in BYTES and always multiples of `blockSize`; the core validated them
 * against `numBlocks`. The callback gets the packed 15-bit NVMe status (0 = success; e.g. a
 * media error 0x0280 Write Fault), so a device can report any NVMe status and the error-injecting
 * wrapper can fail commands with a chosen one.
 */

/** Completion of one bdev I/O: `status` 0 on success, else a packed NVMe status. */
export type BdevCallback<C> = (ctx: C, status: number) => void;

/** Supported logical block sizes (NVM Command Set 1.0 §5.2 LBADS 9 and 12). */
export type BlockSize = 512 | 4096;

/** Events a bdev reports to the namespaces using it. */
export type BdevEvent = 'resize' | 'remove';

export interface Bdev {
  /** Unique name in a target (SPDK style: 'Malloc0', 'Nvme0n1', 'disk0'). */
  readonly name: string;
  /** Bytes per logical block. */
  readonly blockSize: BlockSize;
  /** Capacity in logical blocks (changes on resize). */
  readonly numBlocks: number;
  /** Kind, for listings: 'malloc', 'null', 'file', 'error'. */
  readonly kind: string;
  /** True when written data may sit in a volatile cache until Flush/FUA (Identify VWC). */
  readonly volatileWriteCache: boolean;
  /** Optional stable identity (a UUID string) for namespace UUID/NGUID defaults. */
  readonly uuid: string | undefined;
  /**
   * False when reads of deallocated or zeroed blocks may return other data (a null bdev that
   * leaves read buffers untouched): the namespace then does not promise zeros in Identify
   * Namespace DLFEAT. Absent means true.
   */
  readonly readsZeroesAfterDeallocate?: boolean;

  /** Read `length` bytes at byte `offset` into the iovecs. */
  readv<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  /** Write `length` bytes from the iovecs at byte `offset`; with `fua`, durable before `cb`. */
  writev<C>(
    iov: readonly Uint8Array[],
    iovcnt: number,
    offset: number,
    length: number,
    fua: boolean,
    cb: BdevCallback<C>,
    ctx: C,
  ): void;
  /** Make `length` bytes at `offset` read back as zeros. */
  writeZeroes<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  /** Deallocate (TRIM): afterwards the range reads as zeros (Identify Namespace DLFEAT 001b). */
  unmap<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  /** Make every completed write durable. */
  flush<C>(cb: BdevCallback<C>, ctx: C): void;
  /** Register a listener for 'resize' / 'remove'. Returns a function that unregisters it. */
  on(event: BdevEvent, fn: (bdev: Bdev) => void): () => void;
  /** Release resources (file handles). The core calls it after the last I/O completed. */
  close(): Promise<void>;
}

/** Shared plumbing: event listeners and argument checks. */
export abstract class BdevBase implements Bdev {
  abstract readonly kind: string;
  abstract readonly volatileWriteCache: boolean;
  readonly name: string;
  readonly blockSize: BlockSize;
  readonly uuid: string | undefined;
  protected blocks: number;
  private readonly listeners = new Map<BdevEvent, Set<(bdev: Bdev) => void>>();

  constructor(name: string, blockSize: number, numBlocks: number, uuid?: string) {
    if (name.length === 0) throw new TypeError('bdev name must not be empty');
    if (blockSize !== 512 && blockSize !== 4096) throw new RangeError(`block size ${blockSize} unsupported (512 or 4096)`);
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks ${numBlocks} must be a positive integer`);
    this.name = name;
    this.blockSize = blockSize;
    this.blocks = numBlocks;
    this.uuid = uuid;
  }

  get numBlocks(): number {
    return this.blocks;
  }

  abstract readv<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  abstract writev<C>(
    iov: readonly Uint8Array[],
    iovcnt: number,
    offset: number,
    length: number,
    fua: boolean,
    cb: BdevCallback<C>,
    ctx: C,
  ): void;
  abstract writeZeroes<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  abstract unmap<C>(offset: number, length: number, cb: BdevCallback<C>, ctx: C): void;
  abstract flush<C>(cb: BdevCallback<C>, ctx: C): void;
  abstract close(): Promise<void>;

  on(event: BdevEvent, fn: (bdev: Bdev) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Tell listeners about an event (namespaces raise AERs on 'resize', detach on 'remove'). */
  protected emit(event: BdevEvent): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const fn of [...set]) fn(this);
  }
}

/** Packed NVMe statuses a bdev reports (NVMe Base 2.0 Figure 104, SCT 2h media errors). */
export const BdevStatus = {
  Success: 0,
  /** SCT 2h SC 80h Write Fault. */
  WriteFault: 0x0280,
  /** SCT 2h SC 81h Unrecovered Read Error. */
  UnrecoveredReadError: 0x0281,
  /** SCT 0h SC 06h Internal Error. */
  InternalError: 0x0006,
} as const;
