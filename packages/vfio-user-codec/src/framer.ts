import { CapabilityDefaults, HEADER_SIZE } from './constants.js';
import { decodeMessage } from './decode.js';
import { expectedFdCounts } from './fds.js';
import { VfioUserProtocolError } from './errors.js';
import { createHeader, decodeHeader } from './header.js';
import type { DecodeOptions, DmaDataLayout, MessageHeader, VfioUserMessage } from './types.js';

/**
 * Bytes a message may carry besides its data count: the 16-byte header plus the 16-byte
 * fixed part of REGION_READ/WRITE and DMA_READ/WRITE (vfio-user §Read and Write Operations).
 */
export const DATA_MESSAGE_OVERHEAD = 32;

export interface FramerOptions extends DecodeOptions {
  /**
   * Largest whole message accepted (header included). Default: maxDataXferSize + 32, so the
   * biggest REGION_WRITE / DMA_READ reply the peer may send still fits.
   */
  maxMessageSize?: number;
}

/**
 * Turns a byte stream (chunks split anywhere) into whole, validated messages.
 *
 * A message that arrives inside one chunk is decoded in place: its data views point into that
 * chunk. A message split across chunks is gathered into a Buffer of its own. The framer
 * rejects a size below 16, a size above maxMessageSize (checked from the header, before any
 * body byte is buffered) and a body inconsistent with its command; it then stays failed, as
 * the stream can no longer be trusted, and rethrows the same VfioUserProtocolError.
 */
export class VfioUserFramer {
  #maxDataXferSize: number;
  #maxMessageSize: number;
  #explicitMax: boolean;
  #dmaLayout: DmaDataLayout;
  /** The start of a message whose header is not complete yet. */
  readonly #head = Buffer.alloc(HEADER_SIZE);
  #headLen = 0;
  /** The message being gathered, once its header is known. */
  #partial: Buffer | null = null;
  #partialLen = 0;
  readonly #header: MessageHeader = createHeader();
  #failed: VfioUserProtocolError | null = null;

  constructor(options: FramerOptions = {}) {
    this.#maxDataXferSize = options.maxDataXferSize ?? CapabilityDefaults.maxDataXferSize;
    this.#explicitMax = options.maxMessageSize !== undefined;
    this.#maxMessageSize = options.maxMessageSize ?? this.#maxDataXferSize + DATA_MESSAGE_OVERHEAD;
    this.#dmaLayout = options.dmaLayout ?? 'spec';
  }

  /** The data count limit in force (the peer's max_data_xfer_size). */
  get maxDataXferSize(): number {
    return this.#maxDataXferSize;
  }

  /** The whole-message size limit in force. */
  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }

  /** Bytes held for a message not yet complete. */
  get bufferedBytes(): number {
    return this.#partial === null ? this.#headLen : this.#partialLen;
  }

  /** The error that stopped the framer, or null. */
  get error(): VfioUserProtocolError | null {
    return this.#failed;
  }

  /**
   * Sets the limits negotiated by VERSION (max_data_xfer_size). Unless maxMessageSize was given
   * explicitly, the message limit follows as maxDataXferSize + 32; pass it to override.
   */
  setMaxDataXferSize(maxDataXferSize: number, maxMessageSize?: number): void {
    this.#maxDataXferSize = maxDataXferSize;
    if (maxMessageSize !== undefined) {
      this.#explicitMax = true;
      this.#maxMessageSize = maxMessageSize;
    } else if (!this.#explicitMax) {
      this.#maxMessageSize = maxDataXferSize + DATA_MESSAGE_OVERHEAD;
    }
  }

  /** Feeds a chunk; returns the messages it completed, in order. */
  push(chunk: Uint8Array): VfioUserMessage[] {
    const out: VfioUserMessage[] = [];
    this.feed(chunk, (msg) => out.push(msg));
    return out;
  }

  /**
   * Feeds a chunk and calls `onMessage` for each message it completes, with the numbers of
   * file descriptors the message may carry (expectedFdCounts). Messages before a bad
   * one are delivered before the VfioUserProtocolError is thrown. `onMessage` must not throw:
   * an error from it propagates and the rest of the chunk is lost to the framer.
   */
  feed(chunk: Uint8Array, onMessage: (msg: VfioUserMessage, fdCounts: readonly number[]) => void): void {
    this.#run(chunk, (buf, offset, length) => {
      const msg = this.#decode(buf, offset, length);
      onMessage(msg, expectedFdCounts(msg));
    });
  }

  /**
   * Frames without decoding bodies, for a hot path that decodes with decodeRegionDataInto and
   * friends: `onFrame` gets each whole message as (buf, offset, length, header). The header
   * object is reused and valid only during the call; the bytes are the chunk's own when the
   * message sits inside one chunk. Only the header checks (size, type, limit) happen here:
   * the body is checked when the frame is decoded.
   */
  feedFrames(chunk: Uint8Array, onFrame: (buf: Buffer, offset: number, length: number, header: MessageHeader) => void): void {
    this.#run(chunk, (buf, offset, length) => {
      onFrame(buf, offset, length, this.#header);
    });
  }

  #run(chunk: Uint8Array, emit: (buf: Buffer, offset: number, length: number) => void): void {
    if (this.#failed !== null) throw this.#failed;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      this.#feed(data, emit);
    } catch (err) {
      if (err instanceof VfioUserProtocolError) this.#failed = err;
      throw err;
    }
  }

  #decode(buf: Buffer, offset: number, length: number): VfioUserMessage {
    return decodeMessage(buf, offset, length, { maxDataXferSize: this.#maxDataXferSize, dmaLayout: this.#dmaLayout });
  }

  /** Validates a header against the size limit; returns the message size. */
  #readHeader(buf: Buffer, offset: number): number {
    const h = decodeHeader(buf, offset, HEADER_SIZE, this.#header);
    if (h.size > this.#maxMessageSize) {
      throw new VfioUserProtocolError(
        'MESSAGE_TOO_LARGE',
        'size',
        `message size ${h.size} exceeds the limit of ${this.#maxMessageSize}`,
        'E2BIG',
        h.command,
        h.msgId,
      );
    }
    return h.size;
  }

  #feed(data: Buffer, emit: (buf: Buffer, offset: number, length: number) => void): void {
    let pos = 0;
    const end = data.length;

    // Finish a message started by earlier chunks.
    if (this.#partial === null && this.#headLen > 0) {
      const take = Math.min(HEADER_SIZE - this.#headLen, end);
      data.copy(this.#head, this.#headLen, 0, take);
      this.#headLen += take;
      pos = take;
      if (this.#headLen < HEADER_SIZE) return;
      const size = this.#readHeader(this.#head, 0);
      this.#partial = Buffer.allocUnsafe(size);
      this.#head.copy(this.#partial, 0, 0, HEADER_SIZE);
      this.#partialLen = HEADER_SIZE;
      this.#headLen = 0;
    }
    if (this.#partial !== null) {
      const partial = this.#partial;
      const take = Math.min(partial.length - this.#partialLen, end - pos);
      data.copy(partial, this.#partialLen, pos, pos + take);
      this.#partialLen += take;
      pos += take;
      if (this.#partialLen < partial.length) return;
      this.#partial = null;
      this.#partialLen = 0;
      emit(partial, 0, partial.length);
    }

    // Whole messages inside this chunk are decoded in place.
    while (end - pos >= HEADER_SIZE) {
      const size = this.#readHeader(data, pos);
      if (end - pos < size) break;
      const at = pos;
      pos += size;
      emit(data, at, size);
    }

    // Keep the start of the next message.
    const rest = end - pos;
    if (rest === 0) return;
    if (rest < HEADER_SIZE) {
      data.copy(this.#head, 0, pos, end);
      this.#headLen = rest;
      return;
    }
    const size = this.#header.size;
    const partial = Buffer.allocUnsafe(size);
    data.copy(partial, 0, pos, end);
    this.#partial = partial;
    this.#partialLen = rest;
  }
}
