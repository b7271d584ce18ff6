/**
 * Shared base for every structure view in this package.
 *
 * A view holds a DataView over the whole underlying ArrayBuffer plus the absolute byte offset of
 * the structure in it, so `attach()` re-points the view without allocating as long as the new
 * buffer shares the same ArrayBuffer (the common case for pooled buffers and Node's Buffer pool).
 *
 * Naming scheme for 64-bit fields (used by every view):
 * - `foo`    — a `number` accessor; exact for values below 2^53, allocation free (hot path).
 * - `fooBig` — a `bigint` accessor; exact for the whole 64-bit range.
 */

/** Thrown when a buffer is too short for the structure a view or decoder needs. */
export class NvmeBufferTooShortError extends RangeError {
  override readonly name = 'NvmeBufferTooShortError';
  constructor(
    readonly structure: string,
    readonly needed: number,
    readonly available: number,
  ) {
    super(`${structure} needs ${needed} bytes, buffer has ${available}`);
  }
}

const TWO_32 = 0x1_0000_0000;

export abstract class StructView {
  /** DataView over the whole ArrayBuffer behind the attached buffer (so attach() can reuse it). */
  protected dv: DataView;
  /** Absolute byte offset of this structure inside `dv` (buf.byteOffset + offset). */
  protected base: number;
  private attachedBuf: Uint8Array;
  private attachedOffset: number;

  constructor(buf: Uint8Array, offset = 0) {
    this.attachedBuf = buf;
    this.attachedOffset = offset;
    this.check(buf, offset);
    this.dv = new DataView(buf.buffer);
    this.base = buf.byteOffset + offset;
  }

  /** The buffer given to the constructor or the last `attach()`. */
  get buf(): Uint8Array {
    return this.attachedBuf;
  }
  /** Offset given to the constructor or the last `attach()`, relative to `buf`. */
  get offset(): number {
    return this.attachedOffset;
  }

  /** Number of bytes the structure occupies (the static SIZE of the concrete class). */
  abstract get byteLength(): number;

  /** Re-point this view at another buffer/offset. Allocates only if the ArrayBuffer changes. */
  attach(buf: Uint8Array, offset = 0): this {
    this.check(buf, offset);
    if (buf.buffer !== this.dv.buffer) this.dv = new DataView(buf.buffer);
    this.attachedBuf = buf;
    this.attachedOffset = offset;
    this.base = buf.byteOffset + offset;
    return this;
  }

  /** The bytes of this structure (a subarray; allocates a view object, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.offset, this.offset + this.byteLength);
  }

  /** Zero every byte of the structure. */
  clear(): this {
    this.buf.fill(0, this.offset, this.offset + this.byteLength);
    return this;
  }

  private check(buf: Uint8Array, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + this.byteLength > buf.byteLength) {
      throw new NvmeBufferTooShortError(this.constructor.name, offset + this.byteLength, buf.byteLength);
    }
  }

  protected u8(o: number): number {
    return this.dv.getUint8(this.base + o);
  }
  protected setU8(o: number, v: number): void {
    this.dv.setUint8(this.base + o, v);
  }
  protected u16(o: number): number {
    return this.dv.getUint16(this.base + o, true);
  }
  protected setU16(o: number, v: number): void {
    this.dv.setUint16(this.base + o, v, true);
  }
  protected u24(o: number): number {
    return this.dv.getUint16(this.base + o, true) | (this.dv.getUint8(this.base + o + 2) << 16);
  }
  protected setU24(o: number, v: number): void {
    this.dv.setUint16(this.base + o, v & 0xffff, true);
    this.dv.setUint8(this.base + o + 2, (v >>> 16) & 0xff);
  }
  protected u32(o: number): number {
    return this.dv.getUint32(this.base + o, true);
  }
  protected setU32(o: number, v: number): void {
    this.dv.setUint32(this.base + o, v >>> 0, true);
  }
  /** 64-bit little-endian as a number (exact below 2^53). */
  protected u64(o: number): number {
    return this.dv.getUint32(this.base + o, true) + this.dv.getUint32(this.base + o + 4, true) * TWO_32;
  }
  protected setU64(o: number, v: number): void {
    this.dv.setUint32(this.base + o, v % TWO_32 >>> 0, true);
    this.dv.setUint32(this.base + o + 4, Math.floor(v / TWO_32) >>> 0, true);
  }
  protected u64Big(o: number): bigint {
    return this.dv.getBigUint64(this.base + o, true);
  }
  protected setU64Big(o: number, v: bigint): void {
    this.dv.setBigUint64(this.base + o, BigInt.asUintN(64, v), true);
  }
  protected u128Big(o: number): bigint {
    return this.dv.getBigUint64(this.base + o, true) | (this.dv.getBigUint64(this.base + o + 8, true) << 64n);
  }
  protected setU128Big(o: number, v: bigint): void {
    const x = BigInt.asUintN(128, v);
    this.dv.setBigUint64(this.base + o, BigInt.asUintN(64, x), true);
    this.dv.setBigUint64(this.base + o + 8, x >> 64n, true);
  }
  protected bit(o: number, bit: number): boolean {
    return ((this.dv.getUint8(this.base + o) >> bit) & 1) === 1;
  }
  protected setBit(o: number, bit: number, on: boolean): void {
    const b = this.dv.getUint8(this.base + o);
    this.dv.setUint8(this.base + o, on ? b | (1 << bit) : b & ~(1 << bit));
  }
  /** Read an ASCII string field, dropping trailing NULs and spaces. */
  protected str(o: number, len: number): string {
    return readAscii(this.buf, this.offset + o, len);
  }
  /** Write an ASCII string field, padded with `pad` (NUL for NQNs, space for SN/MN/FR). */
  protected setStr(o: number, len: number, v: string, pad: 'nul' | 'space'): void {
    writeAscii(this.buf, this.offset + o, len, v, pad);
  }
  /** Copy of a raw byte field. */
  protected raw(o: number, len: number): Uint8Array {
    return this.buf.slice(this.offset + o, this.offset + o + len);
  }
  protected setRaw(o: number, len: number, v: Uint8Array): void {
    if (v.length !== len) throw new RangeError(`field needs exactly ${len} bytes, got ${v.length}`);
    this.buf.set(v, this.offset + o);
  }
}

/** Read an ASCII/UTF-8 string of up to `len` bytes, trimming trailing NUL and space padding. */
export function readAscii(buf: Uint8Array, offset: number, len: number): string {
  let end = offset + len;
  while (end > offset && (buf[end - 1] === 0 || buf[end - 1] === 0x20)) end--;
  // Stop at the first NUL, whatever follows it (NQNs are NUL-terminated).
  const nul = buf.subarray(offset, end).indexOf(0);
  if (nul >= 0) end = offset + nul;
  let s = '';
  for (let i = offset; i < end; i++) s += String.fromCharCode(buf[i] ?? 0);
  return s;
}

/**
 * Write `v` into a fixed-width field; throws when it does not fit. NVMe strings are ASCII
 * (NVMe Base 2.0 §1.5 "ASCII string"), so characters outside 0x20..0x7e are rejected.
 */
export function writeAscii(buf: Uint8Array, offset: number, len: number, v: string, pad: 'nul' | 'space'): void {
  if (v.length > len) throw new RangeError(`string of ${v.length} chars does not fit in ${len} bytes`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new RangeError(`non-printable-ASCII character at ${i}`);
    buf[offset + i] = c;
  }
  buf.fill(pad === 'nul' ? 0 : 0x20, offset + v.length, offset + len);
}
