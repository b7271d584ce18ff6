import { describe, expect, it } from 'vitest';
import {
  Command,
  Errno,
  decodeHeader,
  headerMessageSize,
  commandName,
  encodeMessage,
  encodeMessageInto,
  errnoName,
  isErrorReply,
  isNoReply,
  isReply,
  makeErrorReply,
  makeReply,
  makeRequest,
  negotiatedLimits,
  parseVersionData,
  serializeVersionData,
} from '../src/index.js';

describe('names and numbers', () => {
  it('command numbers are those of the spec table; 14 is gone', () => {
    expect(Command).toEqual({
      VERSION: 1,
      DMA_MAP: 2,
      DMA_UNMAP: 3,
      DEVICE_GET_INFO: 4,
      DEVICE_GET_REGION_INFO: 5,
      DEVICE_GET_REGION_IO_FDS: 6,
      DEVICE_GET_IRQ_INFO: 7,
      DEVICE_SET_IRQS: 8,
      REGION_READ: 9,
      REGION_WRITE: 10,
      DMA_READ: 11,
      DMA_WRITE: 12,
      DEVICE_RESET: 13,
      REGION_WRITE_MULTI: 15,
      DEVICE_FEATURE: 16,
      MIG_DATA_READ: 17,
      MIG_DATA_WRITE: 18,
    });
    expect(commandName(15)).toBe('REGION_WRITE_MULTI');
    expect(commandName(14)).toBeUndefined();
  });

  it('errno values are Linux ones', () => {
    expect(Errno.EINVAL).toBe(22);
    expect(Errno.ENOTSUP).toBe(95);
    expect(Errno.E2BIG).toBe(7);
    expect(Errno.EEXIST).toBe(17);
    expect(errnoName(95)).toBe('ENOTSUP');
    expect(errnoName(12345)).toBeUndefined();
  });

  it('header flag helpers', () => {
    const req = makeRequest(1, Command.REGION_WRITE, { kind: 'empty' }, { noReply: true });
    expect([isReply(req.flags), isNoReply(req.flags), isErrorReply(req.flags)]).toEqual([false, true, false]);
    const err = makeErrorReply(req, Errno.EINVAL);
    expect([isReply(err.flags), isErrorReply(err.flags), err.errno, err.msgId]).toEqual([true, true, 22, 1]);
    expect(isReply(makeReply(req, { kind: 'empty' }).flags)).toBe(true);
  });
});

describe('capabilities', () => {
  it('the spec defaults apply to missing keys', () => {
    expect(negotiatedLimits(undefined)).toEqual({
      maxMsgFds: 1,
      maxDataXferSize: 1048576,
      maxDmaMaps: 65535,
      pgsizes: 4096,
      writeMultiple: false,
      twinSocket: false,
      migrationPgsize: undefined,
    });
    expect(negotiatedLimits({ max_msg_fds: 16, write_multiple: true, migration: { pgsize: 4096 }, twin_socket: { supported: true } })).toMatchObject({
      maxMsgFds: 16,
      writeMultiple: true,
      twinSocket: true,
      migrationPgsize: 4096,
    });
  });

  it('version data is UTF-8 JSON with a NUL; an empty string is no data', () => {
    const bytes = serializeVersionData({ capabilities: { pgsizes: 4096 } });
    expect(bytes[bytes.length - 1]).toBe(0);
    expect(Buffer.from(bytes.subarray(0, -1)).toString('utf8')).toBe('{"capabilities":{"pgsizes":4096}}');
    expect(parseVersionData(bytes)).toEqual({ capabilities: { pgsizes: 4096 } });
    expect(parseVersionData(new Uint8Array([0]))).toBeNull();
    expect(serializeVersionData(null)).toHaveLength(0);
  });
});

describe('encoder misuse', () => {
  it('refuses a body that does not belong to the command', () => {
    expect(() => encodeMessage(makeRequest(1, Command.DMA_MAP, { kind: 'region-access', offset: 0n, region: 0, count: 4 }))).toThrow(TypeError);
    expect(() => encodeMessage(makeReply({ msgId: 1, command: Command.REGION_WRITE }, { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(1) }))).toThrow(TypeError);
  });

  it('refuses a buffer too small', () => {
    const msg = makeRequest(1, Command.DEVICE_RESET, { kind: 'empty' });
    expect(() => encodeMessageInto(msg, Buffer.alloc(15), 0)).toThrow(RangeError);
    expect(() => encodeMessageInto(msg, Buffer.alloc(20), 5)).toThrow(RangeError);
    expect(encodeMessageInto(msg, Buffer.alloc(20), 4)).toBe(16);
  });

  it('refuses 64-bit values outside 0..2^64-1', () => {
    const map = (address: bigint) => makeRequest(1, Command.DMA_MAP, { kind: 'dma-map', flags: 0, offset: 0n, address, size: 1n });
    expect(() => encodeMessage(map(-1n))).toThrow(RangeError);
    expect(() => encodeMessage(map(1n << 64n))).toThrow(RangeError);
    expect(encodeMessage(map((1n << 64n) - 1n)).subarray(32, 40).toString('hex')).toBe('ffffffffffffffff');
  });

  it('raw bodies write any bytes, for tests and unknown commands', () => {
    const bytes = encodeMessage(makeRequest(1, Command.DMA_MAP, { kind: 'raw', data: new Uint8Array([1, 2]) }));
    expect(bytes.toString('hex')).toBe('0100020012000000000000000000000' + '00102');
  });
});

describe('headerMessageSize', () => {
  it('reads the size field (u32 @4 of the header) at the offset, as decodeHeader does', () => {
    // Header at 8: msg_id 0x0102 @8, command 0x0003 @10, size 0x00001020 @12, flags 0 @16, error 0 @20.
    const b = Buffer.alloc(32);
    b.set([0x02, 0x01, 0x03, 0x00, 0x20, 0x10, 0x00, 0x00], 8);
    expect(headerMessageSize(b, 8)).toBe(0x1020);
    expect(decodeHeader(b, 8, 24).size).toBe(0x1020);
  });
});
