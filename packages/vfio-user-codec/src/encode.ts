import { Command, HEADER_SIZE, HeaderFlags, RegionCapId, RegionInfoFlags, WRITE_MULTI_DATA_SIZE, WRITE_MULTI_ENTRY_SIZE } from './constants.js';
import { encodeHeader } from './header.js';
import type {
  EncodeOptions,
  FeatureData,
  MessageBody,
  RegionCap,
  RegionInfoBody,
  RegionIoFdsBody,
  SparseMmapArea,
  SubRegionIoFd,
  VfioUserMessage,
} from './types.js';
import { writeU64 } from './u64.js';
import { serializeVersionData } from './version.js';

type Kind = MessageBody['kind'];

/** Body kinds each command takes as [request kinds, reply kinds] ('raw' and 'empty' always fit). */
const KINDS: Record<number, readonly [readonly Kind[], readonly Kind[]]> = {
  [Command.VERSION]: [['version'], ['version']],
  [Command.DMA_MAP]: [['dma-map'], []],
  [Command.DMA_UNMAP]: [['dma-unmap'], ['dma-unmap-reply']],
  [Command.DEVICE_GET_INFO]: [['device-info'], ['device-info']],
  [Command.DEVICE_GET_REGION_INFO]: [['region-info-request'], ['region-info']],
  [Command.DEVICE_GET_REGION_IO_FDS]: [['region-io-fds-request'], ['region-io-fds']],
  [Command.DEVICE_GET_IRQ_INFO]: [['irq-info'], ['irq-info']],
  [Command.DEVICE_SET_IRQS]: [['set-irqs'], []],
  [Command.REGION_READ]: [['region-access'], ['region-data']],
  [Command.REGION_WRITE]: [['region-data'], ['region-access']],
  [Command.DMA_READ]: [['dma-access'], ['dma-data']],
  [Command.DMA_WRITE]: [['dma-data'], ['dma-access']],
  [Command.DEVICE_RESET]: [[], []],
  [Command.REGION_WRITE_MULTI]: [['region-write-multi'], ['region-write-multi-reply']],
  [Command.DEVICE_FEATURE]: [['device-feature'], ['device-feature']],
  [Command.MIG_DATA_READ]: [['mig-data-read'], ['mig-data']],
  [Command.MIG_DATA_WRITE]: [['mig-data'], []],
};

function checkKind(msg: VfioUserMessage): void {
  const kind = msg.body.kind;
  if (kind === 'raw' || kind === 'empty') return;
  const allowed = KINDS[msg.command];
  const reply = (msg.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
  if (allowed?.[reply ? 1 : 0].includes(kind) !== true) {
    throw new TypeError(`a ${kind} body does not belong to a ${reply ? 'reply' : 'request'} of command ${msg.command}`);
  }
}

function capLength(cap: RegionCap): number {
  switch (cap.kind) {
    case 'sparse-mmap':
      return 16 + cap.areas.length * 16;
    case 'type':
      return 16;
    case 'unknown':
      return 8 + cap.data.length;
  }
}

function capsLength(caps: readonly RegionCap[]): number {
  let n = 0;
  for (const cap of caps) n += capLength(cap);
  return n;
}

function featureDataLength(data: FeatureData): number {
  switch (data.kind) {
    case 'none':
      return 0;
    case 'migration':
    case 'mig-device-state':
      return 8;
    case 'dma-logging-control':
      return 16 + data.ranges.length * 16;
    case 'dma-logging-report':
      return 24 + data.bitmap.length;
    case 'raw':
      return data.data.length;
  }
}

/** Payload length of a body (without the 16-byte header). */
export function bodyLength(body: MessageBody): number {
  switch (body.kind) {
    case 'empty':
      return 0;
    case 'raw':
      return body.data.length;
    case 'version':
      return 4 + serializeVersionData(body.data).length;
    case 'dma-map':
      return 32;
    case 'dma-unmap':
      return body.bitmap === null ? 24 : 40;
    case 'dma-unmap-reply':
      return body.bitmap === null ? 24 : 40 + body.bitmap.data.length;
    case 'device-info':
    case 'region-io-fds-request':
    case 'irq-info':
    case 'region-access':
    case 'dma-access':
      return 16;
    case 'region-info-request':
      return 32;
    case 'region-info':
      return 32 + capsLength(body.caps);
    case 'region-io-fds':
      return 16 + body.subRegions.length * body.entrySize;
    case 'set-irqs':
      return 20 + (body.data?.length ?? 0);
    case 'region-data':
    case 'dma-data':
      return 16 + body.data.length;
    case 'region-write-multi':
      return 8 + body.writes.length * WRITE_MULTI_ENTRY_SIZE;
    case 'region-write-multi-reply':
      return 8;
    case 'device-feature':
      return 8 + featureDataLength(body.data);
    case 'mig-data-read':
      return 8;
    case 'mig-data':
      return 8 + body.data.length;
  }
}

/** Whole message length: 16 + payload. */
export function encodedLength(msg: VfioUserMessage): number {
  return HEADER_SIZE + bodyLength(msg.body);
}

function writeCaps(caps: readonly RegionCap[], buf: Buffer, p: number): void {
  let pos = 32;
  caps.forEach((cap, i) => {
    const len = capLength(cap);
    const next = i === caps.length - 1 ? 0 : pos + len;
    const at = p + pos;
    buf.writeUInt16LE(cap.kind === 'sparse-mmap' ? RegionCapId.SPARSE_MMAP : cap.kind === 'type' ? RegionCapId.TYPE : cap.id, at);
    buf.writeUInt16LE(cap.version, at + 2);
    buf.writeUInt32LE(next, at + 4);
    if (cap.kind === 'sparse-mmap') {
      buf.writeUInt32LE(cap.areas.length, at + 8);
      buf.writeUInt32LE(0, at + 12);
      cap.areas.forEach((area: SparseMmapArea, j) => {
        writeU64(buf, area.offset, at + 16 + j * 16);
        writeU64(buf, area.size, at + 24 + j * 16);
      });
    } else if (cap.kind === 'type') {
      buf.writeUInt32LE(cap.type, at + 8);
      buf.writeUInt32LE(cap.subtype, at + 12);
    } else {
      buf.set(cap.data, at + 8);
    }
    pos += len;
  });
}

function writeSubRegion(s: SubRegionIoFd, entrySize: 40 | 48, buf: Buffer, at: number): void {
  writeU64(buf, s.offset, at);
  writeU64(buf, s.size, at + 8);
  buf.writeUInt32LE(s.fdIndex, at + 16);
  buf.writeUInt32LE(s.type, at + 20);
  buf.writeUInt32LE(s.flags, at + 24);
  buf.writeUInt32LE(s.shadowMemFdIndex, at + 28);
  if (entrySize === 48) {
    writeU64(buf, s.shadowOffset, at + 32);
    writeU64(buf, s.value, at + 40);
  } else {
    writeU64(buf, s.value, at + 32);
  }
}

function writeFeatureData(data: FeatureData, buf: Buffer, at: number): void {
  switch (data.kind) {
    case 'none':
      return;
    case 'migration':
      writeU64(buf, data.flags, at);
      return;
    case 'mig-device-state':
      buf.writeUInt32LE(data.deviceState, at);
      buf.writeUInt32LE(data.dataFd, at + 4);
      return;
    case 'dma-logging-control':
      writeU64(buf, data.pageSize, at);
      buf.writeUInt32LE(data.ranges.length, at + 8);
      buf.writeUInt32LE(data.reserved, at + 12);
      data.ranges.forEach((r, i) => {
        writeU64(buf, r.iova, at + 16 + i * 16);
        writeU64(buf, r.length, at + 24 + i * 16);
      });
      return;
    case 'dma-logging-report':
      writeU64(buf, data.iova, at);
      writeU64(buf, data.length, at + 8);
      writeU64(buf, data.pageSize, at + 16);
      buf.set(data.bitmap, at + 24);
      return;
    case 'raw':
      buf.set(data.data, at);
      return;
  }
}

function writeBody(body: MessageBody, buf: Buffer, p: number, options: EncodeOptions): void {
  switch (body.kind) {
    case 'empty':
      return;
    case 'raw':
      buf.set(body.data, p);
      return;
    case 'version':
      buf.writeUInt16LE(body.major, p);
      buf.writeUInt16LE(body.minor, p + 2);
      buf.set(serializeVersionData(body.data), p + 4);
      return;
    case 'dma-map':
      buf.writeUInt32LE(32, p);
      buf.writeUInt32LE(body.flags, p + 4);
      writeU64(buf, body.offset, p + 8);
      writeU64(buf, body.address, p + 16);
      writeU64(buf, body.size, p + 24);
      return;
    case 'dma-unmap':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      writeU64(buf, body.address, p + 8);
      writeU64(buf, body.size, p + 16);
      if (body.bitmap !== null) {
        writeU64(buf, body.bitmap.pgsize, p + 24);
        writeU64(buf, body.bitmap.size, p + 32);
      }
      return;
    case 'dma-unmap-reply':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      writeU64(buf, body.address, p + 8);
      writeU64(buf, body.size, p + 16);
      if (body.bitmap !== null) {
        writeU64(buf, body.bitmap.pgsize, p + 24);
        writeU64(buf, BigInt(body.bitmap.data.length), p + 32);
        buf.set(body.bitmap.data, p + 40);
      }
      return;
    case 'device-info':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      buf.writeUInt32LE(body.numRegions, p + 8);
      buf.writeUInt32LE(body.numIrqs, p + 12);
      return;
    case 'region-info-request':
    case 'region-info':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      buf.writeUInt32LE(body.index, p + 8);
      buf.writeUInt32LE(body.capOffset, p + 12);
      writeU64(buf, body.size, p + 16);
      writeU64(buf, body.offset, p + 24);
      if (body.kind === 'region-info') writeCaps(body.caps, buf, p);
      return;
    case 'region-io-fds-request':
    case 'irq-info':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      buf.writeUInt32LE(body.index, p + 8);
      buf.writeUInt32LE(body.count, p + 12);
      return;
    case 'region-io-fds':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      buf.writeUInt32LE(body.index, p + 8);
      buf.writeUInt32LE(body.count, p + 12);
      body.subRegions.forEach((s, i) => {
        writeSubRegion(s, body.entrySize, buf, p + 16 + i * body.entrySize);
      });
      return;
    case 'set-irqs':
      buf.writeUInt32LE(20 + (body.data?.length ?? 0), p);
      buf.writeUInt32LE(body.flags, p + 4);
      buf.writeUInt32LE(body.index, p + 8);
      buf.writeUInt32LE(body.start, p + 12);
      buf.writeUInt32LE(body.count, p + 16);
      if (body.data !== null) buf.set(body.data, p + 20);
      return;
    case 'region-access':
      writeU64(buf, body.offset, p);
      buf.writeUInt32LE(body.region, p + 8);
      buf.writeUInt32LE(body.count, p + 12);
      return;
    case 'region-data':
      writeU64(buf, body.offset, p);
      buf.writeUInt32LE(body.region, p + 8);
      buf.writeUInt32LE(body.data.length, p + 12);
      buf.set(body.data, p + 16);
      return;
    case 'dma-access':
      writeU64(buf, body.address, p);
      writeU64(buf, body.count, p + 8);
      return;
    case 'dma-data':
      writeU64(buf, body.address, p);
      if (options.dmaLayout === 'qemu') {
        // QEMU's VFIOUserDMARW: u32 count @8, data @12, 4 bytes of tail padding.
        buf.writeUInt32LE(body.data.length, p + 8);
        buf.set(body.data, p + 12);
        buf.fill(0, p + 12 + body.data.length, p + 16 + body.data.length);
      } else {
        writeU64(buf, BigInt(body.data.length), p + 8);
        buf.set(body.data, p + 16);
      }
      return;
    case 'region-write-multi':
      writeU64(buf, BigInt(body.writes.length), p);
      body.writes.forEach((w, i) => {
        const at = p + 8 + i * WRITE_MULTI_ENTRY_SIZE;
        writeU64(buf, w.offset, at);
        buf.writeUInt32LE(w.region, at + 8);
        buf.writeUInt32LE(w.count, at + 12);
        buf.fill(0, at + 16, at + 16 + WRITE_MULTI_DATA_SIZE);
        buf.set(w.data.subarray(0, WRITE_MULTI_DATA_SIZE), at + 16);
      });
      return;
    case 'region-write-multi-reply':
      writeU64(buf, body.wrCnt, p);
      return;
    case 'device-feature':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.flags, p + 4);
      writeFeatureData(body.data, buf, p + 8);
      return;
    case 'mig-data-read':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.size, p + 4);
      return;
    case 'mig-data':
      buf.writeUInt32LE(body.argsz, p);
      buf.writeUInt32LE(body.data.length, p + 4);
      buf.set(body.data, p + 8);
      return;
  }
}

/**
 * Encodes `msg` into `buf` at `offset` and returns the bytes written (16 + payload). The size
 * field and every derived count (data lengths, wr_cnt, nr_areas, cap next pointers, SET_IRQS
 * argsz) come from the body. Throws RangeError when `buf` is too small and TypeError when the
 * body kind does not belong to the command.
 */
export function encodeMessageInto(msg: VfioUserMessage, buf: Buffer, offset: number, options: EncodeOptions = {}): number {
  checkKind(msg);
  const size = encodedLength(msg);
  if (offset < 0 || offset + size > buf.length) {
    throw new RangeError(`encoding needs ${size} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  encodeHeader({ msgId: msg.msgId, command: msg.command, size, flags: msg.flags, errno: msg.errno }, buf, offset);
  writeBody(msg.body, buf, offset + HEADER_SIZE, options);
  return size;
}

/** Encodes `msg` into a new Buffer of exactly its length. */
export function encodeMessage(msg: VfioUserMessage, options: EncodeOptions = {}): Buffer {
  checkKind(msg);
  const buf = Buffer.alloc(encodedLength(msg));
  encodeMessageInto(msg, buf, 0, options);
  return buf;
}

/** A REGION_INFO reply body with argsz, cap_offset and the CAPS flag derived from `caps`. */
export function regionInfoReply(fields: {
  flags: number;
  index: number;
  size: bigint;
  offset: bigint;
  caps?: RegionCap[];
}): RegionInfoBody {
  const caps = fields.caps ?? [];
  const flags = caps.length > 0 ? fields.flags | RegionInfoFlags.CAPS : fields.flags & ~RegionInfoFlags.CAPS;
  return {
    kind: 'region-info',
    argsz: 32 + capsLength(caps),
    flags: flags >>> 0,
    index: fields.index,
    capOffset: caps.length > 0 ? 32 : 0,
    size: fields.size,
    offset: fields.offset,
    caps,
  };
}

/** A REGION_IO_FDS reply body with argsz and count derived from the sub-regions. */
export function regionIoFdsReply(fields: { index: number; subRegions: SubRegionIoFd[]; entrySize?: 40 | 48 }): RegionIoFdsBody {
  const entrySize = fields.entrySize ?? 40;
  return {
    kind: 'region-io-fds',
    argsz: 16 + fields.subRegions.length * entrySize,
    flags: 0,
    index: fields.index,
    count: fields.subRegions.length,
    entrySize,
    subRegions: fields.subRegions,
  };
}
