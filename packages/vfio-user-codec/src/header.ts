import { HEADER_SIZE, HeaderFlags } from './constants.js';
import { VfioUserProtocolError } from './errors.js';
import type { MessageHeader } from './types.js';

/** A fresh header object to reuse with decodeHeader (allocate once, decode many). */
export function createHeader(): MessageHeader {
  return { msgId: 0, command: 0, size: 0, flags: 0, errno: 0 };
}

/**
 * Reads the 16-byte header at `offset` (vfio-user §Header: msg_id u16 @0, command u16 @2,
 * size u32 @4, flags u32 @8, error u32 @12) into `out` and checks what the header alone can
 * tell: at least 16 readable bytes, a size of at least 16, type bits 0 (command) or 1 (reply).
 * Allocates nothing when `out` is given.
 */
export function decodeHeader(
  buf: Buffer,
  offset: number,
  length: number,
  out: MessageHeader = createHeader(),
): MessageHeader {
  if (length < HEADER_SIZE) {
    throw new VfioUserProtocolError('MESSAGE_TOO_SHORT', 'size', `${length} bytes cannot hold the 16-byte header`);
  }
  const msgId = buf.readUInt16LE(offset);
  const command = buf.readUInt16LE(offset + 2);
  const size = buf.readUInt32LE(offset + 4);
  const flags = buf.readUInt32LE(offset + 8);
  if (size < HEADER_SIZE) {
    throw new VfioUserProtocolError(
      'MESSAGE_TOO_SHORT',
      'size',
      `message size ${size} is smaller than the header`,
      'EINVAL',
      command,
      msgId,
    );
  }
  const type = flags & HeaderFlags.TYPE_MASK;
  if (type !== HeaderFlags.TYPE_COMMAND && type !== HeaderFlags.TYPE_REPLY) {
    throw new VfioUserProtocolError('BAD_MESSAGE_TYPE', 'flags', `message type ${type} is neither command nor reply`, 'EINVAL', command, msgId);
  }
  out.msgId = msgId;
  out.command = command;
  out.size = size;
  out.flags = flags;
  out.errno = buf.readUInt32LE(offset + 12);
  return out;
}

/**
 * The message size field (u32 @4) of the header at `offset`, unchecked and allocation-free: what a
 * framer reads to know how many bytes the whole message takes before decoding it. The caller
 * guarantees 16 readable bytes.
 */
export function headerMessageSize(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + 4);
}

/** Writes a header at `offset`; returns 16. The caller guarantees 16 bytes of room. */
export function encodeHeader(header: MessageHeader, buf: Buffer, offset: number): number {
  buf.writeUInt16LE(header.msgId & 0xffff, offset);
  buf.writeUInt16LE(header.command & 0xffff, offset + 2);
  buf.writeUInt32LE(header.size >>> 0, offset + 4);
  buf.writeUInt32LE(header.flags >>> 0, offset + 8);
  buf.writeUInt32LE(header.errno >>> 0, offset + 12);
  return HEADER_SIZE;
}

/** True for a reply (type bits 1). */
export function isReply(flags: number): boolean {
  return (flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
}

/** True when the sender wants no reply (NO_REPLY, bit 4). */
export function isNoReply(flags: number): boolean {
  return (flags & HeaderFlags.NO_REPLY) !== 0;
}

/** True for an error reply (a reply with the ERROR bit 5). */
export function isErrorReply(flags: number): boolean {
  return isReply(flags) && (flags & HeaderFlags.ERROR) !== 0;
}
