import { Errno, type ErrnoName, commandName } from './constants.js';

/** What went wrong, as a stable string (the `code` of {@link VfioUserProtocolError}). */
export type ProtocolErrorCode =
  /** Header size field below 16 (vfio-user §Header: size includes the header). */
  | 'MESSAGE_TOO_SHORT'
  /** Header size field above the negotiated maximum (max_data_xfer_size + headers). */
  | 'MESSAGE_TOO_LARGE'
  /** The bytes handed to a decoder do not match the header's size field. */
  | 'SIZE_MISMATCH'
  /** Flags type bits are neither command (0) nor reply (1). */
  | 'BAD_MESSAGE_TYPE'
  /** A reply with the Error flag carries a body (vfio-user §Header: "must only include the reply header"). */
  | 'ERROR_REPLY_WITH_BODY'
  /** The body is shorter than the command's fixed structure. */
  | 'BODY_TOO_SHORT'
  /** The body length disagrees with what its own fields say it holds. */
  | 'BODY_LENGTH_MISMATCH'
  /** An argsz field disagrees with the message size or the structure. */
  | 'BAD_ARGSZ'
  /** A data transfer count above max_data_xfer_size (vfio-user §Read and Write Operations). */
  | 'DATA_TOO_LARGE'
  /** Flags that the command defines as exclusive or required are wrong. */
  | 'BAD_FLAGS'
  /** The VERSION data is not NUL-terminated UTF-8 JSON of the documented shape. */
  | 'BAD_VERSION_DATA'
  /** A region capability chain points outside the reply, loops, or a capability is cut short. */
  | 'BAD_CAPABILITY'
  /** A REGION_IO_FDS reply whose sub-region entries are not 40 (spec) or 48 (libvfio-user) bytes. */
  | 'BAD_ENTRY_SIZE'
  /** A count field that cannot be right (REGION_WRITE_MULTI entry count above 8, and so on). */
  | 'BAD_COUNT'
  /** DEVICE_FEATURE data that does not fit the feature's structure. */
  | 'BAD_FEATURE_DATA'
  /** A region offset of 2^53 or more given to the number-based fast path (beyond any region). */
  | 'OFFSET_OUT_OF_RANGE';

/**
 * The one error class the codec throws for bad input. `errno` is what a server would put in
 * an error reply (EINVAL for malformed messages, E2BIG for oversize ones); `field` names the
 * offending field as the spec spells it.
 */
export class VfioUserProtocolError extends Error {
  override readonly name = 'VfioUserProtocolError';
  readonly code: ProtocolErrorCode;
  readonly errno: number;
  readonly errnoName: ErrnoName;
  readonly field: string;
  /** The description without the code, field and errno suffix. */
  readonly detail: string;
  /** Command number of the offending message, when the header was readable. */
  readonly command: number | undefined;
  /** Message ID of the offending message, when the header was readable (for an error reply). */
  readonly msgId: number | undefined;

  constructor(
    code: ProtocolErrorCode,
    field: string,
    detail: string,
    errno: ErrnoName = 'EINVAL',
    command?: number,
    msgId?: number,
  ) {
    const cmd = command === undefined ? '' : `${commandName(command) ?? `command ${command}`}: `;
    super(`${cmd}${detail} (${code}, field ${field}, ${errno})`);
    this.code = code;
    this.field = field;
    this.detail = detail;
    this.errnoName = errno;
    this.errno = Errno[errno];
    this.command = command;
    this.msgId = msgId;
  }
}
