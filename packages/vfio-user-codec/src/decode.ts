import {
  Command,
  CapabilityDefaults,
  DeviceFeature,
  DeviceFeatureFlags,
  DmaUnmapFlags,
  HEADER_SIZE,
  HeaderFlags,
  IrqSetFlags,
  RegionCapId,
  RegionInfoFlags,
  WRITE_MULTI_DATA_SIZE,
  WRITE_MULTI_ENTRY_SIZE,
  type ErrnoName,
} from './constants.js';
import { VfioUserProtocolError, type ProtocolErrorCode } from './errors.js';
import { decodeHeader } from './header.js';
import type {
  DecodeOptions,
  DmaDataLayout,
  FeatureData,
  MessageBody,
  MultiWrite,
  RegionCap,
  SubRegionIoFd,
  VfioUserMessage,
} from './types.js';
import { readU64 } from './u64.js';
import { parseVersionData } from './version.js';

/** State of one body decode: where the payload is and which message it belongs to. */
interface Ctx {
  buf: Buffer;
  /** Absolute offset of the payload (just after the header). */
  p: number;
  /** Payload length. */
  len: number;
  command: number;
  msgId: number;
  maxXfer: number;
  dmaLayout: DmaDataLayout;
}

function fail(ctx: Ctx, code: ProtocolErrorCode, field: string, detail: string, errno: ErrnoName = 'EINVAL'): never {
  throw new VfioUserProtocolError(code, field, detail, errno, ctx.command, ctx.msgId);
}

function view(ctx: Ctx, at: number, length: number): Uint8Array {
  return new Uint8Array(ctx.buf.buffer, ctx.buf.byteOffset + ctx.p + at, length);
}

function u16(ctx: Ctx, at: number): number {
  return ctx.buf.readUInt16LE(ctx.p + at);
}
function u32(ctx: Ctx, at: number): number {
  return ctx.buf.readUInt32LE(ctx.p + at);
}
function u64(ctx: Ctx, at: number): bigint {
  return readU64(ctx.buf, ctx.p + at);
}

function atLeast(ctx: Ctx, n: number, field: string): void {
  if (ctx.len < n) fail(ctx, 'BODY_TOO_SHORT', field, `payload of ${ctx.len} bytes is shorter than the ${n}-byte structure`);
}
function exactly(ctx: Ctx, n: number, field: string): void {
  atLeast(ctx, n, field);
  if (ctx.len !== n) fail(ctx, 'BODY_LENGTH_MISMATCH', field, `payload is ${ctx.len} bytes, the structure is ${n}`);
}
function argszAtLeast(ctx: Ctx, argsz: number, n: number): void {
  if (argsz < n) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} is below the ${n}-byte reply structure`);
}
function xferLimit(ctx: Ctx, count: number | bigint, field: string): void {
  if (count > ctx.maxXfer) {
    fail(ctx, 'DATA_TOO_LARGE', field, `count ${count} exceeds max_data_xfer_size ${ctx.maxXfer}`, 'E2BIG');
  }
}

/** Shared by every empty body; frozen so no caller can change it for the others. */
const EMPTY: MessageBody = Object.freeze({ kind: 'empty' as const });

function empty(ctx: Ctx): MessageBody {
  if (ctx.len !== 0) fail(ctx, 'BODY_LENGTH_MISMATCH', 'size', `expected no payload, got ${ctx.len} bytes`);
  return EMPTY;
}

// vfio-user §VFIO_USER_VERSION: major u16 @0, minor u16 @2, NUL-terminated JSON @4 (optional).
function version(ctx: Ctx): MessageBody {
  atLeast(ctx, 4, 'version minor');
  let data;
  try {
    data = parseVersionData(view(ctx, 4, ctx.len - 4));
  } catch (err) {
    if (err instanceof VfioUserProtocolError) fail(ctx, err.code, err.field, err.detail);
    throw err;
  }
  return { kind: 'version', major: u16(ctx, 0), minor: u16(ctx, 2), data };
}

// vfio-user §VFIO_USER_DMA_MAP: argsz @0 (= 32), flags @4, offset @8, address @16, size @24.
function dmaMap(ctx: Ctx): MessageBody {
  atLeast(ctx, 32, 'argsz');
  const argsz = u32(ctx, 0);
  if (argsz !== 32) fail(ctx, 'BAD_ARGSZ', 'argsz', `DMA_MAP argsz must be the 32-byte structure size, got ${argsz}`);
  exactly(ctx, 32, 'size');
  return { kind: 'dma-map', flags: u32(ctx, 4), offset: u64(ctx, 8), address: u64(ctx, 16), size: u64(ctx, 24) };
}

// vfio-user §VFIO_USER_DMA_UNMAP: argsz @0, flags @4, address @8, size @16; with
// GET_DIRTY_BITMAP (libvfio-user) struct vfio_user_bitmap follows: pgsize @24, size @32.
function dmaUnmap(ctx: Ctx): MessageBody {
  atLeast(ctx, 24, 'argsz');
  const argsz = u32(ctx, 0);
  const flags = u32(ctx, 4);
  if ((flags & DmaUnmapFlags.GET_DIRTY_BITMAP) !== 0) {
    exactly(ctx, 40, 'bitmap');
    const size = u64(ctx, 32);
    if (BigInt(argsz) < 40n + size) {
      fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} cannot hold the reply's ${size}-byte dirty bitmap`);
    }
    return { kind: 'dma-unmap', argsz, flags, address: u64(ctx, 8), size: u64(ctx, 16), bitmap: { pgsize: u64(ctx, 24), size } };
  }
  exactly(ctx, 24, 'size');
  argszAtLeast(ctx, argsz, 24);
  return { kind: 'dma-unmap', argsz, flags, address: u64(ctx, 8), size: u64(ctx, 16), bitmap: null };
}

// DMA_UNMAP reply: the request entry echoed; with GET_DIRTY_BITMAP, pgsize @24, size @32, bitmap @40.
function dmaUnmapReply(ctx: Ctx): MessageBody {
  atLeast(ctx, 24, 'argsz');
  const argsz = u32(ctx, 0);
  const flags = u32(ctx, 4);
  let bitmap = null;
  if ((flags & DmaUnmapFlags.GET_DIRTY_BITMAP) !== 0) {
    atLeast(ctx, 40, 'bitmap');
    const size = u64(ctx, 32);
    if (size !== BigInt(ctx.len - 40)) {
      fail(ctx, 'BODY_LENGTH_MISMATCH', 'bitmap.size', `bitmap size ${size} disagrees with the ${ctx.len - 40} bytes present`);
    }
    bitmap = { pgsize: u64(ctx, 24), data: view(ctx, 40, ctx.len - 40) };
  } else {
    exactly(ctx, 24, 'size');
  }
  if (argsz < ctx.len) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} is below the ${ctx.len}-byte reply`);
  return { kind: 'dma-unmap-reply', argsz, flags, address: u64(ctx, 8), size: u64(ctx, 16), bitmap };
}

// vfio-user §VFIO_USER_DEVICE_GET_INFO: argsz @0, flags @4, num_regions @8, num_irqs @12.
// Longer payloads are taken, the tail ignored, as libvfio-user takes them (see regionInfoRequest).
function deviceInfo(ctx: Ctx): MessageBody {
  atLeast(ctx, 16, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 16);
  return { kind: 'device-info', argsz, flags: u32(ctx, 4), numRegions: u32(ctx, 8), numIrqs: u32(ctx, 12) };
}

// vfio-user §VFIO_USER_DEVICE_GET_REGION_INFO request: argsz @0, flags @4, index @8,
// cap_offset @12, size @16, offset @24. The payload may be longer than the structure: SPDK's
// vfio-user host sends a whole argsz-sized buffer (its 4 KiB reply buffer less the header), and
// libvfio-user, the reference server, checks only that the structure is there. The tail is ignored.
function regionInfoRequest(ctx: Ctx): MessageBody {
  atLeast(ctx, 32, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 32);
  return {
    kind: 'region-info-request',
    argsz,
    flags: u32(ctx, 4),
    index: u32(ctx, 8),
    capOffset: u32(ctx, 12),
    size: u64(ctx, 16),
    offset: u64(ctx, 24),
  };
}

// Capability chain (vfio-user §VFIO region capabilities): header id u16 @0, version u16 @2,
// next u32 @4, all offsets from the start of the region info structure.
function regionCaps(ctx: Ctx, capOffset: number): RegionCap[] {
  const caps: RegionCap[] = [];
  let pos = capOffset;
  let floor = 32;
  for (;;) {
    if (pos < floor) fail(ctx, 'BAD_CAPABILITY', caps.length === 0 ? 'cap_offset' : 'next', `capability at ${pos} overlaps the structure or an earlier capability`);
    if (pos + 8 > ctx.len) fail(ctx, 'BAD_CAPABILITY', caps.length === 0 ? 'cap_offset' : 'next', `capability header at ${pos} lies outside the ${ctx.len}-byte reply`);
    const id = u16(ctx, pos);
    const version = u16(ctx, pos + 2);
    const next = u32(ctx, pos + 4);
    if (next !== 0 && (next < pos + 8 || next > ctx.len)) {
      fail(ctx, 'BAD_CAPABILITY', 'next', `next capability offset ${next} after ${pos} is outside the reply or goes backwards`);
    }
    const end = next === 0 ? ctx.len : next;
    const dataLen = end - pos - 8;
    if (id === RegionCapId.SPARSE_MMAP) {
      // struct vfio_region_info_cap_sparse_mmap: nr_areas @8, reserved @12, areas @16 (offset, size).
      if (dataLen < 8) fail(ctx, 'BAD_CAPABILITY', 'nr_areas', 'sparse mmap capability cut short');
      const nrAreas = u32(ctx, pos + 8);
      if (8 + nrAreas * 16 > dataLen) fail(ctx, 'BAD_CAPABILITY', 'nr_areas', `${nrAreas} sparse mmap areas do not fit in ${dataLen} bytes`);
      const areas = [];
      for (let i = 0; i < nrAreas; i++) {
        const at = pos + 16 + i * 16;
        areas.push({ offset: u64(ctx, at), size: u64(ctx, at + 8) });
      }
      caps.push({ kind: 'sparse-mmap', version, areas });
    } else if (id === RegionCapId.TYPE) {
      // struct vfio_region_info_cap_type: type @8, subtype @12.
      if (dataLen < 8) fail(ctx, 'BAD_CAPABILITY', 'type', 'region type capability cut short');
      caps.push({ kind: 'type', version, type: u32(ctx, pos + 8), subtype: u32(ctx, pos + 12) });
    } else {
      caps.push({ kind: 'unknown', id, version, data: view(ctx, pos + 8, dataLen) });
    }
    if (next === 0) return caps;
    floor = pos + 8;
    pos = next;
  }
}

function regionInfo(ctx: Ctx): MessageBody {
  atLeast(ctx, 32, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 32);
  if (argsz < ctx.len) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} is below the ${ctx.len}-byte reply`);
  const flags = u32(ctx, 4);
  const capOffset = u32(ctx, 12);
  // A reply shorter than argsz was cut to the client's buffer: the caps are not all here.
  const complete = argsz === ctx.len;
  const caps = complete && (flags & RegionInfoFlags.CAPS) !== 0 && capOffset !== 0 ? regionCaps(ctx, capOffset) : [];
  return { kind: 'region-info', argsz, flags, index: u32(ctx, 8), capOffset, size: u64(ctx, 16), offset: u64(ctx, 24), caps };
}

// vfio-user §VFIO_USER_DEVICE_GET_REGION_IO_FDS: argsz @0, flags @4, index @8, count @12.
function regionIoFdsRequest(ctx: Ctx): MessageBody {
  exactly(ctx, 16, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 16);
  return { kind: 'region-io-fds-request', argsz, flags: u32(ctx, 4), index: u32(ctx, 8), count: u32(ctx, 12) };
}

// Reply: the request fields then `count` sub-regions of (argsz - 16) / count bytes each:
// offset @0, size @8, fd_index @16, type @20, flags @24, then 40-byte (spec: padding @28,
// datamatch/user_data @32) or 48-byte (libvfio-user: shadow_mem_fd_index @28, shadow_offset @32,
// datamatch @40) entries.
function regionIoFds(ctx: Ctx): MessageBody {
  atLeast(ctx, 16, 'argsz');
  const argsz = u32(ctx, 0);
  if (argsz < ctx.len) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} is below the ${ctx.len}-byte reply`);
  const count = u32(ctx, 12);
  const subRegions: SubRegionIoFd[] = [];
  let entrySize: 40 | 48 = 40;
  if (argsz === ctx.len) {
    if (count === 0) {
      exactly(ctx, 16, 'count');
    } else {
      const stride = (ctx.len - 16) / count;
      if (stride !== 40 && stride !== 48) {
        fail(ctx, 'BAD_ENTRY_SIZE', 'count', `${count} sub-regions in ${ctx.len - 16} bytes are not 40- or 48-byte entries`);
      }
      entrySize = stride;
      for (let i = 0; i < count; i++) {
        const at = 16 + i * stride;
        const wide = stride === 48;
        subRegions.push({
          offset: u64(ctx, at),
          size: u64(ctx, at + 8),
          fdIndex: u32(ctx, at + 16),
          type: u32(ctx, at + 20),
          flags: u32(ctx, at + 24),
          shadowMemFdIndex: u32(ctx, at + 28),
          shadowOffset: wide ? u64(ctx, at + 32) : 0n,
          value: u64(ctx, wide ? at + 40 : at + 32),
        });
      }
    }
  }
  return { kind: 'region-io-fds', argsz, flags: u32(ctx, 4), index: u32(ctx, 8), count, entrySize, subRegions };
}

// vfio-user §VFIO_USER_DEVICE_GET_IRQ_INFO: argsz @0, flags @4, index @8, count @12.
function irqInfo(ctx: Ctx): MessageBody {
  exactly(ctx, 16, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 16);
  return { kind: 'irq-info', argsz, flags: u32(ctx, 4), index: u32(ctx, 8), count: u32(ctx, 12) };
}

function oneBit(v: number): boolean {
  return v !== 0 && (v & (v - 1)) === 0;
}

// vfio-user §VFIO_USER_DEVICE_SET_IRQS: argsz @0 (= payload size), flags @4, index @8,
// start @12, count @16, data @20 (count booleans with DATA_BOOL).
function setIrqs(ctx: Ctx): MessageBody {
  atLeast(ctx, 20, 'argsz');
  const argsz = u32(ctx, 0);
  if (argsz !== ctx.len) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} disagrees with the ${ctx.len}-byte payload`);
  const flags = u32(ctx, 4);
  const dataType = flags & IrqSetFlags.DATA_TYPE_MASK;
  const action = flags & IrqSetFlags.ACTION_TYPE_MASK;
  if (!oneBit(dataType)) fail(ctx, 'BAD_FLAGS', 'flags', `exactly one DATA flag must be set, flags ${flags}`);
  if (!oneBit(action)) fail(ctx, 'BAD_FLAGS', 'flags', `exactly one ACTION flag must be set, flags ${flags}`);
  const count = u32(ctx, 16);
  let data: Uint8Array | null = null;
  if (dataType === IrqSetFlags.DATA_BOOL) {
    if (ctx.len !== 20 + count) fail(ctx, 'BODY_LENGTH_MISMATCH', 'count', `DATA_BOOL with count ${count} needs ${20 + count} bytes, got ${ctx.len}`);
    data = view(ctx, 20, count);
  } else {
    exactly(ctx, 20, 'data');
  }
  return { kind: 'set-irqs', flags, index: u32(ctx, 8), start: u32(ctx, 12), count, data };
}

// vfio-user §VFIO_USER_REGION_READ/WRITE: offset u64 @0, region u32 @8, count u32 @12, data @16.
function regionAccess(ctx: Ctx, checkLimit: boolean): MessageBody {
  exactly(ctx, 16, 'count');
  const count = u32(ctx, 12);
  if (checkLimit) xferLimit(ctx, count, 'count');
  return { kind: 'region-access', offset: u64(ctx, 0), region: u32(ctx, 8), count };
}

function regionData(ctx: Ctx): MessageBody {
  atLeast(ctx, 16, 'count');
  const count = u32(ctx, 12);
  xferLimit(ctx, count, 'count');
  if (ctx.len !== 16 + count) fail(ctx, 'BODY_LENGTH_MISMATCH', 'count', `count ${count} disagrees with the ${ctx.len - 16} data bytes present`);
  return { kind: 'region-data', offset: u64(ctx, 0), region: u32(ctx, 8), data: view(ctx, 16, count) };
}

// vfio-user §VFIO_USER_DMA_READ/WRITE: address u64 @0, count u64 @8, data @16.
function dmaAccess(ctx: Ctx): MessageBody {
  exactly(ctx, 16, 'count');
  const count = u64(ctx, 8);
  xferLimit(ctx, count, 'count');
  return { kind: 'dma-access', address: u64(ctx, 0), count };
}

function dmaData(ctx: Ctx): MessageBody {
  atLeast(ctx, 16, 'count');
  // QEMU's VFIOUserDMARW puts a u32 count @8 and data @12 in a message of the same size.
  const qemu = ctx.dmaLayout === 'qemu';
  const count = qemu ? u32(ctx, 8) : u64(ctx, 8);
  xferLimit(ctx, count, 'count');
  if (BigInt(ctx.len) !== 16n + BigInt(count)) {
    fail(ctx, 'BODY_LENGTH_MISMATCH', 'count', `count ${count} disagrees with the ${ctx.len - 16} data bytes present`);
  }
  return { kind: 'dma-data', address: u64(ctx, 0), data: view(ctx, qemu ? 12 : 16, Number(count)) };
}

// DMA_WRITE reply: the spec's table (address u64, count u32: 12 bytes), libvfio-user's
// struct vfio_user_dma_region_access (16 bytes), or QEMU's header-only reply.
function dmaWriteReply(ctx: Ctx): MessageBody {
  if (ctx.len === 0) return EMPTY;
  if (ctx.len === 12) return { kind: 'dma-access', address: u64(ctx, 0), count: BigInt(u32(ctx, 8)) };
  exactly(ctx, 16, 'count');
  return { kind: 'dma-access', address: u64(ctx, 0), count: u64(ctx, 8) };
}

// vfio-user §VFIO_USER_REGION_WRITE_MULTI: wr_cnt u64 @0, then 24-byte writes @8:
// offset u64 @0, region u32 @8, count u32 @12 (<= 8), data 8 bytes @16.
function writeMulti(ctx: Ctx): MessageBody {
  atLeast(ctx, 8, 'wr_cnt');
  if (u32(ctx, 4) !== 0) fail(ctx, 'BODY_LENGTH_MISMATCH', 'wr_cnt', `wr_cnt ${u64(ctx, 0)} cannot fit in the payload`);
  const wrCnt = u32(ctx, 0);
  if (ctx.len !== 8 + wrCnt * WRITE_MULTI_ENTRY_SIZE) {
    fail(ctx, 'BODY_LENGTH_MISMATCH', 'wr_cnt', `wr_cnt ${wrCnt} needs ${8 + wrCnt * WRITE_MULTI_ENTRY_SIZE} bytes, got ${ctx.len}`);
  }
  const writes: MultiWrite[] = [];
  for (let i = 0; i < wrCnt; i++) {
    const at = 8 + i * WRITE_MULTI_ENTRY_SIZE;
    const count = u32(ctx, at + 12);
    if (count > WRITE_MULTI_DATA_SIZE) fail(ctx, 'BAD_COUNT', `wrs[${i}].count`, `write count ${count} exceeds the 8-byte data field`);
    writes.push({ offset: u64(ctx, at), region: u32(ctx, at + 8), count, data: view(ctx, at + 16, WRITE_MULTI_DATA_SIZE) });
  }
  return { kind: 'region-write-multi', writes };
}

function writeMultiReply(ctx: Ctx): MessageBody {
  exactly(ctx, 8, 'wr_cnt');
  return { kind: 'region-write-multi-reply', wrCnt: u64(ctx, 0) };
}

// vfio-user §VFIO_USER_DEVICE_FEATURE: argsz @0, flags @4 (feature index bits 0-15,
// GET 16, SET 17, PROBE 18), data @8 laid out per feature (§Device Features).
function deviceFeature(ctx: Ctx): MessageBody {
  atLeast(ctx, 8, 'argsz');
  const argsz = u32(ctx, 0);
  argszAtLeast(ctx, argsz, 8);
  const flags = u32(ctx, 4);
  if ((flags & DeviceFeatureFlags.PROBE) === 0 && (flags & DeviceFeatureFlags.GET) !== 0 && (flags & DeviceFeatureFlags.SET) !== 0) {
    fail(ctx, 'BAD_FLAGS', 'flags', 'GET and SET are exclusive except with PROBE');
  }
  const feature = flags & DeviceFeatureFlags.MASK;
  const dlen = ctx.len - 8;
  let data: FeatureData;
  if (dlen === 0) {
    data = { kind: 'none' };
  } else if (feature === DeviceFeature.MIGRATION) {
    // struct vfio_user_device_feature_migration: flags u64 @0.
    if (dlen !== 8) fail(ctx, 'BAD_FEATURE_DATA', 'data', `MIGRATION data is 8 bytes, got ${dlen}`);
    data = { kind: 'migration', flags: u64(ctx, 8) };
  } else if (feature === DeviceFeature.MIG_DEVICE_STATE) {
    // struct vfio_user_device_feature_mig_state: device_state u32 @0, data_fd u32 @4.
    if (dlen !== 8) fail(ctx, 'BAD_FEATURE_DATA', 'data', `MIG_DEVICE_STATE data is 8 bytes, got ${dlen}`);
    data = { kind: 'mig-device-state', deviceState: u32(ctx, 8), dataFd: u32(ctx, 12) };
  } else if (feature === DeviceFeature.DMA_LOGGING_START || feature === DeviceFeature.DMA_LOGGING_STOP) {
    // page_size u64 @0, num_ranges u32 @8, reserved u32 @12, ranges (iova u64, length u64) @16.
    if (dlen < 16) fail(ctx, 'BAD_FEATURE_DATA', 'data', `DMA logging control is at least 16 bytes, got ${dlen}`);
    const numRanges = u32(ctx, 16);
    if (dlen !== 16 + numRanges * 16) fail(ctx, 'BAD_FEATURE_DATA', 'num_ranges', `${numRanges} ranges need ${16 + numRanges * 16} bytes, got ${dlen}`);
    const ranges = [];
    for (let i = 0; i < numRanges; i++) {
      ranges.push({ iova: u64(ctx, 24 + i * 16), length: u64(ctx, 32 + i * 16) });
    }
    data = { kind: 'dma-logging-control', pageSize: u64(ctx, 8), reserved: u32(ctx, 20), ranges };
  } else if (feature === DeviceFeature.DMA_LOGGING_REPORT) {
    // iova u64 @0, length u64 @8, page_size u64 @16, bitmap @24 (reply only).
    if (dlen < 24) fail(ctx, 'BAD_FEATURE_DATA', 'data', `DMA logging report is at least 24 bytes, got ${dlen}`);
    data = { kind: 'dma-logging-report', iova: u64(ctx, 8), length: u64(ctx, 16), pageSize: u64(ctx, 24), bitmap: view(ctx, 32, dlen - 24) };
  } else {
    data = { kind: 'raw', data: view(ctx, 8, dlen) };
  }
  return { kind: 'device-feature', argsz, flags, data };
}

// vfio-user §VFIO_USER_MIG_DATA_READ/WRITE: argsz u32 @0, size u32 @4, data @8.
function migDataRead(ctx: Ctx): MessageBody {
  exactly(ctx, 8, 'size');
  const argsz = u32(ctx, 0);
  const size = u32(ctx, 4);
  xferLimit(ctx, size, 'size');
  argszAtLeast(ctx, argsz, 8);
  return { kind: 'mig-data-read', argsz, size };
}

function migData(ctx: Ctx, isReply: boolean): MessageBody {
  atLeast(ctx, 8, 'size');
  const argsz = u32(ctx, 0);
  const size = u32(ctx, 4);
  xferLimit(ctx, size, 'size');
  if (ctx.len !== 8 + size) fail(ctx, 'BODY_LENGTH_MISMATCH', 'size', `size ${size} disagrees with the ${ctx.len - 8} data bytes present`);
  // In the read reply argsz is "the size of the above structure, including the size of the data".
  if (isReply && argsz !== ctx.len) fail(ctx, 'BAD_ARGSZ', 'argsz', `argsz ${argsz} disagrees with the ${ctx.len}-byte payload`);
  return { kind: 'mig-data', argsz, data: view(ctx, 8, size) };
}

function decodeBody(ctx: Ctx, flags: number): MessageBody {
  const reply = (flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
  if (reply && (flags & HeaderFlags.ERROR) !== 0) {
    if (ctx.len !== 0) fail(ctx, 'ERROR_REPLY_WITH_BODY', 'flags', `error reply carries ${ctx.len} payload bytes`);
    return EMPTY;
  }
  switch (ctx.command) {
    case Command.VERSION:
      return version(ctx);
    case Command.DMA_MAP:
      return reply ? empty(ctx) : dmaMap(ctx);
    case Command.DMA_UNMAP:
      return reply ? dmaUnmapReply(ctx) : dmaUnmap(ctx);
    case Command.DEVICE_GET_INFO:
      return deviceInfo(ctx);
    case Command.DEVICE_GET_REGION_INFO:
      return reply ? regionInfo(ctx) : regionInfoRequest(ctx);
    case Command.DEVICE_GET_REGION_IO_FDS:
      return reply ? regionIoFds(ctx) : regionIoFdsRequest(ctx);
    case Command.DEVICE_GET_IRQ_INFO:
      return irqInfo(ctx);
    case Command.DEVICE_SET_IRQS:
      return reply ? empty(ctx) : setIrqs(ctx);
    case Command.REGION_READ:
      return reply ? regionData(ctx) : regionAccess(ctx, true);
    case Command.REGION_WRITE:
      return reply ? regionAccess(ctx, false) : regionData(ctx);
    case Command.DMA_READ:
      return reply ? dmaData(ctx) : dmaAccess(ctx);
    case Command.DMA_WRITE:
      return reply ? dmaWriteReply(ctx) : dmaData(ctx);
    case Command.DEVICE_RESET:
      return empty(ctx);
    case Command.REGION_WRITE_MULTI:
      return reply ? writeMultiReply(ctx) : writeMulti(ctx);
    case Command.DEVICE_FEATURE:
      return deviceFeature(ctx);
    case Command.MIG_DATA_READ:
      return reply ? migData(ctx, true) : migDataRead(ctx);
    case Command.MIG_DATA_WRITE:
      return reply ? empty(ctx) : migData(ctx, false);
    default:
      return { kind: 'raw', data: view(ctx, 0, ctx.len) };
  }
}

/**
 * Decodes one whole message of exactly `length` bytes at `offset`. Checks the header and that
 * the body is consistent with its command (per the vfio-user spec's tables). Variable data
 * in the result are views of `buf`. Throws only VfioUserProtocolError.
 */
export function decodeMessage(buf: Buffer, offset: number, length: number, options: DecodeOptions = {}): VfioUserMessage {
  const header = decodeHeader(buf, offset, length);
  if (header.size !== length) {
    throw new VfioUserProtocolError(
      'SIZE_MISMATCH',
      'size',
      `header size ${header.size} disagrees with the ${length} bytes given`,
      'EINVAL',
      header.command,
      header.msgId,
    );
  }
  const ctx: Ctx = {
    buf,
    p: offset + HEADER_SIZE,
    len: length - HEADER_SIZE,
    command: header.command,
    msgId: header.msgId,
    maxXfer: options.maxDataXferSize ?? CapabilityDefaults.maxDataXferSize,
    dmaLayout: options.dmaLayout ?? 'spec',
  };
  const body = decodeBody(ctx, header.flags);
  return { msgId: header.msgId, command: header.command, flags: header.flags, errno: header.errno, body };
}
