/**
 * Each consistency rule of the spec, broken once: the codec answers with the typed error,
 * its code, the errno a server would send back, and the field at fault.
 */
import { describe, expect, it } from 'vitest';
import {
  Command,
  Errno,
  HeaderFlags,
  VfioUserFramer,
  VfioUserProtocolError,
  decodeMessage,
  encodeMessage,
  makeRequest,
  type ProtocolErrorCode,
} from '../src/index.js';
import { hex } from './helpers.js';

/** A message with a correct size field around `payload`. */
function msg(command: number, flags: number, payload: string | Buffer, msgId = 0x42): Buffer {
  const body = typeof payload === 'string' ? hex(payload) : payload;
  const header = Buffer.alloc(16);
  header.writeUInt16LE(msgId, 0);
  header.writeUInt16LE(command, 2);
  header.writeUInt32LE(16 + body.length, 4);
  header.writeUInt32LE(flags, 8);
  return Buffer.concat([header, body]);
}

function caught(fn: () => unknown): VfioUserProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VfioUserProtocolError) return err;
    throw err;
  }
  throw new Error('expected a VfioUserProtocolError');
}

function expectError(bytes: Buffer, code: ProtocolErrorCode, field: string, errno: number = Errno.EINVAL): VfioUserProtocolError {
  const err = caught(() => decodeMessage(bytes, 0, bytes.length));
  expect({ code: err.code, field: err.field, errno: err.errno }).toEqual({ code, field, errno });
  // The framer reports the same error for the same bytes.
  const viaFramer = caught(() => new VfioUserFramer().push(bytes));
  expect(viaFramer.code).toBe(code);
  return err;
}

const REQ = HeaderFlags.TYPE_COMMAND;
const REP = HeaderFlags.TYPE_REPLY;

describe('header', () => {
  it('rejects a size below the header', () => {
    const bytes = hex('0100 0400 0f000000 00000000 00000000');
    const err = expectError(bytes, 'MESSAGE_TOO_SHORT', 'size');
    expect(err.command).toBe(Command.DEVICE_GET_INFO);
    expect(err.errnoName).toBe('EINVAL');
  });

  it('rejects bytes that disagree with the size field', () => {
    const bytes = hex('0100 0400 20000000 00000000 00000000');
    expect(caught(() => decodeMessage(bytes, 0, bytes.length)).code).toBe('SIZE_MISMATCH');
  });

  it('rejects fewer than 16 bytes handed to decodeMessage', () => {
    const err = caught(() => decodeMessage(Buffer.alloc(10), 0, 10));
    expect(err.code).toBe('MESSAGE_TOO_SHORT');
  });

  it('rejects type bits other than command and reply', () => {
    const err = expectError(msg(Command.DEVICE_RESET, 2, ''), 'BAD_MESSAGE_TYPE', 'flags');
    expect(err.msgId).toBe(0x42);
  });

  it('rejects an error reply that carries a body', () => {
    expectError(msg(Command.DMA_MAP, REP | HeaderFlags.ERROR, '00000000'), 'ERROR_REPLY_WITH_BODY', 'flags');
  });

  it('names the command and the errno in the message', () => {
    const err = expectError(msg(Command.DMA_MAP, REQ, '20000000'), 'BODY_TOO_SHORT', 'argsz');
    expect(err.message).toContain('DMA_MAP');
    expect(err.message).toContain('EINVAL');
    expect(err.errno).toBe(22);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('VfioUserProtocolError');
  });
});

describe('per-command consistency (vfio-user spec tables)', () => {
  it('DMA_MAP: body shorter than 32 bytes', () => {
    expectError(msg(Command.DMA_MAP, REQ, '20000000 03000000 0000000000000000 0000000000000000'), 'BODY_TOO_SHORT', 'argsz');
  });
  it('DMA_MAP: argsz other than 32', () => {
    expectError(msg(Command.DMA_MAP, REQ, `28000000 03000000 ${'00'.repeat(24)}`), 'BAD_ARGSZ', 'argsz');
  });
  it('DMA_MAP: body longer than the structure', () => {
    expectError(msg(Command.DMA_MAP, REQ, `20000000 03000000 ${'00'.repeat(32)}`), 'BODY_LENGTH_MISMATCH', 'size');
  });
  it('DMA_MAP reply: a payload where none is defined', () => {
    expectError(msg(Command.DMA_MAP, REP, '00000000'), 'BODY_LENGTH_MISMATCH', 'size');
  });
  it('DMA_UNMAP: argsz below 24', () => {
    expectError(msg(Command.DMA_UNMAP, REQ, `10000000 00000000 ${'00'.repeat(16)}`), 'BAD_ARGSZ', 'argsz');
  });
  it('DMA_UNMAP with GET_DIRTY_BITMAP: argsz too small for the bitmap', () => {
    expectError(msg(Command.DMA_UNMAP, REQ, `28000000 01000000 ${'00'.repeat(16)} 0010000000000000 0800000000000000`), 'BAD_ARGSZ', 'argsz');
  });
  it('DMA_UNMAP with GET_DIRTY_BITMAP: bitmap header missing', () => {
    expectError(msg(Command.DMA_UNMAP, REQ, `30000000 01000000 ${'00'.repeat(16)}`), 'BODY_TOO_SHORT', 'bitmap');
  });
  it('DMA_UNMAP reply: bitmap size disagrees with the bytes present', () => {
    expectError(msg(Command.DMA_UNMAP, REP, `30000000 01000000 ${'00'.repeat(16)} 0010000000000000 0800000000000000 0000`), 'BODY_LENGTH_MISMATCH', 'bitmap.size');
  });
  it('DEVICE_GET_INFO: argsz below the 16-byte reply', () => {
    expectError(msg(Command.DEVICE_GET_INFO, REQ, '08000000 00000000 00000000 00000000'), 'BAD_ARGSZ', 'argsz');
  });
  it('DEVICE_GET_REGION_INFO reply: argsz below the payload', () => {
    expectError(msg(Command.DEVICE_GET_REGION_INFO, REP, `20000000 00000000 00000000 00000000 ${'00'.repeat(16)} ${'00'.repeat(8)}`), 'BAD_ARGSZ', 'argsz');
  });
  it('DEVICE_GET_REGION_INFO reply: cap_offset outside the reply', () => {
    expectError(msg(Command.DEVICE_GET_REGION_INFO, REP, `20000000 08000000 00000000 40000000 ${'00'.repeat(16)}`), 'BAD_CAPABILITY', 'cap_offset');
  });
  it('DEVICE_GET_REGION_INFO reply: cap_offset inside the fixed structure', () => {
    expectError(msg(Command.DEVICE_GET_REGION_INFO, REP, `28000000 08000000 00000000 08000000 ${'00'.repeat(16)} 0300 0100 00000000`), 'BAD_CAPABILITY', 'cap_offset');
  });
  it('DEVICE_GET_REGION_INFO reply: a capability chain that loops', () => {
    // cap at 32 says next 32: pointing backwards (a loop) is refused.
    expectError(msg(Command.DEVICE_GET_REGION_INFO, REP, `30000000 08000000 00000000 20000000 ${'00'.repeat(16)} 0300 0100 20000000 ${'00'.repeat(8)}`), 'BAD_CAPABILITY', 'next');
  });
  it('DEVICE_GET_REGION_INFO reply: sparse mmap areas that do not fit', () => {
    expectError(msg(Command.DEVICE_GET_REGION_INFO, REP, `30000000 08000000 00000000 20000000 ${'00'.repeat(16)} 0100 0100 00000000 02000000 00000000`), 'BAD_CAPABILITY', 'nr_areas');
  });
  it('DEVICE_GET_REGION_IO_FDS reply: entries neither 40 nor 48 bytes', () => {
    expectError(msg(Command.DEVICE_GET_REGION_IO_FDS, REP, `30000000 00000000 00000000 01000000 ${'00'.repeat(32)}`), 'BAD_ENTRY_SIZE', 'count');
  });
  it('DEVICE_SET_IRQS: argsz disagrees with the payload', () => {
    expectError(msg(Command.DEVICE_SET_IRQS, REQ, '18000000 24000000 02000000 00000000 01000000'), 'BAD_ARGSZ', 'argsz');
  });
  it('DEVICE_SET_IRQS: two DATA flags', () => {
    expectError(msg(Command.DEVICE_SET_IRQS, REQ, '14000000 25000000 02000000 00000000 01000000'), 'BAD_FLAGS', 'flags');
  });
  it('DEVICE_SET_IRQS: no ACTION flag', () => {
    expectError(msg(Command.DEVICE_SET_IRQS, REQ, '14000000 04000000 02000000 00000000 01000000'), 'BAD_FLAGS', 'flags');
  });
  it('DEVICE_SET_IRQS: DATA_BOOL count disagrees with the booleans present', () => {
    expectError(msg(Command.DEVICE_SET_IRQS, REQ, '16000000 0a000000 00000000 00000000 03000000 0100'), 'BODY_LENGTH_MISMATCH', 'count');
  });
  it('DEVICE_SET_IRQS: inline data with DATA_EVENTFD', () => {
    expectError(msg(Command.DEVICE_SET_IRQS, REQ, '18000000 24000000 02000000 00000000 01000000 05000000'), 'BODY_LENGTH_MISMATCH', 'data');
  });
  it('REGION_WRITE: count disagrees with the data present', () => {
    expectError(msg(Command.REGION_WRITE, REQ, '0010000000000000 00000000 08000000 01000000'), 'BODY_LENGTH_MISMATCH', 'count');
  });
  it('REGION_READ: count above max_data_xfer_size is E2BIG', () => {
    expectError(msg(Command.REGION_READ, REQ, '0000000000000000 00000000 01001000'), 'DATA_TOO_LARGE', 'count', Errno.E2BIG);
  });
  it('DMA_READ reply: count disagrees with the data present', () => {
    expectError(msg(Command.DMA_READ, REP, '0070000000000000 0800000000000000 01020304'), 'BODY_LENGTH_MISMATCH', 'count');
  });
  it('REGION_WRITE_MULTI: wr_cnt disagrees with the entries present', () => {
    expectError(msg(Command.REGION_WRITE_MULTI, REQ, `0200000000000000 ${'00'.repeat(24)}`), 'BODY_LENGTH_MISMATCH', 'wr_cnt');
  });
  it('REGION_WRITE_MULTI: a write of more than 8 bytes', () => {
    expectError(msg(Command.REGION_WRITE_MULTI, REQ, `0100000000000000 0000000000000000 00000000 09000000 ${'00'.repeat(8)}`), 'BAD_COUNT', 'wrs[0].count');
  });
  it('DEVICE_FEATURE: GET and SET together without PROBE', () => {
    expectError(msg(Command.DEVICE_FEATURE, REQ, '08000000 02000300'), 'BAD_FLAGS', 'flags');
  });
  it('DEVICE_FEATURE: MIG_DEVICE_STATE data of the wrong size', () => {
    expectError(msg(Command.DEVICE_FEATURE, REQ, '10000000 02000200 01000000'), 'BAD_FEATURE_DATA', 'data');
  });
  it('DEVICE_FEATURE: DMA logging ranges that disagree with num_ranges', () => {
    expectError(msg(Command.DEVICE_FEATURE, REQ, `28000000 06000200 0010000000000000 02000000 00000000 ${'00'.repeat(16)}`), 'BAD_FEATURE_DATA', 'num_ranges');
  });
  it('MIG_DATA_READ reply: argsz other than the payload size', () => {
    expectError(msg(Command.MIG_DATA_READ, REP, '10000000 04000000 01020304'), 'BAD_ARGSZ', 'argsz');
  });
  it('MIG_DATA_WRITE: size disagrees with the data present', () => {
    expectError(msg(Command.MIG_DATA_WRITE, REQ, '08000000 05000000 01020304'), 'BODY_LENGTH_MISMATCH', 'size');
  });
  it('DEVICE_RESET: a payload where none is defined', () => {
    expectError(msg(Command.DEVICE_RESET, REQ, '00'), 'BODY_LENGTH_MISMATCH', 'size');
  });
});

describe('VERSION data', () => {
  const v = (json: string | Buffer): Buffer =>
    msg(Command.VERSION, REQ, Buffer.concat([hex('0000 0000'), typeof json === 'string' ? Buffer.from(json, 'utf8') : json]));

  it('must end with a NUL', () => {
    expectError(v('{}'), 'BAD_VERSION_DATA', 'version data');
  });
  it('must be UTF-8', () => {
    expectError(v(hex('7b22ff227d00')), 'BAD_VERSION_DATA', 'version data');
  });
  it('must be JSON', () => {
    expectError(v('{capabilities\0'), 'BAD_VERSION_DATA', 'version data');
  });
  it('must be a JSON object', () => {
    expectError(v('[1,2]\0'), 'BAD_VERSION_DATA', 'version data');
  });
  it('capabilities keys must have their documented types', () => {
    expectError(v('{"capabilities":{"max_msg_fds":"8"}}\0'), 'BAD_VERSION_DATA', 'capabilities.max_msg_fds');
    expectError(v('{"capabilities":{"migration":{"pgsize":-1}}}\0'), 'BAD_VERSION_DATA', 'capabilities.migration.pgsize');
    expectError(v('{"capabilities":{"twin_socket":{"supported":1}}}\0'), 'BAD_VERSION_DATA', 'capabilities.twin_socket.supported');
    expectError(v('{"capabilities":{"write_multiple":"yes"}}\0'), 'BAD_VERSION_DATA', 'capabilities.write_multiple');
    expectError(v('{"capabilities":[]}\0'), 'BAD_VERSION_DATA', 'capabilities');
  });
  it('keeps unknown keys', () => {
    const bytes = v('{"capabilities":{"max_msg_fds":16,"x_future":{"a":[1]}},"top":true}\0');
    const decoded = decodeMessage(bytes, 0, bytes.length);
    expect(decoded.body).toEqual({
      kind: 'version',
      major: 0,
      minor: 0,
      data: { capabilities: { max_msg_fds: 16, x_future: { a: [1] } }, top: true },
    });
    expect(encodeMessage({ ...decoded, msgId: 0x42 }).equals(bytes)).toBe(true);
  });
});

describe('framer', () => {
  const write = encodeMessage(makeRequest(1, Command.REGION_WRITE, { kind: 'region-data', offset: 0x1000n, region: 0, data: new Uint8Array(8).fill(7) }));

  it('refuses an oversize message from its header, before the body arrives', () => {
    const framer = new VfioUserFramer({ maxDataXferSize: 4 });
    expect(framer.maxMessageSize).toBe(36);
    const err = caught(() => framer.push(write.subarray(0, 16)));
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    expect(err.errnoName).toBe('E2BIG');
    expect(err.field).toBe('size');
    // A failed framer stays failed: the stream cannot be resynchronised.
    expect(caught(() => framer.push(write)).code).toBe('MESSAGE_TOO_LARGE');
  });

  it('takes the limit negotiated by VERSION', () => {
    const framer = new VfioUserFramer({ maxDataXferSize: 4 });
    framer.setMaxDataXferSize(8);
    expect(framer.maxDataXferSize).toBe(8);
    expect(framer.maxMessageSize).toBe(40);
    expect(framer.push(write)).toHaveLength(1);
    framer.setMaxDataXferSize(4);
    expect(caught(() => framer.push(write)).code).toBe('MESSAGE_TOO_LARGE');
  });

  it('honours an explicit message limit', () => {
    const framer = new VfioUserFramer({ maxMessageSize: 39 });
    expect(caught(() => framer.push(write)).code).toBe('MESSAGE_TOO_LARGE');
    const other = new VfioUserFramer();
    other.setMaxDataXferSize(1 << 20, 40);
    expect(other.push(write)).toHaveLength(1);
  });

  it('checks data counts against max_data_xfer_size after framing', () => {
    const framer = new VfioUserFramer({ maxDataXferSize: 4, maxMessageSize: 4096 });
    const err = caught(() => framer.push(write));
    expect(err.code).toBe('DATA_TOO_LARGE');
    expect(err.errno).toBe(Errno.E2BIG);
  });

  it('holds partial messages and reports how much it holds', () => {
    const framer = new VfioUserFramer();
    expect(framer.push(write.subarray(0, 5))).toEqual([]);
    expect(framer.bufferedBytes).toBe(5);
    expect(framer.push(write.subarray(5, 20))).toEqual([]);
    expect(framer.bufferedBytes).toBe(20);
    const [m] = framer.push(Buffer.concat([write.subarray(20), write.subarray(0, 3)]));
    expect(m?.body).toEqual({ kind: 'region-data', offset: 0x1000n, region: 0, data: new Uint8Array(8).fill(7) });
    expect(framer.bufferedBytes).toBe(3);
    expect(framer.error).toBeNull();
  });

  it('decodes messages that sit inside one chunk in place (data views share the chunk memory)', () => {
    const chunk = Buffer.concat([write, write]);
    const msgs = new VfioUserFramer().push(chunk);
    expect(msgs).toHaveLength(2);
    for (const m of msgs) {
      if (m.body.kind !== 'region-data') throw new Error('unexpected body');
      expect(m.body.data.buffer).toBe(chunk.buffer);
    }
  });

  it('hands each message over with the fd counts it may carry', () => {
    const map = encodeMessage(makeRequest(5, Command.DMA_MAP, { kind: 'dma-map', flags: 3, offset: 0n, address: 0n, size: 4096n }));
    const seen: [number, readonly number[]][] = [];
    new VfioUserFramer().feed(Buffer.concat([map, write]), (m, fds) => seen.push([m.command, fds]));
    expect(seen).toEqual([
      [Command.DMA_MAP, [0, 1]],
      [Command.REGION_WRITE, [0]],
    ]);
  });

  it('accepts plain Uint8Array chunks', () => {
    const u = new Uint8Array(write);
    expect(new VfioUserFramer().push(u)).toHaveLength(1);
  });

  it('delivers the messages before a bad one, then throws', () => {
    const bad = msg(Command.DMA_MAP, REQ, '20000000');
    const got: number[] = [];
    const framer = new VfioUserFramer();
    const err = caught(() => {
      framer.feed(Buffer.concat([write, bad]), (m) => got.push(m.command));
    });
    expect(got).toEqual([Command.REGION_WRITE]);
    expect(err.code).toBe('BODY_TOO_SHORT');
    expect(err.msgId).toBe(0x42);
  });
});
