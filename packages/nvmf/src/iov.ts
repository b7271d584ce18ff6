/**
 * Copies between scatter-gather lists (`iov[0 .. iovcnt)`) and flat buffers. Allocation free:
 * these run per I/O. The iovecs may be views of guest memory (vfio-user), so data is copied
 * exactly once, straight between the block device and them.
 */

// Buffer.prototype.copy works on any Uint8Array source and target and, unlike subarray() + set(),
// creates no view objects.
const bufferCopy = (
  Buffer.prototype as unknown as {
    copy: (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;
  }
).copy;

/** Placeholder for iovec slots past `iovcnt` (never read). */
export const EMPTY = new Uint8Array(0);

/** Copy `n` bytes from `src[srcStart..]` to `dst[dstStart..]` without allocating. */
export function copyBytes(src: Uint8Array, srcStart: number, dst: Uint8Array, dstStart: number, n: number): void {
  bufferCopy.call(src, dst, dstStart, srcStart, srcStart + n);
}

/** Sum of the lengths of `iov[0 .. iovcnt)`. */
export function iovLength(iov: readonly Uint8Array[], iovcnt: number): number {
  let n = 0;
  for (let i = 0; i < iovcnt; i++) n += (iov[i] ?? EMPTY).byteLength;
  return n;
}

/**
 * Copy `length` bytes starting at byte `iovOffset` of the iov list into `dst` at `dstOffset`.
 * The caller guarantees the iov list holds at least `iovOffset + length` bytes.
 */
export function copyFromIov(
  iov: readonly Uint8Array[],
  iovcnt: number,
  iovOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
): void {
  let skip = iovOffset;
  let left = length;
  let d = dstOffset;
  for (let i = 0; i < iovcnt && left > 0; i++) {
    const seg = iov[i] ?? EMPTY;
    if (skip >= seg.byteLength) {
      skip -= seg.byteLength;
      continue;
    }
    const n = Math.min(seg.byteLength - skip, left);
    bufferCopy.call(seg, dst, d, skip, skip + n);
    d += n;
    left -= n;
    skip = 0;
  }
}

/** Copy `length` bytes from `src` at `srcOffset` into the iov list starting at byte `iovOffset`. */
export function copyToIov(
  iov: readonly Uint8Array[],
  iovcnt: number,
  iovOffset: number,
  src: Uint8Array,
  srcOffset: number,
  length: number,
): void {
  let skip = iovOffset;
  let left = length;
  let s = srcOffset;
  for (let i = 0; i < iovcnt && left > 0; i++) {
    const seg = iov[i] ?? EMPTY;
    if (skip >= seg.byteLength) {
      skip -= seg.byteLength;
      continue;
    }
    const n = Math.min(seg.byteLength - skip, left);
    bufferCopy.call(src, seg, skip, s, s + n);
    s += n;
    left -= n;
    skip = 0;
  }
}

/** Zero `length` bytes of the iov list starting at byte `iovOffset`. */
export function zeroIov(iov: readonly Uint8Array[], iovcnt: number, iovOffset: number, length: number): void {
  let skip = iovOffset;
  let left = length;
  for (let i = 0; i < iovcnt && left > 0; i++) {
    const seg = iov[i] ?? EMPTY;
    if (skip >= seg.byteLength) {
      skip -= seg.byteLength;
      continue;
    }
    const n = Math.min(seg.byteLength - skip, left);
    seg.fill(0, skip, skip + n);
    left -= n;
    skip = 0;
  }
}

/** True when the first `length` bytes of the iov list equal `buf[0 .. length)`. */
export function iovEquals(iov: readonly Uint8Array[], iovcnt: number, buf: Uint8Array, length: number): boolean {
  let left = length;
  let o = 0;
  for (let i = 0; i < iovcnt && left > 0; i++) {
    const seg = iov[i] ?? EMPTY;
    const n = Math.min(seg.byteLength, left);
    if (Buffer.compare(seg.subarray(0, n), buf.subarray(o, o + n)) !== 0) return false;
    o += n;
    left -= n;
  }
  return left === 0;
}
