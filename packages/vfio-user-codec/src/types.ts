/**
 * Decoded forms of vfio-user messages. Field names follow the spec's tables (camelCase);
 * 64-bit fields are bigint, 32-bit and smaller are number. Variable-length data is a
 * Uint8Array view into the decoded bytes (never a copy): keep the source bytes unchanged while
 * the message is in use.
 */

/** The 16-byte header (vfio-user §Header). `flags` is the raw word; see HeaderFlags. */
export interface MessageHeader {
  msgId: number;
  command: number;
  /** Size of the whole message, header included. */
  size: number;
  flags: number;
  /** The header's error field (an errno in error replies, reserved otherwise). */
  errno: number;
}

/** A whole message: header fields (size is derived when encoding) and the decoded body. */
export interface VfioUserMessage<B extends MessageBody = MessageBody> {
  msgId: number;
  command: number;
  /** Raw header flags: type bits (0 command, 1 reply), NO_REPLY (0x10), ERROR (0x20). */
  flags: number;
  errno: number;
  body: B;
}

/** No payload: DMA_MAP / SET_IRQS / DEVICE_RESET / MIG_DATA_WRITE replies, DEVICE_RESET requests, error replies. */
export interface EmptyBody {
  kind: 'empty';
}

/** A command this package does not know (the size still frames it); the payload as is. */
export interface RawBody {
  kind: 'raw';
  data: Uint8Array;
}

/** `migration` capability object (QEMU client; older spec drafts). Unknown keys are kept. */
export interface MigrationCapability {
  pgsize?: number;
  max_bitmap_size?: number;
  [key: string]: unknown;
}

/** `twin_socket` capability object (vfio-user §VFIO_USER_VERSION). Unknown keys are kept. */
export interface TwinSocketCapability {
  supported?: boolean;
  /** Index of the server-to-client socket in the reply's fds (reply only). */
  fd_index?: number;
  [key: string]: unknown;
}

/** The `capabilities` object of the VERSION JSON, keys as on the wire. Unknown keys are kept. */
export interface VersionCapabilities {
  max_msg_fds?: number;
  max_data_xfer_size?: number;
  pgsizes?: number;
  max_dma_maps?: number;
  migration?: MigrationCapability;
  twin_socket?: TwinSocketCapability;
  write_multiple?: boolean;
  [key: string]: unknown;
}

/** The JSON object of the VERSION data. Unknown top-level keys are kept. */
export interface VersionData {
  capabilities?: VersionCapabilities;
  [key: string]: unknown;
}

/** VFIO_USER_VERSION request and reply: major, minor and the optional NUL-terminated JSON. */
export interface VersionBody {
  kind: 'version';
  major: number;
  minor: number;
  /** null when the message carries no version data. */
  data: VersionData | null;
}

/** VFIO_USER_DMA_MAP request (argsz is always 32, the structure size). Carries 0 or 1 fd. */
export interface DmaMapBody {
  kind: 'dma-map';
  flags: number;
  /** File offset of the region in the fd (0 when no fd is sent). */
  offset: bigint;
  address: bigint;
  size: bigint;
}

/** The dirty bitmap request that follows a DMA_UNMAP with GET_DIRTY_BITMAP (struct vfio_user_bitmap). */
export interface DirtyBitmapRequest {
  pgsize: bigint;
  /** Size in bytes of the bitmap the client wants back. */
  size: bigint;
}

/** VFIO_USER_DMA_UNMAP request. `bitmap` is present iff flags has GET_DIRTY_BITMAP. */
export interface DmaUnmapBody {
  kind: 'dma-unmap';
  /** Maximum reply payload size: at least 24, plus 16 + bitmap size with a bitmap. */
  argsz: number;
  flags: number;
  address: bigint;
  size: bigint;
  bitmap: DirtyBitmapRequest | null;
}

/** The dirty bitmap in a DMA_UNMAP reply: pgsize, then `data.length` bytes of bitmap. */
export interface DirtyBitmap {
  pgsize: bigint;
  data: Uint8Array;
}

/** VFIO_USER_DMA_UNMAP reply: the request's entry echoed, with the bitmap when asked for. */
export interface DmaUnmapReplyBody {
  kind: 'dma-unmap-reply';
  argsz: number;
  flags: number;
  address: bigint;
  size: bigint;
  bitmap: DirtyBitmap | null;
}

/** VFIO_USER_DEVICE_GET_INFO request and reply (struct vfio_user_device_info). */
export interface DeviceInfoBody {
  kind: 'device-info';
  argsz: number;
  flags: number;
  numRegions: number;
  numIrqs: number;
}

/** VFIO_USER_DEVICE_GET_REGION_INFO request (only argsz and index matter). */
export interface RegionInfoRequestBody {
  kind: 'region-info-request';
  argsz: number;
  flags: number;
  index: number;
  capOffset: number;
  size: bigint;
  offset: bigint;
}

/** One mmap-able area of a sparse region (struct vfio_region_sparse_mmap_area). */
export interface SparseMmapArea {
  offset: bigint;
  size: bigint;
}

/** VFIO_REGION_INFO_CAP_SPARSE_MMAP (id 1). */
export interface SparseMmapCap {
  kind: 'sparse-mmap';
  version: number;
  areas: SparseMmapArea[];
}

/** VFIO_REGION_INFO_CAP_TYPE (id 2): device-specific region type. */
export interface RegionTypeCap {
  kind: 'type';
  version: number;
  type: number;
  subtype: number;
}

/** Any other capability: id, version and the bytes between its header and the next one. */
export interface UnknownRegionCap {
  kind: 'unknown';
  id: number;
  version: number;
  data: Uint8Array;
}

export type RegionCap = SparseMmapCap | RegionTypeCap | UnknownRegionCap;

/**
 * VFIO_USER_DEVICE_GET_REGION_INFO reply. When `argsz` exceeds the body the reply was cut to
 * the client's buffer and `caps` is empty (the client retries with a larger argsz).
 * Carries 1 fd when flags has MMAP.
 */
export interface RegionInfoBody {
  kind: 'region-info';
  argsz: number;
  flags: number;
  index: number;
  /** Offset of the first capability from the start of the payload (32 when caps follow). */
  capOffset: number;
  size: bigint;
  offset: bigint;
  caps: RegionCap[];
}

/** VFIO_USER_DEVICE_GET_REGION_IO_FDS request. */
export interface RegionIoFdsRequestBody {
  kind: 'region-io-fds-request';
  argsz: number;
  flags: number;
  index: number;
  count: number;
}

/**
 * One sub-region of a REGION_IO_FDS reply. The spec's entry is 40 bytes (padding at 28,
 * datamatch / user_data at 32); libvfio-user's is 48 (shadow_mem_fd_index at 28,
 * shadow_offset at 32, datamatch at 40).
 */
export interface SubRegionIoFd {
  offset: bigint;
  size: bigint;
  fdIndex: number;
  type: number;
  flags: number;
  /** Spec: padding. libvfio-user 48-byte entries: shadow_mem_fd_index. */
  shadowMemFdIndex: number;
  /** libvfio-user 48-byte entries only; 0n in 40-byte entries. */
  shadowOffset: bigint;
  /** datamatch (ioeventfd) or user_data (ioregionfd). */
  value: bigint;
}

/** VFIO_USER_DEVICE_GET_REGION_IO_FDS reply. Carries max(fdIndex)+1 fds. */
export interface RegionIoFdsBody {
  kind: 'region-io-fds';
  argsz: number;
  flags: number;
  index: number;
  count: number;
  /** Bytes per entry: 40 (spec) or 48 (libvfio-user). */
  entrySize: 40 | 48;
  /** Empty when argsz exceeds the body (reply cut to the client's buffer). */
  subRegions: SubRegionIoFd[];
}

/** VFIO_USER_DEVICE_GET_IRQ_INFO request and reply (struct vfio_irq_info). */
export interface IrqInfoBody {
  kind: 'irq-info';
  argsz: number;
  flags: number;
  index: number;
  count: number;
}

/**
 * VFIO_USER_DEVICE_SET_IRQS request (argsz is derived: 20 + data length). `data` holds
 * `count` booleans with DATA_BOOL and is null otherwise. With DATA_EVENTFD the message
 * carries `count` fds, or none (a run of -1: de-assign).
 */
export interface SetIrqsBody {
  kind: 'set-irqs';
  flags: number;
  index: number;
  start: number;
  count: number;
  data: Uint8Array | null;
}

/** REGION_READ request and REGION_WRITE reply: offset, region, count. */
export interface RegionAccessBody {
  kind: 'region-access';
  offset: bigint;
  region: number;
  count: number;
}

/** REGION_WRITE request and REGION_READ reply: offset, region and `data` (count = data.length). */
export interface RegionDataBody {
  kind: 'region-data';
  offset: bigint;
  region: number;
  data: Uint8Array;
}

/** DMA_READ request and DMA_WRITE reply: address and count. */
export interface DmaAccessBody {
  kind: 'dma-access';
  address: bigint;
  count: bigint;
}

/** DMA_WRITE request and DMA_READ reply: address and `data` (count = data.length). */
export interface DmaDataBody {
  kind: 'dma-data';
  address: bigint;
  data: Uint8Array;
}

/** One write of REGION_WRITE_MULTI: count <= 8 bytes of the 8-byte data field are used. */
export interface MultiWrite {
  offset: bigint;
  region: number;
  count: number;
  /** Always the 8 data bytes of the entry. */
  data: Uint8Array;
}

/** VFIO_USER_REGION_WRITE_MULTI request (wr_cnt = writes.length). */
export interface RegionWriteMultiBody {
  kind: 'region-write-multi';
  writes: MultiWrite[];
}

/** VFIO_USER_REGION_WRITE_MULTI reply: number of writes completed. */
export interface RegionWriteMultiReplyBody {
  kind: 'region-write-multi-reply';
  wrCnt: bigint;
}

/** IOVA range of DMA logging (struct vfio_user_device_feature_dma_logging_range). */
export interface DmaLoggingRange {
  iova: bigint;
  length: bigint;
}

/** Data of a DEVICE_FEATURE message, by feature index and length. */
export type FeatureData =
  | { kind: 'none' }
  /** VFIO_DEVICE_FEATURE_MIGRATION GET reply: VFIO_MIGRATION_* flags. */
  | { kind: 'migration'; flags: bigint }
  /** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: device_state and (unused) data_fd. */
  | { kind: 'mig-device-state'; deviceState: number; dataFd: number }
  /** VFIO_DEVICE_FEATURE_DMA_LOGGING_START / STOP control structure. */
  | { kind: 'dma-logging-control'; pageSize: bigint; reserved: number; ranges: DmaLoggingRange[] }
  /** VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: request (empty bitmap) or reply (bitmap at 24). */
  | { kind: 'dma-logging-report'; iova: bigint; length: bigint; pageSize: bigint; bitmap: Uint8Array }
  /** A feature index this package does not know. */
  | { kind: 'raw'; data: Uint8Array };

/** VFIO_USER_DEVICE_FEATURE request and reply. The feature index is flags & 0xffff. */
export interface DeviceFeatureBody {
  kind: 'device-feature';
  argsz: number;
  flags: number;
  data: FeatureData;
}

/** VFIO_USER_MIG_DATA_READ request: argsz (max reply payload) and the size wanted. */
export interface MigDataReadBody {
  kind: 'mig-data-read';
  argsz: number;
  size: number;
}

/** MIG_DATA_READ reply and MIG_DATA_WRITE request: argsz and the data (size = data.length). */
export interface MigDataBody {
  kind: 'mig-data';
  argsz: number;
  data: Uint8Array;
}

export type MessageBody =
  | EmptyBody
  | RawBody
  | VersionBody
  | DmaMapBody
  | DmaUnmapBody
  | DmaUnmapReplyBody
  | DeviceInfoBody
  | RegionInfoRequestBody
  | RegionInfoBody
  | RegionIoFdsRequestBody
  | RegionIoFdsBody
  | IrqInfoBody
  | SetIrqsBody
  | RegionAccessBody
  | RegionDataBody
  | DmaAccessBody
  | DmaDataBody
  | RegionWriteMultiBody
  | RegionWriteMultiReplyBody
  | DeviceFeatureBody
  | MigDataReadBody
  | MigDataBody;

/**
 * Where DMA_READ replies and DMA_WRITE requests keep their data. 'spec': count is u64 at 8 and
 * data starts at 16. 'qemu': QEMU's VFIOUserDMARW (hw/vfio-user/protocol.h) has a u32 count at
 * 8 and data at 12, with 4 bytes of padding at the end, in a message of the same size.
 */
export type DmaDataLayout = 'spec' | 'qemu';

/** Options of decodeMessage and the framer. */
export interface DecodeOptions {
  /** Largest count a data transfer message may carry (the peer's max_data_xfer_size). Default 1 MiB. */
  maxDataXferSize?: number;
  /** Layout of DMA_READ reply / DMA_WRITE request data. Default 'spec'. */
  dmaLayout?: DmaDataLayout;
}

/** Options of the encoders. */
export interface EncodeOptions {
  dmaLayout?: DmaDataLayout;
}
