/**
 * The hot path allocates no Buffer: decoding a header and a small body fills caller-owned
 * objects and describes data by offset/length (decodeRegionDataInto, decodeDmaMapInto), and
 * decodeMessage's data views share the source ArrayBuffer.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Command,
  HeaderFlags,
  VfioUserFramer,
  createDmaMapView,
  createHeader,
  createRegionDataView,
  decodeDmaMapInto,
  decodeHeader,
  decodeMessage,
  decodeRegionDataInto,
  encodeDmaMapInto,
  encodeMessage,
  encodeRegionDataInto,
} from '../src/index.js';

/** Spies on every way JavaScript code makes a Buffer or a typed-array view. */
function spyAllocations(): () => number {
  const spies = [
    vi.spyOn(Buffer, 'alloc'),
    vi.spyOn(Buffer, 'allocUnsafe'),
    vi.spyOn(Buffer, 'allocUnsafeSlow'),
    vi.spyOn(Buffer, 'from'),
    vi.spyOn(Buffer, 'concat'),
    vi.spyOn(Buffer.prototype, 'subarray'),
    vi.spyOn(Buffer.prototype, 'slice'),
    vi.spyOn(Uint8Array.prototype, 'subarray'),
    vi.spyOn(Uint8Array.prototype, 'slice'),
  ];
  // Count constructions of ArrayBuffer / Uint8Array from script code as well.
  let constructed = 0;
  const RealArrayBuffer = globalThis.ArrayBuffer;
  const RealUint8Array = globalThis.Uint8Array;
  globalThis.ArrayBuffer = new Proxy(RealArrayBuffer, {
    construct(target, args) {
      constructed++;
      return Reflect.construct(target, args) as object;
    },
  });
  globalThis.Uint8Array = new Proxy(RealUint8Array, {
    construct(target, args, newTarget) {
      constructed++;
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  return () => {
    globalThis.ArrayBuffer = RealArrayBuffer;
    globalThis.Uint8Array = RealUint8Array;
    const calls = spies.reduce((n, s) => n + s.mock.calls.length, 0) + constructed;
    for (const s of spies) s.mockRestore();
    return calls;
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('allocation-free decode', () => {
  const buf = Buffer.alloc(256);
  const data = Buffer.from([1, 0, 0, 0]);
  const writeLen = encodeRegionDataInto(buf, 0, 7, Command.REGION_WRITE, HeaderFlags.NO_REPLY, 0x1000, 0, data);
  const mapLen = encodeDmaMapInto(buf, 64, 8, 3, 0n, 0x1_0000_0000n, 0x8000_0000n);

  it('REGION_WRITE: header and body decode into reused objects without a new Buffer', () => {
    const view = createRegionDataView();
    const header = createHeader();
    const stop = spyAllocations();
    for (let i = 0; i < 1000; i++) {
      decodeHeader(buf, 0, writeLen, header);
      decodeRegionDataInto(buf, 0, writeLen, view);
    }
    expect(stop()).toBe(0);
    expect(header).toEqual({ msgId: 7, command: Command.REGION_WRITE, size: 36, flags: HeaderFlags.NO_REPLY, errno: 0 });
    expect(view).toEqual({ header: { msgId: 7, command: 10, size: 36, flags: 0x10, errno: 0 }, offset: 0x1000, region: 0, count: 4, dataOffset: 32 });
    // The data is found where the view says, in the source buffer.
    expect(buf.readUInt32LE(view.dataOffset)).toBe(1);
  });

  it('DMA_MAP: decodes into a reused object without a new Buffer', () => {
    const view = createDmaMapView();
    const stop = spyAllocations();
    for (let i = 0; i < 1000; i++) decodeDmaMapInto(buf, 64, mapLen, view);
    expect(stop()).toBe(0);
    expect(view).toEqual({ header: { msgId: 8, command: 2, size: 48, flags: 0, errno: 0 }, flags: 3, offset: 0n, address: 0x1_0000_0000n, size: 0x8000_0000n });
  });

  it('framing whole messages with feedFrames and decoding them allocates no Buffer', () => {
    const one = Buffer.from(buf.subarray(0, writeLen));
    const chunk = Buffer.concat([one, one, one, one]);
    const framer = new VfioUserFramer();
    const view = createRegionDataView();
    let seen = 0;
    const onFrame = (b: Buffer, offset: number, length: number): void => {
      seen += decodeRegionDataInto(b, offset, length, view).count;
    };
    const stop = spyAllocations();
    for (let i = 0; i < 250; i++) framer.feedFrames(chunk, onFrame);
    expect(stop()).toBe(0);
    expect(seen).toBe(250 * 4 * 4);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('the spy does see allocations (the test can fail)', () => {
    const stop = spyAllocations();
    decodeMessage(buf, 0, writeLen);
    expect(stop()).toBeGreaterThan(0);
  });

  it("decodeMessage's data is a view of the source ArrayBuffer, not a copy", () => {
    const m = decodeMessage(buf, 0, writeLen);
    if (m.body.kind !== 'region-data') throw new Error('unexpected body');
    expect(m.body.data.buffer).toBe(buf.buffer);
    expect(m.body.data.byteOffset).toBe(buf.byteOffset + 32);
  });

  it('the fast decoders keep the checks of decodeMessage', () => {
    const view = createRegionDataView();
    const bad = Buffer.from(buf.subarray(0, writeLen));
    bad.writeUInt32LE(5, 28);
    expect(() => decodeRegionDataInto(bad, 0, writeLen, view)).toThrow(expect.objectContaining({ code: 'BODY_LENGTH_MISMATCH', field: 'count' }));
    expect(() => decodeRegionDataInto(buf, 0, writeLen, view, 2)).toThrow(expect.objectContaining({ code: 'DATA_TOO_LARGE' }));
    expect(() => decodeDmaMapInto(buf, 0, writeLen, createDmaMapView())).toThrow(TypeError);
    // Offsets are numbers on this path; 2^53 and above lie beyond any region.
    const far = Buffer.from(buf.subarray(0, writeLen));
    far.writeUInt32LE(0x200000, 20);
    expect(() => decodeRegionDataInto(far, 0, writeLen, view)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE', field: 'offset' }));
    far.writeUInt32LE(0x1fffff, 20);
    expect(decodeRegionDataInto(far, 0, writeLen, view).offset).toBe(0x1f_ffff_0000_1000);
    expect(decodeMessage(far, 0, writeLen).body).toMatchObject({ offset: 0x1f_ffff_0000_1000n });
    const short = Buffer.from(buf.subarray(64, 64 + mapLen));
    short.writeUInt32LE(40, 16);
    expect(() => decodeDmaMapInto(short, 0, mapLen, createDmaMapView())).toThrow(expect.objectContaining({ code: 'BAD_ARGSZ' }));
  });

  it('the fast encoders write what encodeMessage writes', () => {
    const m = decodeMessage(buf, 64, mapLen);
    expect(m).toEqual({ msgId: 8, command: 2, flags: 0, errno: 0, body: { kind: 'dma-map', flags: 3, offset: 0n, address: 0x1_0000_0000n, size: 0x8000_0000n } });
    const reply = Buffer.alloc(64);
    const n = encodeRegionDataInto(reply, 0, 9, Command.REGION_READ, HeaderFlags.TYPE_REPLY, 0x1c, 0, Buffer.from([9, 8, 7, 6, 5]), 1, 3);
    expect(decodeMessage(reply, 0, n).body).toEqual({ kind: 'region-data', offset: 0x1cn, region: 0, data: new Uint8Array([8, 7, 6]) });
    // Longer data goes through TypedArray.set; the bytes are those of encodeMessage.
    const big = Buffer.from(Array.from({ length: 50 }, (_, i) => i));
    const out = Buffer.alloc(128);
    const m2 = encodeRegionDataInto(out, 0, 3, Command.REGION_WRITE, 0, 0x2000, 1, big, 5, 40);
    const expected = encodeMessage({ msgId: 3, command: Command.REGION_WRITE, flags: 0, errno: 0, body: { kind: 'region-data', offset: 0x2000n, region: 1, data: big.subarray(5, 45) } });
    expect(out.subarray(0, m2).equals(expected)).toBe(true);
  });
});
