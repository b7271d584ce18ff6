/** Helpers for admin commands that return a data structure to the host. */
import { copyToIov } from '../iov.js';
import type { CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

/**
 * Copy `len` bytes of `data` (zero-padded past its end) to the request's iovecs. Fails with
 * Data SGL Length Invalid when the host described less than `len` bytes.
 */
export function returnData(req: CoreRequest, data: Uint8Array, len: number): number {
  if (req.length < len) return CommandStatus.DataSglLengthInvalid;
  const n = Math.min(len, data.byteLength);
  copyToIov(req.iov, req.iovcnt, 0, data, 0, n);
  if (n < len) {
    const zeros = new Uint8Array(len - n);
    copyToIov(req.iov, req.iovcnt, n, zeros, 0, zeros.byteLength);
  }
  req.dataLength = len;
  return CommandStatus.Success;
}

