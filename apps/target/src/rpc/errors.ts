/**
 * The JSON-RPC error model, as SPDK's lib/jsonrpc: the five JSON-RPC 2.0 codes, and for failures
 * of the operation itself a negative errno (SPDK answers `-ENODEV` with strerror's text). A
 * handler throws {@link RpcError}; the server turns it into the response's `error` object.
 */

/** JSON-RPC 2.0 §5.1 codes, with the messages SPDK's server sends for them. */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

/** The standard message of each standard code (lib/jsonrpc/jsonrpc_server_tcp.c). */
export const RPC_CODE_MESSAGE: Readonly<Record<number, string>> = {
  [RpcCode.ParseError]: 'Parse error',
  [RpcCode.InvalidRequest]: 'Invalid request',
  [RpcCode.MethodNotFound]: 'Method not found',
  [RpcCode.InvalidParams]: 'Invalid parameters',
  [RpcCode.InternalError]: 'Internal error',
};

/** errno values SPDK's handlers answer with (as negative codes), and strerror's text for each. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EBUSY: 16,
  ENOTSUP: 95,
} as const;

const STRERROR: Readonly<Record<number, string>> = {
  [Errno.EPERM]: 'Operation not permitted',
  [Errno.ENOENT]: 'No such file or directory',
  [Errno.EIO]: 'Input/output error',
  [Errno.EEXIST]: 'File exists',
  [Errno.ENODEV]: 'No such device',
  [Errno.EINVAL]: 'Invalid argument',
  [Errno.ENOSPC]: 'No space left on device',
  [Errno.EBUSY]: 'Device or resource busy',
  [Errno.ENOTSUP]: 'Operation not supported',
};

/** A failed call: `code` and `message` become the JSON-RPC error object. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** SPDK's `-errno, strerror(errno)` answer, with what it was about appended. */
  static errno(errno: number, detail?: string): RpcError {
    const text = STRERROR[errno] ?? `errno ${errno}`;
    return new RpcError(-errno, detail === undefined ? text : `${text}: ${detail}`);
  }

  /** -32602 with a message that names the parameter. */
  static invalidParams(detail: string): RpcError {
    return new RpcError(RpcCode.InvalidParams, `Invalid parameters: ${detail}`);
  }

  /** -32603 with what failed. */
  static internal(detail: string): RpcError {
    return new RpcError(RpcCode.InternalError, detail);
  }
}
