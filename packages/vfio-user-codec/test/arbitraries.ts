/** fast-check arbitraries for every message the codec knows, consistent with the spec's rules. */
import fc from 'fast-check';
import {
  Command,
  HeaderFlags,
  IrqSetFlags,
  RegionInfoFlags,
  type FeatureData,
  type MessageBody,
  type RegionCap,
  type SubRegionIoFd,
  type VersionData,
  type VfioUserMessage,
} from '../src/index.js';

export const MAX_XFER = 1 << 20;

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (maxLength = 48, minLength = 0): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength, maxLength });
const atLeast = (min: number): fc.Arbitrary<number> => fc.integer({ min, max: 0xffffffff });
const body = <T extends MessageBody>(arb: fc.Arbitrary<T>): fc.Arbitrary<MessageBody> => arb;
const empty = fc.constant<MessageBody>({ kind: 'empty' });

const jsonLeaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));

export const versionData: fc.Arbitrary<VersionData | null> = fc.option(
  fc.record(
    {
      capabilities: fc.record(
        {
          max_msg_fds: fc.nat(64),
          max_data_xfer_size: fc.nat(),
          pgsizes: fc.nat(),
          max_dma_maps: fc.nat(),
          migration: fc.record({ pgsize: fc.nat(), max_bitmap_size: fc.nat(), extra: jsonLeaf }, { requiredKeys: [] }),
          twin_socket: fc.record({ supported: fc.boolean(), fd_index: fc.nat(4), extra: jsonLeaf }, { requiredKeys: [] }),
          write_multiple: fc.boolean(),
          vendor_key: jsonLeaf,
        },
        { requiredKeys: [] },
      ),
      other: jsonLeaf,
    },
    { requiredKeys: [] },
  ),
  { nil: null },
);

const version = body(fc.record({ kind: fc.constant('version' as const), major: u16, minor: u16, data: versionData }));

const dmaMap = body(fc.record({ kind: fc.constant('dma-map' as const), flags: u32, offset: u64, address: u64, size: u64 }));

const dmaUnmap = body(
  fc.oneof(
    fc.record({ kind: fc.constant('dma-unmap' as const), argsz: atLeast(24), flags: u32.map((f) => (f & ~1) >>> 0), address: u64, size: u64, bitmap: fc.constant(null) }),
    fc.tuple(u32, u64, u64, u64, fc.nat(1 << 20), fc.nat(1000)).map(([f, address, size, pgsize, bsize, extra]) => ({
      kind: 'dma-unmap' as const,
      argsz: 40 + bsize + extra,
      flags: (f | 1) >>> 0,
      address,
      size,
      bitmap: { pgsize, size: BigInt(bsize) },
    })),
  ),
);

const dmaUnmapReply = body(
  fc.oneof(
    fc.record({ kind: fc.constant('dma-unmap-reply' as const), argsz: atLeast(24), flags: u32.map((f) => (f & ~1) >>> 0), address: u64, size: u64, bitmap: fc.constant(null) }),
    fc.tuple(u32, u64, u64, u64, bytes(32), fc.nat(1000)).map(([f, address, size, pgsize, data, extra]) => ({
      kind: 'dma-unmap-reply' as const,
      argsz: 40 + data.length + extra,
      flags: (f | 1) >>> 0,
      address,
      size,
      bitmap: { pgsize, data },
    })),
  ),
);

const deviceInfo = body(fc.record({ kind: fc.constant('device-info' as const), argsz: atLeast(16), flags: u32, numRegions: u32, numIrqs: u32 }));

const regionInfoRequest = body(
  fc.record({ kind: fc.constant('region-info-request' as const), argsz: atLeast(32), flags: u32, index: u32, capOffset: u32, size: u64, offset: u64 }),
);

const regionCap: fc.Arbitrary<RegionCap> = fc.oneof(
  fc.record({
    kind: fc.constant('sparse-mmap' as const),
    version: u16,
    areas: fc.array(fc.record({ offset: u64, size: u64 }), { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('type' as const), version: u16, type: u32, subtype: u32 }),
  fc.record({ kind: fc.constant('unknown' as const), id: u16.filter((id) => id !== 1 && id !== 2), version: u16, data: bytes(24) }),
);

function capLength(cap: RegionCap): number {
  return cap.kind === 'sparse-mmap' ? 16 + 16 * cap.areas.length : cap.kind === 'type' ? 16 : 8 + cap.data.length;
}

const regionInfo = body(
  fc.oneof(
    // Complete reply: argsz is the payload; caps chain from offset 32 when present.
    fc.tuple(u32, u32, u64, u64, fc.array(regionCap, { maxLength: 3 })).map(([flags, index, size, offset, caps]) => ({
      kind: 'region-info' as const,
      argsz: 32 + caps.reduce((n, c) => n + capLength(c), 0),
      flags: caps.length > 0 ? (flags | RegionInfoFlags.CAPS) >>> 0 : flags,
      index,
      capOffset: caps.length > 0 ? 32 : 0,
      size,
      offset,
      caps,
    })),
    // Reply cut to the client's argsz: no caps present.
    fc.record({ kind: fc.constant('region-info' as const), argsz: atLeast(33), flags: u32, index: u32, capOffset: u32, size: u64, offset: u64, caps: fc.constant<RegionCap[]>([]) }),
  ),
);

const regionIoFdsRequest = body(fc.record({ kind: fc.constant('region-io-fds-request' as const), argsz: atLeast(16), flags: u32, index: u32, count: u32 }));

const subRegion = (wide: boolean): fc.Arbitrary<SubRegionIoFd> =>
  fc.record({
    offset: u64,
    size: u64,
    fdIndex: fc.nat(15),
    type: u32,
    flags: u32,
    shadowMemFdIndex: u32,
    shadowOffset: wide ? u64 : fc.constant(0n),
    value: u64,
  });

const regionIoFds = body(
  fc.oneof(
    fc.tuple(fc.boolean(), u32, u32).chain(([wide, flags, index]) =>
      fc.array(subRegion(wide), { minLength: wide ? 1 : 0, maxLength: 3 }).map((subRegions) => {
        const entrySize: 40 | 48 = wide ? 48 : 40;
        return { kind: 'region-io-fds' as const, argsz: 16 + subRegions.length * entrySize, flags, index, count: subRegions.length, entrySize, subRegions };
      }),
    ),
    fc.record({
      kind: fc.constant('region-io-fds' as const),
      argsz: atLeast(17),
      flags: u32,
      index: u32,
      count: u32,
      entrySize: fc.constant(40 as const),
      subRegions: fc.constant<SubRegionIoFd[]>([]),
    }),
  ),
);

const irqInfo = body(fc.record({ kind: fc.constant('irq-info' as const), argsz: atLeast(16), flags: u32, index: u32, count: u32 }));

const setIrqs = body(
  fc
    .tuple(
      fc.constantFrom(IrqSetFlags.DATA_NONE, IrqSetFlags.DATA_BOOL, IrqSetFlags.DATA_EVENTFD),
      fc.constantFrom(IrqSetFlags.ACTION_MASK, IrqSetFlags.ACTION_UNMASK, IrqSetFlags.ACTION_TRIGGER),
      fc.integer({ min: 0, max: (1 << 26) - 1 }),
      u32,
      u32,
      u32,
      bytes(16),
    )
    .map(([data, action, high, index, start, count, bools]) => {
      const flags = (data | action | (high << 6)) >>> 0;
      const isBool = data === IrqSetFlags.DATA_BOOL;
      return { kind: 'set-irqs' as const, flags, index, start, count: isBool ? bools.length : count, data: isBool ? bools : null };
    }),
);

const regionAccess = (maxCount: number): fc.Arbitrary<MessageBody> =>
  body(fc.record({ kind: fc.constant('region-access' as const), offset: u64, region: u32, count: fc.integer({ min: 0, max: maxCount }) }));
const regionData = body(fc.record({ kind: fc.constant('region-data' as const), offset: u64, region: u32, data: bytes(64) }));
const dmaAccess = (maxCount: bigint): fc.Arbitrary<MessageBody> =>
  body(fc.record({ kind: fc.constant('dma-access' as const), address: u64, count: fc.bigInt({ min: 0n, max: maxCount }) }));
const dmaData = body(fc.record({ kind: fc.constant('dma-data' as const), address: u64, data: bytes(64) }));

const writeMulti = body(
  fc.record({
    kind: fc.constant('region-write-multi' as const),
    writes: fc.array(fc.record({ offset: u64, region: u32, count: fc.nat(8), data: bytes(8, 8) }), { maxLength: 4 }),
  }),
);
const writeMultiReply = body(fc.record({ kind: fc.constant('region-write-multi-reply' as const), wrCnt: u64 }));

const featureFlags = (feature: fc.Arbitrary<number>): fc.Arbitrary<number> =>
  fc
    .tuple(feature, fc.constantFrom(1 << 16, 1 << 17, 1 << 18, (1 << 18) | (1 << 16), (1 << 18) | (1 << 17), (1 << 18) | (3 << 16), 0), fc.nat((1 << 13) - 1))
    .map(([f, op, high]) => (f | op | (high << 19)) >>> 0);

const none = fc.constant<FeatureData>({ kind: 'none' });
const featureBody: fc.Arbitrary<{ feature: fc.Arbitrary<number>; data: fc.Arbitrary<FeatureData> }> = fc.constantFrom(
  { feature: fc.constant(1), data: fc.oneof(none, fc.record({ kind: fc.constant('migration' as const), flags: u64 })) },
  { feature: fc.constant(2), data: fc.oneof(none, fc.record({ kind: fc.constant('mig-device-state' as const), deviceState: u32, dataFd: u32 })) },
  {
    feature: fc.constantFrom(6, 7),
    data: fc.oneof(
      none,
      fc.record({ kind: fc.constant('dma-logging-control' as const), pageSize: u64, reserved: u32, ranges: fc.array(fc.record({ iova: u64, length: u64 }), { maxLength: 3 }) }),
    ),
  },
  {
    feature: fc.constant(8),
    data: fc.oneof(none, fc.record({ kind: fc.constant('dma-logging-report' as const), iova: u64, length: u64, pageSize: u64, bitmap: bytes(16) })),
  },
  {
    feature: fc.integer({ min: 0, max: 0xffff }).filter((f) => ![1, 2, 6, 7, 8].includes(f)),
    data: fc.oneof(none, fc.record({ kind: fc.constant('raw' as const), data: bytes(24, 1) })),
  },
);
const deviceFeature = body(
  featureBody.chain(({ feature, data }) => fc.record({ kind: fc.constant('device-feature' as const), argsz: atLeast(8), flags: featureFlags(feature), data })),
);

const migDataRead = body(fc.record({ kind: fc.constant('mig-data-read' as const), argsz: atLeast(8), size: fc.integer({ min: 0, max: MAX_XFER }) }));
const migDataReply = body(bytes(64).map((data) => ({ kind: 'mig-data' as const, argsz: 8 + data.length, data })));
const migDataWrite = body(fc.record({ kind: fc.constant('mig-data' as const), argsz: u32, data: bytes(64) }));
const raw = body(fc.record({ kind: fc.constant('raw' as const), data: bytes(64) }));

/** [request body, reply body] arbitraries per command. */
const BODIES: Record<number, [fc.Arbitrary<MessageBody>, fc.Arbitrary<MessageBody>]> = {
  [Command.VERSION]: [version, version],
  [Command.DMA_MAP]: [dmaMap, empty],
  [Command.DMA_UNMAP]: [dmaUnmap, dmaUnmapReply],
  [Command.DEVICE_GET_INFO]: [deviceInfo, deviceInfo],
  [Command.DEVICE_GET_REGION_INFO]: [regionInfoRequest, regionInfo],
  [Command.DEVICE_GET_REGION_IO_FDS]: [regionIoFdsRequest, regionIoFds],
  [Command.DEVICE_GET_IRQ_INFO]: [irqInfo, irqInfo],
  [Command.DEVICE_SET_IRQS]: [setIrqs, empty],
  [Command.REGION_READ]: [regionAccess(MAX_XFER), regionData],
  [Command.REGION_WRITE]: [regionData, regionAccess(0xffffffff)],
  [Command.DMA_READ]: [dmaAccess(BigInt(MAX_XFER)), dmaData],
  [Command.DMA_WRITE]: [dmaData, fc.oneof(dmaAccess((1n << 64n) - 1n), empty)],
  [Command.DEVICE_RESET]: [empty, empty],
  [Command.REGION_WRITE_MULTI]: [writeMulti, writeMultiReply],
  [Command.DEVICE_FEATURE]: [deviceFeature, deviceFeature],
  [Command.MIG_DATA_READ]: [migDataRead, migDataReply],
  [Command.MIG_DATA_WRITE]: [migDataWrite, empty],
};

const knownCommand = fc.constantFrom(...Object.values(Command));
const unknownCommand = fc.integer({ min: 0, max: 0xffff }).filter((c) => BODIES[c] === undefined);

/** Header flags: type, NO_REPLY on requests, random reserved bits 6-31. */
const requestFlags = fc.tuple(fc.boolean(), fc.nat((1 << 26) - 1)).map(([noReply, high]) => ((noReply ? HeaderFlags.NO_REPLY : 0) | (high << 6)) >>> 0);
const replyFlags = fc.nat((1 << 26) - 1).map((high) => (HeaderFlags.TYPE_REPLY | (high << 6)) >>> 0);

/** Any well-formed message. */
export const message: fc.Arbitrary<VfioUserMessage> = fc.oneof(
  { weight: 8, arbitrary: knownCommand.chain((command) => {
    const [req, rep] = BODIES[command]!;
    return fc.oneof(
      fc.record({ msgId: u16, command: fc.constant(command), flags: requestFlags, errno: fc.constant(0), body: req }),
      fc.record({ msgId: u16, command: fc.constant(command), flags: replyFlags, errno: fc.constant(0), body: rep }),
    );
  }) },
  // Error replies: header only, ERROR flag, any errno.
  { weight: 1, arbitrary: fc.record({ msgId: u16, command: u16, flags: replyFlags.map((f) => (f | HeaderFlags.ERROR) >>> 0), errno: u32, body: empty }) },
  // Commands the spec does not define are framed and kept raw.
  { weight: 1, arbitrary: fc.record({ msgId: u16, command: unknownCommand, flags: fc.oneof(requestFlags, replyFlags), errno: fc.constant(0), body: raw }) },
);
