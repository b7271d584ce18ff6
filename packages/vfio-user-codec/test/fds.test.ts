import { describe, expect, it } from 'vitest';
import {
  Command,
  Errno,
  IoFdType,
  IrqSetFlags,
  RegionInfoFlags,
  expectedFdCounts,
  fdCountAllowed,
  makeErrorReply,
  makeReply,
  makeRequest,
  regionInfoReply,
  regionIoFdsReply,
} from '../src/index.js';

const sub = (fdIndex: number) => ({ offset: 0n, size: 4n, fdIndex, type: 0, flags: 0, shadowMemFdIndex: 0, shadowOffset: 0n, value: 0n });

describe('file descriptors per message', () => {
  it('DMA_MAP request carries 0 or 1 fd', () => {
    const m = makeRequest(1, Command.DMA_MAP, { kind: 'dma-map', flags: 3, offset: 0n, address: 0n, size: 4096n });
    expect(expectedFdCounts(m)).toEqual([0, 1]);
    expect(fdCountAllowed(m, 2)).toBe(false);
  });

  it("DMA_UNMAP request carries none, or the region's fd as SPDK's host sends it", () => {
    const m = makeRequest(1, Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24, flags: 0, address: 0n, size: 4096n, bitmap: null });
    expect(expectedFdCounts(m)).toEqual([0, 1]);
    expect(fdCountAllowed(m, 2)).toBe(false);
  });

  it('SET_IRQS with DATA_EVENTFD carries count fds, or none for a run of -1', () => {
    const m = makeRequest(1, Command.DEVICE_SET_IRQS, {
      kind: 'set-irqs',
      flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER,
      index: 2,
      start: 0,
      count: 8,
      data: null,
    });
    expect(expectedFdCounts(m)).toEqual([0, 8]);
    expect(fdCountAllowed(m, 8)).toBe(true);
    expect(fdCountAllowed(m, 0)).toBe(true);
    expect(fdCountAllowed(m, 3)).toBe(false);
  });

  it('SET_IRQS without DATA_EVENTFD carries none', () => {
    const m = makeRequest(1, Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: 0x21, index: 2, start: 0, count: 4, data: null });
    expect(expectedFdCounts(m)).toEqual([0]);
  });

  it('REGION_INFO reply carries the region fd when MMAP is set', () => {
    const mmap = makeReply({ msgId: 1, command: Command.DEVICE_GET_REGION_INFO }, regionInfoReply({ flags: RegionInfoFlags.MMAP | 3, index: 0, size: 0x4000n, offset: 0n }));
    expect(expectedFdCounts(mmap)).toEqual([1]);
    const plain = makeReply({ msgId: 1, command: Command.DEVICE_GET_REGION_INFO }, regionInfoReply({ flags: 3, index: 7, size: 256n, offset: 0n }));
    expect(expectedFdCounts(plain)).toEqual([0]);
  });

  it('REGION_IO_FDS reply carries max(fd_index) + 1 fds', () => {
    const m = makeReply({ msgId: 1, command: Command.DEVICE_GET_REGION_IO_FDS }, regionIoFdsReply({ index: 0, subRegions: [sub(0), sub(2), sub(2)] }));
    expect(m.body).toMatchObject({ argsz: 136, count: 3, entrySize: 40 });
    expect(expectedFdCounts(m)).toEqual([3]);
    const shadow = { ...sub(0), type: IoFdType.IOEVENTFD_SHADOW, shadowMemFdIndex: 4 };
    const withShadow = makeReply({ msgId: 1, command: Command.DEVICE_GET_REGION_IO_FDS }, regionIoFdsReply({ index: 0, subRegions: [sub(1), shadow], entrySize: 48 }));
    expect(expectedFdCounts(withShadow)).toEqual([5]);
    const none = makeReply({ msgId: 1, command: Command.DEVICE_GET_REGION_IO_FDS }, regionIoFdsReply({ index: 0, subRegions: [] }));
    expect(expectedFdCounts(none)).toEqual([0]);
  });

  it('VERSION reply carries the twin socket at fd_index', () => {
    const m = makeReply({ msgId: 0, command: Command.VERSION }, {
      kind: 'version',
      major: 0,
      minor: 0,
      data: { capabilities: { twin_socket: { supported: true, fd_index: 0 } } },
    });
    expect(expectedFdCounts(m)).toEqual([1]);
    const req = makeRequest(0, Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: { twin_socket: { supported: true } } } });
    expect(expectedFdCounts(req)).toEqual([0]);
  });

  it('error replies and everything else carry none', () => {
    expect(expectedFdCounts(makeErrorReply({ msgId: 1, command: Command.DEVICE_GET_REGION_INFO }, Errno.EINVAL))).toEqual([0]);
    expect(expectedFdCounts(makeRequest(1, Command.DEVICE_RESET, { kind: 'empty' }))).toEqual([0]);
    expect(expectedFdCounts(makeRequest(1, Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(4) }))).toEqual([0]);
  });
});
