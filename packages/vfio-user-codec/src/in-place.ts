/**
 * Allocation-free paths for the messages on a vfio-user device's hot path: REGION_WRITE
 * requests / REGION_READ replies (BAR accesses the client forwards) and DMA_MAP requests.
 * Decoders fill caller-owned objects and describe data as an offset/length in the source
 * buffer; encoders write straight into a caller buffer. The checks are those of decodeMessage.
 */
import { CapabilityDefaults, Command, HEADER_SIZE, HeaderFlags } from './constants.js';
import { VfioUserProtocolError } from './errors.js';
import { createHeader, decodeHeader } from './header.js';
import type { MessageHeader } from './types.js';
import { readU64, writeU64 } from './u64.js';

/** A REGION_WRITE request or REGION_READ reply, with its data as a place in the source buffer. */
export interface RegionDataView {
  header: MessageHeader;
  /**
   * Offset into the region as a number: BAR offsets are small, and a bigint costs more than
   * the rest of the decode. Offsets of 2^53 and above (beyond any region) are refused.
   */
  offset: number;
  region: number;
  /** Data length (the count field). */
  count: number;
  /** Absolute offset of the data in the decoded buffer. */
  dataOffset: number;
}

/** A DMA_MAP request. */
export interface DmaMapView {
  header: MessageHeader;
  flags: number;
  offset: bigint;
  address: bigint;
  size: bigint;
}

export function createRegionDataView(): RegionDataView {
  return { header: createHeader(), offset: 0, region: 0, count: 0, dataOffset: 0 };
}

export function createDmaMapView(): DmaMapView {
  return { header: createHeader(), flags: 0, offset: 0n, address: 0n, size: 0n };
}

function checkWhole(h: MessageHeader, length: number): void {
  if (h.size !== length) {
    throw new VfioUserProtocolError('SIZE_MISMATCH', 'size', `header size ${h.size} disagrees with the ${length} bytes given`, 'EINVAL', h.command, h.msgId);
  }
}

/**
 * Decodes a REGION_WRITE request or REGION_READ reply of exactly `length` bytes into `out`
 * (vfio-user §VFIO_USER_REGION_WRITE: offset u64 @0, region u32 @8, count u32 @12, data @16).
 * Throws TypeError for another command or an error reply, VfioUserProtocolError for bad bytes.
 */
export function decodeRegionDataInto(
  buf: Buffer,
  offset: number,
  length: number,
  out: RegionDataView,
  maxDataXferSize: number = CapabilityDefaults.maxDataXferSize,
): RegionDataView {
  const h = decodeHeader(buf, offset, length, out.header);
  checkWhole(h, length);
  const reply = (h.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
  if (reply ? h.command !== Command.REGION_READ || (h.flags & HeaderFlags.ERROR) !== 0 : h.command !== Command.REGION_WRITE) {
    throw new TypeError(`not a REGION_WRITE request or REGION_READ reply (command ${h.command}, flags ${h.flags})`);
  }
  const p = offset + HEADER_SIZE;
  const len = length - HEADER_SIZE;
  if (len < 16) throw new VfioUserProtocolError('BODY_TOO_SHORT', 'count', `payload of ${len} bytes is shorter than the 16-byte structure`, 'EINVAL', h.command, h.msgId);
  const count = buf.readUInt32LE(p + 12);
  if (count > maxDataXferSize) {
    throw new VfioUserProtocolError('DATA_TOO_LARGE', 'count', `count ${count} exceeds max_data_xfer_size ${maxDataXferSize}`, 'E2BIG', h.command, h.msgId);
  }
  if (len !== 16 + count) {
    throw new VfioUserProtocolError('BODY_LENGTH_MISMATCH', 'count', `count ${count} disagrees with the ${len - 16} data bytes present`, 'EINVAL', h.command, h.msgId);
  }
  const hi = buf.readUInt32LE(p + 4);
  if (hi >= 0x200000) {
    throw new VfioUserProtocolError('OFFSET_OUT_OF_RANGE', 'offset', 'region offset of 2^53 or more lies beyond any region', 'EINVAL', h.command, h.msgId);
  }
  out.offset = hi * 0x1_0000_0000 + buf.readUInt32LE(p);
  out.region = buf.readUInt32LE(p + 8);
  out.count = count;
  out.dataOffset = p + 16;
  return out;
}

/**
 * Decodes a DMA_MAP request of exactly `length` bytes into `out` (vfio-user §VFIO_USER_DMA_MAP:
 * argsz @0 = 32, flags @4, offset @8, address @16, size @24).
 */
export function decodeDmaMapInto(buf: Buffer, offset: number, length: number, out: DmaMapView): DmaMapView {
  const h = decodeHeader(buf, offset, length, out.header);
  checkWhole(h, length);
  if (h.command !== Command.DMA_MAP || (h.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_COMMAND) {
    throw new TypeError(`not a DMA_MAP request (command ${h.command}, flags ${h.flags})`);
  }
  const p = offset + HEADER_SIZE;
  const len = length - HEADER_SIZE;
  if (len < 32) throw new VfioUserProtocolError('BODY_TOO_SHORT', 'argsz', `payload of ${len} bytes is shorter than the 32-byte structure`, 'EINVAL', h.command, h.msgId);
  const argsz = buf.readUInt32LE(p);
  if (argsz !== 32) throw new VfioUserProtocolError('BAD_ARGSZ', 'argsz', `DMA_MAP argsz must be the 32-byte structure size, got ${argsz}`, 'EINVAL', h.command, h.msgId);
  if (len !== 32) throw new VfioUserProtocolError('BODY_LENGTH_MISMATCH', 'size', `payload is ${len} bytes, the structure is 32`, 'EINVAL', h.command, h.msgId);
  out.flags = buf.readUInt32LE(p + 4);
  out.offset = readU64(buf, p + 8);
  out.address = readU64(buf, p + 16);
  out.size = readU64(buf, p + 24);
  return out;
}

function header(buf: Buffer, at: number, msgId: number, command: number, size: number, flags: number): void {
  buf.writeUInt16LE(msgId & 0xffff, at);
  buf.writeUInt16LE(command, at + 2);
  buf.writeUInt32LE(size, at + 4);
  buf.writeUInt32LE(flags >>> 0, at + 8);
  buf.writeUInt32LE(0, at + 12);
}

/**
 * Writes a REGION_WRITE request (flags: 0, or HeaderFlags.NO_REPLY for a posted write) or, with
 * `flags` = HeaderFlags.TYPE_REPLY and command REGION_READ, a read reply. `data` is the
 * `dataLength` bytes at `dataOffset` of `src`; `regionOffset` is a non-negative safe integer.
 * Returns the bytes written (32 + dataLength).
 */
export function encodeRegionDataInto(
  buf: Buffer,
  at: number,
  msgId: number,
  command: typeof Command.REGION_WRITE | typeof Command.REGION_READ,
  flags: number,
  regionOffset: number,
  region: number,
  src: Uint8Array,
  dataOffset = 0,
  dataLength: number = src.length - dataOffset,
): number {
  const size = HEADER_SIZE + 16 + dataLength;
  if (at < 0 || at + size > buf.length) throw new RangeError(`encoding needs ${size} bytes at offset ${at}, buffer has ${buf.length}`);
  header(buf, at, msgId, command, size, flags);
  // u64 offset as two u32 halves: regionOffset is a safe integer (below 2^53).
  buf.writeUInt32LE(regionOffset % 0x1_0000_0000, at + 16);
  buf.writeUInt32LE(Math.floor(regionOffset / 0x1_0000_0000), at + 20);
  buf.writeUInt32LE(region, at + 24);
  buf.writeUInt32LE(dataLength, at + 28);
  if (dataLength <= 16) {
    // Register-sized writes: a loop beats TypedArray.set's call overhead.
    for (let i = 0; i < dataLength; i++) buf[at + 32 + i] = src[dataOffset + i] ?? 0;
  } else {
    buf.set(dataOffset === 0 && dataLength === src.length ? src : src.subarray(dataOffset, dataOffset + dataLength), at + 32);
  }
  return size;
}

/** Writes a DMA_MAP request (48 bytes). Returns 48. */
export function encodeDmaMapInto(
  buf: Buffer,
  at: number,
  msgId: number,
  mapFlags: number,
  fileOffset: bigint,
  address: bigint,
  size: bigint,
  headerFlags = 0,
): number {
  if (at < 0 || at + 48 > buf.length) throw new RangeError(`encoding needs 48 bytes at offset ${at}, buffer has ${buf.length}`);
  header(buf, at, msgId, Command.DMA_MAP, 48, headerFlags);
  buf.writeUInt32LE(32, at + 16);
  buf.writeUInt32LE(mapFlags >>> 0, at + 20);
  writeU64(buf, fileOffset, at + 24);
  writeU64(buf, address, at + 32);
  writeU64(buf, size, at + 40);
  return 48;
}
