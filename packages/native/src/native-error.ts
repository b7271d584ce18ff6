import { getSystemErrorMap } from 'node:util';

// errno → [name, description], from libuv's table inside Node (keys are negative: -EBADF).
const systemErrors = getSystemErrorMap();

/**
 * A failed system call, shaped like Node's own SystemError: `code` is the errno name
 * (`'EAGAIN'`), `syscall` the call that failed (`'sendmsg'`), `path` the socket path where
 * there is one. Unlike Node's SystemError, `errno` is the positive C value (EBADF is 9), the
 * number a vfio-user error reply carries.
 */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  /** The errno name, e.g. `'EBADF'`; `'Unknown system error N'` for a number libuv does not name. */
  readonly code: string;
  /** The positive errno value, as in C. */
  readonly errno: number;
  /** The system call (or libuv call, `uv_poll_start`) that failed. */
  readonly syscall: string;
  /** The socket path, for unixListen and unixConnect failures. */
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string) {
    const known = systemErrors.get(-errno);
    const code = known?.[0] ?? `Unknown system error ${errno}`;
    const description = known?.[1] ?? 'unknown error';
    super(`${code}: ${description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}
