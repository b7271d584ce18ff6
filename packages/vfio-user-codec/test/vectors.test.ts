/**
 * Byte-exact vectors, written by hand from the tables of QEMU docs/interop/vfio-user.rst
 * (offsets in the comments are from the start of the payload unless marked "hdr").
 * Every vector is checked both ways: decode(bytes) equals the message and
 * encode(message) equals the bytes. All fields little-endian (x86-64 / arm64 hosts).
 */
import { describe, expect, it } from 'vitest';
import {
  Command,
  DeviceFeatureFlags,
  DeviceState,
  Errno,
  HeaderFlags,
  IoFdType,
  IrqSetFlags,
  MigrationFlags,
  RegionInfoFlags,
  decodeMessage,
  encodeMessage,
  makeErrorReply,
  makeReply,
  makeRequest,
  regionInfoReply,
  type DecodeOptions,
  type VfioUserMessage,
} from '../src/index.js';
import { hex, u8 } from './helpers.js';

interface Vector {
  name: string;
  bytes: Buffer;
  message: VfioUserMessage;
  options?: DecodeOptions;
}

const QEMU_JSON = '{"capabilities":{"max_msg_fds":16}}';
const SPDK_JSON = '{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":1048576}}';
// Every documented capability key (vfio-user.rst VFIO_USER_VERSION table), plus unknown keys at
// both levels that a decoder must keep.
const FULL_JSON =
  '{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096,"max_dma_maps":65535,' +
  '"migration":{"pgsize":4096,"max_bitmap_size":268435456},"twin_socket":{"supported":true},"write_multiple":true,' +
  '"x-vendor":{"a":[1,2]}},"x-top":"kept"}';
// A reply accepting twin-socket mode: fd_index names the reply fd that is the second socket.
const TWIN_JSON = '{"capabilities":{"max_msg_fds":8,"twin_socket":{"supported":true,"fd_index":0},"x-future":null}}';

const vectors: Vector[] = [
  {
    name: 'VERSION request, 0.0 with capabilities JSON and NUL',
    bytes: Buffer.concat([
      hex(`0100 0100   # hdr@0 msg_id 1, hdr@2 command 1 (VERSION)
           38000000    # hdr@4 size 56 = 16 + 4 + 35 JSON bytes + NUL
           00000000    # hdr@8 flags: type 0 (command)
           00000000    # hdr@12 error
           0000 0000   # @0 major 0, @2 minor 0`),
      Buffer.from(QEMU_JSON, 'utf8'), // @4 JSON
      hex('00'), // terminating NUL
    ]),
    message: makeRequest(1, Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: { max_msg_fds: 16 } } }),
  },
  {
    name: 'VERSION reply as SPDK sends it',
    bytes: Buffer.concat([
      hex(`0100 0100 54000000   # msg_id 1, VERSION, size 84 = 16 + 4 + 63 + 1
           01000000 00000000    # flags: type 1 (reply), error 0
           0000 0000            # major 0, minor 0`),
      Buffer.from(SPDK_JSON, 'utf8'),
      hex('00'),
    ]),
    message: makeReply({ msgId: 1, command: Command.VERSION }, {
      kind: 'version',
      major: 0,
      minor: 0,
      data: { capabilities: { max_msg_fds: 8, max_data_xfer_size: 1048576 } },
    }),
  },
  {
    name: 'VERSION request with every capability (migration, twin_socket, pgsizes, max_dma_maps) and unknown keys',
    bytes: Buffer.concat([
      hex(`0200 0100 0e010000   # msg_id 2, VERSION, size 270 = 16 + 4 + 249 JSON bytes + NUL
           00000000 00000000    # flags: type 0 (command), error 0
           0000 0000            # @0 major 0, @2 minor 0`),
      Buffer.from(FULL_JSON, 'utf8'), // @4 JSON
      hex('00'),
    ]),
    message: makeRequest(2, Command.VERSION, {
      kind: 'version',
      major: 0,
      minor: 0,
      data: {
        capabilities: {
          max_msg_fds: 16,
          max_data_xfer_size: 1048576,
          pgsizes: 4096,
          max_dma_maps: 65535,
          migration: { pgsize: 4096, max_bitmap_size: 268435456 },
          twin_socket: { supported: true },
          write_multiple: true,
          'x-vendor': { a: [1, 2] },
        },
        'x-top': 'kept',
      },
    }),
  },
  {
    name: 'VERSION reply accepting twin_socket (fd_index 0) with an unknown key',
    bytes: Buffer.concat([
      hex(`0200 0100 75000000   # msg_id 2, VERSION, size 117 = 16 + 4 + 96 + 1
           01000000 00000000    # flags: type 1 (reply)
           0000 0000            # major 0, minor 0`),
      Buffer.from(TWIN_JSON, 'utf8'),
      hex('00'),
    ]),
    message: makeReply({ msgId: 2, command: Command.VERSION }, {
      kind: 'version',
      major: 0,
      minor: 0,
      data: { capabilities: { max_msg_fds: 8, twin_socket: { supported: true, fd_index: 0 }, 'x-future': null } },
    }),
  },
  {
    name: 'VERSION request without version data',
    bytes: hex(`0700 0100 14000000 00000000 00000000   # size 20: header + major/minor only
                0000 0100                            # major 0, minor 1`),
    message: makeRequest(7, Command.VERSION, { kind: 'version', major: 0, minor: 1, data: null }),
  },
  {
    name: 'DMA_MAP request (read/write, with file offset)',
    bytes: hex(`0200 0200 30000000 00000000 00000000   # command 2, size 48 = 16 + 32
                20000000                             # @0 argsz 32
                03000000                             # @4 flags READ|WRITE
                0010000000000000                     # @8 offset 0x1000
                0000000001000000                     # @16 address 0x1_0000_0000
                0000008000000000                     # @24 size 0x8000_0000`),
    message: makeRequest(2, Command.DMA_MAP, { kind: 'dma-map', flags: 3, offset: 0x1000n, address: 0x1_0000_0000n, size: 0x8000_0000n }),
  },
  {
    name: 'DMA_MAP reply (no payload)',
    bytes: hex('0200 0200 10000000 01000000 00000000'),
    message: makeReply({ msgId: 2, command: Command.DMA_MAP }, { kind: 'empty' }),
  },
  {
    name: 'DMA_MAP error reply with EEXIST',
    bytes: hex(`0200 0200 10000000
                21000000             # flags: reply | ERROR (0x20)
                11000000             # error 17 = EEXIST`),
    message: makeErrorReply({ msgId: 2, command: Command.DMA_MAP }, Errno.EEXIST),
  },
  {
    name: 'DMA_UNMAP request',
    bytes: hex(`0300 0300 28000000 10000000 00000000   # size 40, flags NO_REPLY (0x10)
                18000000 00000000                    # @0 argsz 24, @4 flags 0
                00000c0000000000                     # @8 address 0xc0000
                0000020000000000                     # @16 size 0x20000`),
    message: makeRequest(3, Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24, flags: 0, address: 0xc0000n, size: 0x20000n, bitmap: null }, { noReply: true }),
  },
  {
    name: 'DMA_UNMAP request with ALL',
    bytes: hex(`0400 0300 28000000 00000000 00000000
                18000000 02000000                    # argsz 24, flags ALL (bit 1)
                0000000000000000 0000000000000000    # address 0, size 0`),
    message: makeRequest(4, Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24, flags: 2, address: 0n, size: 0n, bitmap: null }),
  },
  {
    name: 'DMA_UNMAP request with GET_DIRTY_BITMAP (libvfio-user)',
    bytes: hex(`0500 0300 38000000 00000000 00000000   # size 56 = 16 + 24 + 16
                30000000 01000000                    # argsz 48 = 24 + 16 + 8 bitmap bytes, flags GET_DIRTY_BITMAP
                0000100000000000 0000040000000000    # address 0x100000, size 0x40000 (64 pages)
                0010000000000000                     # @24 bitmap.pgsize 4096
                0800000000000000                     # @32 bitmap.size 8`),
    message: makeRequest(5, Command.DMA_UNMAP, {
      kind: 'dma-unmap',
      argsz: 48,
      flags: 1,
      address: 0x100000n,
      size: 0x40000n,
      bitmap: { pgsize: 4096n, size: 8n },
    }),
  },
  {
    name: 'DMA_UNMAP reply with the dirty bitmap',
    bytes: hex(`0500 0300 40000000 01000000 00000000   # size 64
                30000000 01000000
                0000100000000000 0000040000000000
                0010000000000000 0800000000000000    # pgsize 4096, size 8
                0300000000000080                     # @40 bitmap: pages 0, 1 and 63 dirty`),
    message: makeReply({ msgId: 5, command: Command.DMA_UNMAP }, {
      kind: 'dma-unmap-reply',
      argsz: 48,
      flags: 1,
      address: 0x100000n,
      size: 0x40000n,
      bitmap: { pgsize: 4096n, data: u8(3, 0, 0, 0, 0, 0, 0, 0x80) },
    }),
  },
  {
    name: 'DMA_UNMAP reply echoing the entry',
    bytes: hex(`0300 0300 28000000 01000000 00000000
                18000000 00000000 00000c0000000000 0000020000000000`),
    message: makeReply({ msgId: 3, command: Command.DMA_UNMAP }, { kind: 'dma-unmap-reply', argsz: 24, flags: 0, address: 0xc0000n, size: 0x20000n, bitmap: null }),
  },
  {
    name: 'DEVICE_GET_INFO request',
    bytes: hex(`0600 0400 20000000 00000000 00000000
                10000000 00000000 00000000 00000000   # argsz 16, rest zero`),
    message: makeRequest(6, Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 }),
  },
  {
    name: 'DEVICE_GET_INFO reply (PCI, reset, 9 regions, 5 IRQ types)',
    bytes: hex(`0600 0400 20000000 01000000 00000000
                10000000          # @0 argsz 16
                03000000          # @4 flags RESET|PCI
                09000000          # @8 num_regions 9
                05000000          # @12 num_irqs 5`),
    message: makeReply({ msgId: 6, command: Command.DEVICE_GET_INFO }, { kind: 'device-info', argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 }),
  },
  {
    name: 'DEVICE_GET_REGION_INFO request',
    bytes: hex(`0800 0500 30000000 00000000 00000000   # size 48
                20000000 00000000                    # argsz 32, flags 0
                07000000 00000000                    # index 7 (config space), cap_offset 0
                0000000000000000 0000000000000000    # size, offset 0`),
    message: makeRequest(8, Command.DEVICE_GET_REGION_INFO, { kind: 'region-info-request', argsz: 32, flags: 0, index: 7, capOffset: 0, size: 0n, offset: 0n }),
  },
  {
    name: 'DEVICE_GET_REGION_INFO reply: BAR0 with sparse mmap and region type caps',
    bytes: hex(`0900 0500 60000000 01000000 00000000   # size 96 = 16 + 80
                50000000                             # @0 argsz 80 = 32 + 32 + 16
                0f000000                             # @4 flags READ|WRITE|MMAP|CAPS
                00000000                             # @8 index 0
                20000000                             # @12 cap_offset 32
                0040000000000000                     # @16 size 0x4000
                0000000000000000                     # @24 offset 0
                0100 0100 40000000                   # @32 cap id 1 (SPARSE_MMAP), version 1, next 64
                01000000 00000000                    # @40 nr_areas 1, reserved
                0010000000000000 0010000000000000    # @48 area offset 0x1000, size 0x1000 (doorbells)
                0200 0100 00000000                   # @64 cap id 2 (TYPE), version 1, next 0
                03000000 01000000                    # @72 type 3, subtype 1`),
    message: makeReply(
      { msgId: 9, command: Command.DEVICE_GET_REGION_INFO },
      regionInfoReply({
        flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE | RegionInfoFlags.MMAP,
        index: 0,
        size: 0x4000n,
        offset: 0n,
        caps: [
          { kind: 'sparse-mmap', version: 1, areas: [{ offset: 0x1000n, size: 0x1000n }] },
          { kind: 'type', version: 1, type: 3, subtype: 1 },
        ],
      }),
    ),
  },
  {
    name: 'DEVICE_GET_REGION_INFO reply cut to a 32-byte argsz (client retries)',
    bytes: hex(`0900 0500 30000000 01000000 00000000   # size 48: only the structure
                50000000 0f000000 00000000 20000000  # argsz 80 > 32 present, flags, index 0, cap_offset 32
                0040000000000000 0000000000000000`),
    message: makeReply({ msgId: 9, command: Command.DEVICE_GET_REGION_INFO }, {
      kind: 'region-info',
      argsz: 80,
      flags: 0xf,
      index: 0,
      capOffset: 32,
      size: 0x4000n,
      offset: 0n,
      caps: [],
    }),
  },
  {
    name: 'DEVICE_GET_REGION_IO_FDS request',
    bytes: hex(`0a00 0600 20000000 00000000 00000000
                38000000 00000000 00000000 00000000   # argsz 56, flags 0, index 0, count 0`),
    message: makeRequest(10, Command.DEVICE_GET_REGION_IO_FDS, { kind: 'region-io-fds-request', argsz: 56, flags: 0, index: 0, count: 0 }),
  },
  {
    name: 'DEVICE_GET_REGION_IO_FDS reply with one 40-byte ioeventfd sub-region (spec)',
    bytes: hex(`0a00 0600 48000000 01000000 00000000   # size 72 = 16 + 56
                38000000 00000000 00000000 01000000  # argsz 56, flags 0, index 0, count 1
                0010000000000000                     # @16 offset 0x1000
                0400000000000000                     # @24 size 4
                00000000 00000000                    # @32 fd_index 0, @36 type IOEVENTFD
                01000000 00000000                    # @40 flags DATAMATCH, @44 padding
                0100000000000000                     # @48 datamatch 1`),
    message: makeReply({ msgId: 10, command: Command.DEVICE_GET_REGION_IO_FDS }, {
      kind: 'region-io-fds',
      argsz: 56,
      flags: 0,
      index: 0,
      count: 1,
      entrySize: 40,
      subRegions: [{ offset: 0x1000n, size: 4n, fdIndex: 0, type: IoFdType.IOEVENTFD, flags: 1, shadowMemFdIndex: 0, shadowOffset: 0n, value: 1n }],
    }),
  },
  {
    name: 'DEVICE_GET_REGION_IO_FDS reply with a 48-byte shadow ioeventfd (libvfio-user)',
    bytes: hex(`0b00 0600 50000000 01000000 00000000   # size 80 = 16 + 64
                40000000 00000000 00000000 01000000  # argsz 64, count 1
                0010000000000000 0400000000000000    # offset 0x1000, size 4
                00000000 02000000                    # fd_index 0, type IOEVENTFD_SHADOW
                00000000 01000000                    # flags 0, @44 shadow_mem_fd_index 1
                0020000000000000                     # @48 shadow_offset 0x2000
                0000000000000000                     # @56 datamatch 0`),
    message: makeReply({ msgId: 11, command: Command.DEVICE_GET_REGION_IO_FDS }, {
      kind: 'region-io-fds',
      argsz: 64,
      flags: 0,
      index: 0,
      count: 1,
      entrySize: 48,
      subRegions: [{ offset: 0x1000n, size: 4n, fdIndex: 0, type: IoFdType.IOEVENTFD_SHADOW, flags: 0, shadowMemFdIndex: 1, shadowOffset: 0x2000n, value: 0n }],
    }),
  },
  {
    name: 'DEVICE_GET_IRQ_INFO request (MSI-X)',
    bytes: hex(`0c00 0700 20000000 00000000 00000000
                10000000 00000000 02000000 00000000   # argsz 16, flags 0, index 2 (MSIX), count 0`),
    message: makeRequest(12, Command.DEVICE_GET_IRQ_INFO, { kind: 'irq-info', argsz: 16, flags: 0, index: 2, count: 0 }),
  },
  {
    name: 'DEVICE_GET_IRQ_INFO reply: 512 MSI-X vectors',
    bytes: hex(`0c00 0700 20000000 01000000 00000000
                10000000 09000000 02000000 00020000   # flags EVENTFD|NORESIZE, index 2, count 512`),
    message: makeReply({ msgId: 12, command: Command.DEVICE_GET_IRQ_INFO }, { kind: 'irq-info', argsz: 16, flags: 9, index: 2, count: 512 }),
  },
  {
    name: 'DEVICE_SET_IRQS request: 8 eventfds for MSI-X trigger',
    bytes: hex(`0d00 0800 24000000 00000000 00000000   # size 36 = 16 + 20
                14000000                             # @0 argsz 20 (no inline data; fds travel as SCM_RIGHTS)
                24000000                             # @4 flags DATA_EVENTFD|ACTION_TRIGGER
                02000000 00000000 08000000           # @8 index 2, @12 start 0, @16 count 8`),
    message: makeRequest(13, Command.DEVICE_SET_IRQS, {
      kind: 'set-irqs',
      flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER,
      index: 2,
      start: 0,
      count: 8,
      data: null,
    }),
  },
  {
    name: 'DEVICE_SET_IRQS request: DATA_BOOL mask of 3 sub-indexes',
    bytes: hex(`0e00 0800 27000000 00000000 00000000   # size 39 = 16 + 23
                17000000 0a000000                    # argsz 23 = 20 + 3, flags DATA_BOOL|ACTION_MASK
                00000000 00000000 03000000           # index 0, start 0, count 3
                010001                               # @20 data: mask 0 and 2`),
    message: makeRequest(14, Command.DEVICE_SET_IRQS, {
      kind: 'set-irqs',
      flags: IrqSetFlags.DATA_BOOL | IrqSetFlags.ACTION_MASK,
      index: 0,
      start: 0,
      count: 3,
      data: u8(1, 0, 1),
    }),
  },
  {
    name: 'DEVICE_SET_IRQS request: DATA_NONE count 0 disables all',
    bytes: hex(`0f00 0800 24000000 00000000 00000000
                14000000 21000000 02000000 00000000 00000000   # flags DATA_NONE|ACTION_TRIGGER, index 2, start 0, count 0`),
    message: makeRequest(15, Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: 0x21, index: 2, start: 0, count: 0, data: null }),
  },
  {
    name: 'DEVICE_SET_IRQS reply',
    bytes: hex('0d00 0800 10000000 01000000 00000000'),
    message: makeReply({ msgId: 13, command: Command.DEVICE_SET_IRQS }, { kind: 'empty' }),
  },
  {
    name: 'REGION_READ request: CSTS of BAR0',
    bytes: hex(`1000 0900 20000000 00000000 00000000   # size 32
                1c00000000000000                     # @0 offset 0x1c
                00000000 04000000                    # @8 region 0, @12 count 4`),
    message: makeRequest(16, Command.REGION_READ, { kind: 'region-access', offset: 0x1cn, region: 0, count: 4 }),
  },
  {
    name: 'REGION_READ reply with 4 data bytes',
    bytes: hex(`1000 0900 24000000 01000000 00000000   # size 36
                1c00000000000000 00000000 04000000
                01000000                             # @16 data: CSTS.RDY`),
    message: makeReply({ msgId: 16, command: Command.REGION_READ }, { kind: 'region-data', offset: 0x1cn, region: 0, data: u8(1, 0, 0, 0) }),
  },
  {
    name: 'REGION_WRITE request, posted (NO_REPLY): SQ0 tail doorbell',
    bytes: hex(`1100 0a00 24000000 10000000 00000000   # size 36, flags NO_REPLY
                0010000000000000 00000000 04000000   # offset 0x1000, region 0, count 4
                01000000                             # data`),
    message: makeRequest(17, Command.REGION_WRITE, { kind: 'region-data', offset: 0x1000n, region: 0, data: u8(1, 0, 0, 0) }, { noReply: true }),
  },
  {
    name: 'REGION_WRITE reply',
    bytes: hex(`1200 0a00 20000000 01000000 00000000
                0010000000000000 00000000 04000000`),
    message: makeReply({ msgId: 18, command: Command.REGION_WRITE }, { kind: 'region-access', offset: 0x1000n, region: 0, count: 4 }),
  },
  {
    name: 'DMA_READ request (server to client)',
    bytes: hex(`1300 0b00 20000000 00000000 00000000
                0070000000000000                     # @0 address 0x7000
                1000000000000000                     # @8 count 16 (u64)`),
    message: makeRequest(19, Command.DMA_READ, { kind: 'dma-access', address: 0x7000n, count: 16n }),
  },
  {
    name: 'DMA_READ reply (spec layout: data @16)',
    bytes: hex(`1300 0b00 24000000 01000000 00000000   # size 36
                0070000000000000 0400000000000000    # address, count 4
                deadbeef                             # @16 data`),
    message: makeReply({ msgId: 19, command: Command.DMA_READ }, { kind: 'dma-data', address: 0x7000n, data: u8(0xde, 0xad, 0xbe, 0xef) }),
  },
  {
    name: "DMA_READ reply in QEMU's VFIOUserDMARW layout (u32 count @8, data @12)",
    bytes: hex(`1300 0b00 24000000 01000000 00000000   # size 36: same size as the spec layout
                0070000000000000 04000000            # address, @8 count u32 4
                deadbeef                             # @12 data
                00000000                             # 4 bytes of struct padding`),
    message: makeReply({ msgId: 19, command: Command.DMA_READ }, { kind: 'dma-data', address: 0x7000n, data: u8(0xde, 0xad, 0xbe, 0xef) }),
    options: { dmaLayout: 'qemu' },
  },
  {
    name: 'DMA_WRITE request',
    bytes: hex(`1400 0c00 22000000 00000000 00000000   # size 34
                0080000000000000 0200000000000000    # address 0x8000, count 2
                abcd`),
    message: makeRequest(20, Command.DMA_WRITE, { kind: 'dma-data', address: 0x8000n, data: u8(0xab, 0xcd) }),
  },
  {
    name: 'DMA_WRITE reply (address, count)',
    bytes: hex(`1400 0c00 20000000 01000000 00000000
                0080000000000000 0200000000000000`),
    message: makeReply({ msgId: 20, command: Command.DMA_WRITE }, { kind: 'dma-access', address: 0x8000n, count: 2n }),
  },
  {
    name: "DMA_WRITE reply as QEMU sends it (header only)",
    bytes: hex('1400 0c00 10000000 01000000 00000000'),
    message: makeReply({ msgId: 20, command: Command.DMA_WRITE }, { kind: 'empty' }),
  },
  {
    name: 'DEVICE_RESET request and reply',
    bytes: hex('1500 0d00 10000000 00000000 00000000'),
    message: makeRequest(21, Command.DEVICE_RESET, { kind: 'empty' }),
  },
  {
    name: 'REGION_WRITE_MULTI request with two doorbell writes',
    bytes: hex(`1600 0f00 48000000 10000000 00000000   # command 15, size 72 = 16 + 8 + 2*24, NO_REPLY
                0200000000000000                     # @0 wr_cnt 2
                0010000000000000 00000000 04000000   # @8 offset 0x1000, region 0, count 4
                0100000000000000                     # @24 data (8 bytes, 4 used)
                0810000000000000 00000000 04000000   # @32 offset 0x1008, region 0, count 4
                0200000000000000                     # @48 data`),
    message: makeRequest(22, Command.REGION_WRITE_MULTI, {
      kind: 'region-write-multi',
      writes: [
        { offset: 0x1000n, region: 0, count: 4, data: u8(1, 0, 0, 0, 0, 0, 0, 0) },
        { offset: 0x1008n, region: 0, count: 4, data: u8(2, 0, 0, 0, 0, 0, 0, 0) },
      ],
    }, { noReply: true }),
  },
  {
    name: 'REGION_WRITE_MULTI reply',
    bytes: hex(`1600 0f00 18000000 01000000 00000000
                0200000000000000                     # wr_cnt 2 completed`),
    message: makeReply({ msgId: 22, command: Command.REGION_WRITE_MULTI }, { kind: 'region-write-multi-reply', wrCnt: 2n }),
  },
  {
    name: 'DEVICE_FEATURE GET MIGRATION request',
    bytes: hex(`1700 1000 18000000 00000000 00000000   # command 16, size 24
                10000000                             # @0 argsz 16 (room for the 8-byte reply data)
                01000100                             # @4 flags GET (bit 16) | feature 1`),
    message: makeRequest(23, Command.DEVICE_FEATURE, { kind: 'device-feature', argsz: 16, flags: DeviceFeatureFlags.GET | 1, data: { kind: 'none' } }),
  },
  {
    name: 'DEVICE_FEATURE GET MIGRATION reply',
    bytes: hex(`1700 1000 20000000 01000000 00000000
                10000000 01000100
                0500000000000000                     # @8 flags STOP_COPY|PRE_COPY`),
    message: makeReply({ msgId: 23, command: Command.DEVICE_FEATURE }, {
      kind: 'device-feature',
      argsz: 16,
      flags: DeviceFeatureFlags.GET | 1,
      data: { kind: 'migration', flags: MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY },
    }),
  },
  {
    name: 'DEVICE_FEATURE SET MIG_DEVICE_STATE to STOP',
    bytes: hex(`1800 1000 20000000 00000000 00000000
                10000000 02000200                    # argsz 16, flags SET (bit 17) | feature 2
                01000000 00000000                    # @8 device_state STOP, @12 data_fd (unused)`),
    message: makeRequest(24, Command.DEVICE_FEATURE, {
      kind: 'device-feature',
      argsz: 16,
      flags: DeviceFeatureFlags.SET | 2,
      data: { kind: 'mig-device-state', deviceState: DeviceState.STOP, dataFd: 0 },
    }),
  },
  {
    name: 'DEVICE_FEATURE SET DMA_LOGGING_START with one range',
    bytes: hex(`1900 1000 38000000 00000000 00000000   # size 56 = 16 + 8 + 32
                28000000 06000200                    # argsz 40, flags SET | feature 6
                0010000000000000                     # @8 page_size 4096
                01000000 00000000                    # @16 num_ranges 1, @20 reserved
                0000000000000000 0000004000000000    # @24 iova 0, @32 length 1 GiB`),
    message: makeRequest(25, Command.DEVICE_FEATURE, {
      kind: 'device-feature',
      argsz: 40,
      flags: DeviceFeatureFlags.SET | 6,
      data: { kind: 'dma-logging-control', pageSize: 4096n, reserved: 0, ranges: [{ iova: 0n, length: 0x4000_0000n }] },
    }),
  },
  {
    name: 'DEVICE_FEATURE PROBE SET DMA_LOGGING_START (no data)',
    bytes: hex(`1a00 1000 18000000 00000000 00000000
                08000000 06000600                    # argsz 8, flags PROBE|SET | feature 6`),
    message: makeRequest(26, Command.DEVICE_FEATURE, { kind: 'device-feature', argsz: 8, flags: DeviceFeatureFlags.PROBE | DeviceFeatureFlags.SET | 6, data: { kind: 'none' } }),
  },
  {
    name: 'DEVICE_FEATURE GET DMA_LOGGING_REPORT reply with the bitmap @24',
    bytes: hex(`1b00 1000 38000000 01000000 00000000   # size 56 = 16 + 8 + 24 + 8
                28000000 08000100                    # argsz 40, flags GET | feature 8
                0000000000000000 0000040000000000    # @8 iova 0, @16 length 0x40000
                0010000000000000                     # @24 page_size 4096
                ff00000000000000                     # @32 bitmap: pages 0-7 dirty`),
    message: makeReply({ msgId: 27, command: Command.DEVICE_FEATURE }, {
      kind: 'device-feature',
      argsz: 40,
      flags: DeviceFeatureFlags.GET | 8,
      data: { kind: 'dma-logging-report', iova: 0n, length: 0x40000n, pageSize: 4096n, bitmap: u8(0xff, 0, 0, 0, 0, 0, 0, 0) },
    }),
  },
  {
    name: 'MIG_DATA_READ request',
    bytes: hex(`1c00 1100 18000000 00000000 00000000   # command 17, size 24
                18000000 10000000                    # argsz 24, size 16`),
    message: makeRequest(28, Command.MIG_DATA_READ, { kind: 'mig-data-read', argsz: 24, size: 16 }),
  },
  {
    name: 'MIG_DATA_READ reply with less data than asked (end of stream)',
    bytes: hex(`1c00 1100 1c000000 01000000 00000000   # size 28
                0c000000 04000000                    # argsz 12 = 8 + 4, size 4
                01020304`),
    message: makeReply({ msgId: 28, command: Command.MIG_DATA_READ }, { kind: 'mig-data', argsz: 12, data: u8(1, 2, 3, 4) }),
  },
  {
    name: 'MIG_DATA_WRITE request',
    bytes: hex(`1d00 1200 1b000000 00000000 00000000   # command 18, size 27
                08000000 03000000 aabbcc             # argsz 8, size 3, data`),
    message: makeRequest(29, Command.MIG_DATA_WRITE, { kind: 'mig-data', argsz: 8, data: u8(0xaa, 0xbb, 0xcc) }),
  },
  {
    name: 'MIG_DATA_WRITE reply',
    bytes: hex('1d00 1200 10000000 01000000 00000000'),
    message: makeReply({ msgId: 29, command: Command.MIG_DATA_WRITE }, { kind: 'empty' }),
  },
  {
    name: 'command 14 (DIRTY_PAGES in old drafts) is framed but left raw',
    bytes: hex(`1e00 0e00 18000000 00000000 00000000
                0800000001000000`),
    message: makeRequest(30, 14, { kind: 'raw', data: u8(8, 0, 0, 0, 1, 0, 0, 0) }),
  },
];

describe('byte-exact vectors', () => {
  it('the JSON strings have the lengths the sizes above were computed with', () => {
    expect(QEMU_JSON.length).toBe(35);
    expect(SPDK_JSON.length).toBe(63);
    expect(FULL_JSON.length).toBe(249);
    expect(TWIN_JSON.length).toBe(96);
  });

  for (const v of vectors) {
    it(`decodes: ${v.name}`, () => {
      expect(decodeMessage(v.bytes, 0, v.bytes.length, v.options)).toEqual(v.message);
    });
    it(`encodes: ${v.name}`, () => {
      expect(encodeMessage(v.message, v.options).toString('hex')).toBe(v.bytes.toString('hex'));
    });
  }

  it('covers every command the spec lists', () => {
    const seen = new Set(vectors.map((v) => v.message.command));
    for (const command of Object.values(Command)) expect(seen).toContain(command);
  });

  it('covers the header flag bits', () => {
    const flags = new Set(vectors.map((v) => v.message.flags));
    expect(flags).toContain(HeaderFlags.TYPE_COMMAND);
    expect(flags).toContain(HeaderFlags.TYPE_REPLY);
    expect(flags).toContain(HeaderFlags.NO_REPLY);
    expect(flags).toContain(HeaderFlags.TYPE_REPLY | HeaderFlags.ERROR);
  });

  it('DMA_WRITE reply of the spec table form (u32 count, 12 bytes) decodes', () => {
    const bytes = hex(`1400 0c00 1c000000 01000000 00000000   # size 28
                       0080000000000000 02000000`);
    expect(decodeMessage(bytes, 0, bytes.length).body).toEqual({ kind: 'dma-access', address: 0x8000n, count: 2n });
  });

  it('decodes at an offset inside a larger buffer', () => {
    const v = vectors.find((x) => x.message.command === Command.REGION_WRITE)!;
    const big = Buffer.concat([Buffer.alloc(5, 0xee), v.bytes, Buffer.alloc(7, 0xee)]);
    expect(decodeMessage(big, 5, v.bytes.length)).toEqual(v.message);
  });
});
