/** Helpers for admin commands that return a data structure to the host. */
import { copyToIov } from '../iov.js';
import type { CoreRequest } from '../qpair.js';
import { S } from '../status.js';

/**
 * Copy `len` bytes of `data` (zero-padded past its end) to the request's iovecs. Fails with
 * Data SGL Length Invalid when the host described less than `len` bytes.
 */
export function returnData(req: CoreRequest, data: Uint8Array, len: number): number {
  if (req.length < len) return S.DataSglLengthInvalid;
  const n = Math.min(len, data.byteLength);
  copyToIov(req.iov, req.iovcnt, 0, data, 0, n);
  if (n < len) {
    const zeros = new Uint8Array(len - n);
    copyToIov(req.iov, req.iovcnt, n, zeros, 0, zeros.byteLength);
  }
  req.dataLength = len;
  return S.Success;
}

/** Write an ASCII field padded with spaces (SN, MN, FR; NVMe Base 2.0 §1.5 ASCII strings). */
export function putAscii(buf: Buffer, off: number, len: number, v: string, pad = 0x20): void {
  buf.fill(pad, off, off + len);
  buf.write(v.slice(0, len), off, 'ascii');
}
