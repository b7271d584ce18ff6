import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Command,
  HeaderFlags,
  VfioUserFramer,
  VfioUserProtocolError,
  decodeMessage,
  encodeMessage,
  encodeMessageInto,
  encodedLength,
  type DmaDataLayout,
  type VfioUserMessage,
} from '../src/index.js';
import { MAX_XFER, message } from './arbitraries.js';

const layout = fc.constantFrom<DmaDataLayout>('spec', 'qemu');

/** Cut points for splitting `length` bytes into chunks (any split, empty chunks included). */
function chunking(length: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: length }), { maxLength: 12 }).map((cuts) => [...cuts].sort((a, b) => a - b));
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    // Copy each chunk so decoding can only see what was fed.
    chunks.push(Buffer.from(bytes.subarray(prev, cut)));
    prev = cut;
  }
  return chunks;
}

interface Outcome { messages: VfioUserMessage[]; error: { code: string; field: string; errno: number } | null }

/** Feeds chunks to a fresh framer; any throw other than VfioUserProtocolError fails the property. */
function frame(chunks: Buffer[], dmaLayout: DmaDataLayout = 'spec'): Outcome {
  const framer = new VfioUserFramer({ maxDataXferSize: MAX_XFER, dmaLayout });
  const messages: VfioUserMessage[] = [];
  try {
    for (const chunk of chunks) framer.feed(chunk, (m) => messages.push(m));
    return { messages, error: null };
  } catch (err) {
    if (!(err instanceof VfioUserProtocolError)) throw err;
    expect(typeof err.code).toBe('string');
    expect(err.errno).toBeGreaterThan(0);
    expect(err.field.length).toBeGreaterThan(0);
    expect(framer.error).toBe(err);
    return { messages, error: { code: err.code, field: err.field, errno: err.errno } };
  }
}

describe('round trip', () => {
  it('decode(encode(x)) deep-equals x for every message kind', () => {
    fc.assert(
      fc.property(message, layout, (msg, dmaLayout) => {
        const bytes = encodeMessage(msg, { dmaLayout });
        expect(bytes.length).toBe(encodedLength(msg));
        expect(bytes.readUInt32LE(4)).toBe(bytes.length);
        expect(decodeMessage(bytes, 0, bytes.length, { dmaLayout, maxDataXferSize: MAX_XFER })).toEqual(msg);
      }),
      { numRuns: 3000 },
    );
  });

  it('encodeMessageInto writes the same bytes at any offset and returns the length', () => {
    fc.assert(
      fc.property(message, fc.nat(40), (msg, at) => {
        const expected = encodeMessage(msg);
        const buf = Buffer.alloc(at + expected.length + 3, 0xa5);
        expect(encodeMessageInto(msg, buf, at)).toBe(expected.length);
        expect(buf.subarray(at, at + expected.length).equals(expected)).toBe(true);
        expect(buf[at - 1] ?? 0xa5).toBe(0xa5);
        expect(buf[at + expected.length]).toBe(0xa5);
      }),
      { numRuns: 500 },
    );
  });

  it('a stream of messages split anywhere comes out whole and in order', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 6 }).chain((msgs) => {
          const bytes = Buffer.concat(msgs.map((m) => encodeMessage(m)));
          return fc.tuple(fc.constant(msgs), fc.constant(bytes), chunking(bytes.length));
        }),
        ([msgs, bytes, cuts]) => {
          const out = frame(split(bytes, cuts));
          expect(out.error).toBeNull();
          expect(out.messages).toEqual(msgs);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('feedFrames', () => {
  it('gives the frames that push decodes, for any split', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 6 }).chain((msgs) => {
          const bytes = Buffer.concat(msgs.map((m) => encodeMessage(m)));
          return fc.tuple(fc.constant(msgs), fc.constant(bytes), chunking(bytes.length));
        }),
        ([msgs, bytes, cuts]) => {
          const framer = new VfioUserFramer({ maxDataXferSize: MAX_XFER });
          const decoded: VfioUserMessage[] = [];
          for (const chunk of split(bytes, cuts)) {
            framer.feedFrames(chunk, (buf, offset, length, header) => {
              expect(header.size).toBe(length);
              expect(buf.readUInt16LE(offset + 2)).toBe(header.command);
              decoded.push(decodeMessage(buf, offset, length, { maxDataXferSize: MAX_XFER }));
            });
          }
          expect(decoded).toEqual(msgs);
          expect(framer.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('garbage', () => {
  it('random bytes in any chunking decode or fail with VfioUserProtocolError, the same way for every split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 160 }).chain((u) => fc.tuple(fc.constant(Buffer.from(u)), chunking(u.length))),
        ([bytes, cuts]) => {
          const whole = frame([bytes]);
          const pieces = frame(split(bytes, cuts));
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('valid messages with corrupted bytes decode or fail with VfioUserProtocolError, never anything else', () => {
    const corrupted = fc
      .array(message, { minLength: 1, maxLength: 3 })
      .chain((msgs) => {
        const bytes = Buffer.concat(msgs.map((m) => encodeMessage(m)));
        return fc.tuple(
          fc.constant(bytes),
          fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          chunking(bytes.length),
          layout,
        );
      })
      .map(([bytes, edits, cuts, dmaLayout]) => {
        const b = Buffer.from(bytes);
        for (const [at, value] of edits) b[at] = value;
        return { b, cuts, dmaLayout };
      });
    fc.assert(
      fc.property(corrupted, ({ b, cuts, dmaLayout }) => {
        expect(frame(split(b, cuts), dmaLayout)).toEqual(frame([b], dmaLayout));
      }),
      { numRuns: 3000 },
    );
  });

  it('random payloads behind a valid header of every command decode or fail with VfioUserProtocolError', () => {
    const framed = fc
      .tuple(
        fc.oneof(fc.constantFrom(...Object.values(Command)), fc.integer({ min: 0, max: 0xffff })),
        fc.constantFrom(0, HeaderFlags.NO_REPLY, HeaderFlags.TYPE_REPLY, HeaderFlags.TYPE_REPLY | HeaderFlags.ERROR),
        fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ minLength: 24, maxLength: 120 })),
        fc.boolean(),
      )
      .map(([command, flags, payload, plausibleArgsz]) => {
        const b = Buffer.alloc(16 + payload.length);
        b.writeUInt16LE(command, 2);
        b.writeUInt32LE(b.length, 4);
        b.writeUInt32LE(flags, 8);
        b.set(payload, 16);
        // Often make argsz agree with the payload so decoding goes past the first check.
        if (plausibleArgsz && payload.length >= 4) b.writeUInt32LE(payload.length, 16);
        return b;
      });
    fc.assert(
      fc.property(framed, layout, (bytes, dmaLayout) => {
        const out = frame([bytes], dmaLayout);
        expect(out.messages.length + (out.error === null ? 0 : 1)).toBe(1);
        // Whatever decodes re-encodes to bytes that decode to the same message.
        for (const m of out.messages) {
          const again = encodeMessage(m, { dmaLayout });
          expect(decodeMessage(again, 0, again.length, { dmaLayout, maxDataXferSize: MAX_XFER })).toEqual(m);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('decodeMessage never reads outside [offset, offset + length)', () => {
    // The same bytes between different surroundings must give the same outcome.
    const outcome = (buf: Buffer, at: number, length: number): unknown => {
      try {
        return decodeMessage(buf, at, length, { maxDataXferSize: MAX_XFER });
      } catch (err) {
        if (!(err instanceof VfioUserProtocolError)) throw err;
        return { code: err.code, field: err.field };
      }
    };
    const sample = fc.oneof(
      message.map((m) => encodeMessage(m)),
      fc.uint8Array({ minLength: 16, maxLength: 96 }).map((u) => {
        const b = Buffer.from(u);
        b.writeUInt32LE(b.length, 4);
        b[8] = (b[8] ?? 0) & 0xf1;
        return b;
      }),
    );
    fc.assert(
      fc.property(sample, fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes, prefix, tail) => {
        const a = Buffer.concat([prefix, bytes, Buffer.alloc(8, 0)]);
        const b = Buffer.concat([Buffer.from(prefix).fill(0xff), bytes, tail]);
        const ra = outcome(a, prefix.length, bytes.length);
        const rb = outcome(b, prefix.length, bytes.length);
        expect(rb).toEqual(ra);
      }),
      { numRuns: 2000 },
    );
  });
});
