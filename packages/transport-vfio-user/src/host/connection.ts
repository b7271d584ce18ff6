/**
 * The client end of one vfio-user socket (the role of QEMU's hw/vfio-user/proxy.c and SPDK's
 * lib/vfio_user/host/vfio_user.c): framing, request/reply matching by message ID, descriptors
 * that travel with a message, and the server's own requests — DMA_READ / DMA_WRITE into memory
 * the client mapped without a descriptor (vfio-user §VFIO_USER_DMA_READ, §VFIO_USER_DMA_WRITE).
 *
 * Nothing here is on the per-I/O path when the doorbell page is mmapped and memory is shared by
 * descriptor; the messages it carries are bring-up, queue creation and the fallback modes.
 */
import { FdWatcher, READABLE, closeFd, recvmsg, sendmsg } from '@nvmu/native';
import {
  Command,
  HEADER_SIZE,
  HeaderFlags,
  commandName,
  decodeMessage,
  encodeMessage,
  errnoName,
  expectedFdCounts,
  headerMessageSize,
  makeErrorReply,
  makeReply,
  makeRequest,
  type DmaDataLayout,
  type MessageBody,
  type VfioUserMessage,
} from '@nvmu/vfio-user-codec';

/** EFAULT: the server asked for memory the client never mapped. */
const EFAULT = 14;

/** A reply that carried the ERROR flag: `errno` is the server's. */
export class VfioUserReplyError extends Error {
  override readonly name = 'VfioUserReplyError';
  readonly code = 'ERR_NVMU_VFIO_USER_REPLY';
  constructor(
    readonly command: number,
    readonly errno: number,
  ) {
    super(`vfio-user ${commandName(command)} failed: ${errnoName(errno)} (${errno})`);
  }
}

/** The socket went away (server exited, protocol error, or close()). */
export class VfioUserConnectionError extends Error {
  override readonly name = 'VfioUserConnectionError';
  readonly code = 'ERR_NVMU_VFIO_USER_CONNECTION';
}

/** A reply and the descriptors that came with it (owned by the caller). */
export interface VfioUserReply {
  readonly msg: VfioUserMessage;
  readonly fds: number[];
}

/** Memory the server reaches by DMA_READ / DMA_WRITE: the bytes at `address`, or undefined. */
export type DmaResolver = (address: number, length: number) => { bytes: Uint8Array; offset: number } | undefined;

interface Pending {
  readonly command: number;
  resolve(r: VfioUserReply): void;
  reject(e: Error): void;
}

export interface ConnectionOptions {
  /** How DMA_READ / DMA_WRITE lay out their data (QEMU's u32 count, or the spec's u64). */
  readonly dmaLayout: DmaDataLayout;
  /** Largest message the client accepts (the max_data_xfer_size it announced, plus headers). */
  readonly maxMessage: number;
  /** Memory for the server's DMA requests. */
  readonly dma: DmaResolver;
  /** Called once when the connection ends on its own (not after close()). */
  readonly onClose: (error: Error) => void;
}

export class VfioUserClientConnection {
  readonly fd: number;
  #buf = Buffer.alloc(64 * 1024);
  #len = 0;
  readonly #fdsOut = new Int32Array(32).fill(-1);
  readonly #fdQueue: number[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #watcher: FdWatcher;
  readonly #opts: ConnectionOptions;
  #nextId = 1;
  #closed: Error | undefined;
  /** Unsent bytes when the socket was full (posted doorbell writes under load). */
  readonly #backlog: { bytes: Uint8Array; fds: readonly number[] }[] = [];
  /** DMA requests the server made (diagnostics and tests). */
  dmaRequests = 0;

  constructor(fd: number, opts: ConnectionOptions) {
    this.fd = fd;
    this.#opts = opts;
    this.#watcher = new FdWatcher(fd, (events) => {
      if ((events & READABLE) !== 0) this.#onReadable();
      else this.#flush();
    });
    this.#watcher.start(READABLE);
  }

  /** Whether the connection is still up. */
  get open(): boolean {
    return this.#closed === undefined;
  }

  /** Sends a request and resolves with its reply; rejects with {@link VfioUserReplyError} on an error reply. */
  request(command: number, body: MessageBody, fds: readonly number[] = []): Promise<VfioUserReply> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const msgId = this.#id();
    return new Promise<VfioUserReply>((resolve, reject) => {
      this.#pending.set(msgId, { command, resolve, reject });
      this.#send(encodeMessage(makeRequest(msgId, command, body), { dmaLayout: this.#opts.dmaLayout }), fds);
    });
  }

  /** Sends a request with NO_REPLY (posted, as QEMU posts BAR writes). */
  post(command: number, body: MessageBody): void {
    if (this.#closed !== undefined) return;
    this.#send(encodeMessage(makeRequest(this.#id(), command, body, { noReply: true }), { dmaLayout: this.#opts.dmaLayout }), []);
  }

  /** Closes the socket; outstanding requests reject. Idempotent. */
  close(): void {
    this.#end(new VfioUserConnectionError('vfio-user connection closed'), false);
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = (id + 1) & 0xffff || 1;
    return id;
  }

  #send(bytes: Uint8Array, fds: readonly number[]): void {
    if (this.#backlog.length > 0) {
      this.#backlog.push({ bytes, fds });
      return;
    }
    let off = 0;
    let first = true;
    try {
      while (off < bytes.length) {
        const n = sendmsg(this.fd, [bytes.subarray(off)], first ? fds : []);
        if (n < 0) {
          this.#backlog.push({ bytes: bytes.subarray(off), fds: first ? fds : [] });
          this.#watcher.start(READABLE | 2);
          return;
        }
        first = false;
        off += n;
      }
    } catch (e) {
      this.#end(new VfioUserConnectionError(`vfio-user send failed: ${(e as Error).message}`), true);
    }
  }

  #flush(): void {
    while (this.#backlog.length > 0) {
      const head = this.#backlog[0];
      if (head === undefined) break;
      let n: number;
      try {
        n = sendmsg(this.fd, [head.bytes], head.fds);
      } catch (e) {
        this.#end(new VfioUserConnectionError(`vfio-user send failed: ${(e as Error).message}`), true);
        return;
      }
      if (n < 0) return;
      if (n < head.bytes.length) {
        this.#backlog[0] = { bytes: head.bytes.subarray(n), fds: [] };
        continue;
      }
      this.#backlog.shift();
    }
    if (this.#closed === undefined) this.#watcher.start(READABLE);
  }

  #onReadable(): void {
    for (;;) {
      if (this.#buf.length - this.#len < 16 * 1024) {
        const bigger = Buffer.alloc(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, this.#len);
        this.#buf = bigger;
      }
      let n: number;
      try {
        n = recvmsg(this.fd, this.#buf, this.#len, this.#buf.length - this.#len, this.#fdsOut);
      } catch (e) {
        this.#end(new VfioUserConnectionError(`vfio-user receive failed: ${(e as Error).message}`), true);
        return;
      }
      for (let i = 0; i < this.#fdsOut.length; i++) {
        const fd = this.#fdsOut[i] ?? -1;
        if (fd >= 0) this.#fdQueue.push(fd);
        this.#fdsOut[i] = -1;
      }
      if (n < 0) break;
      if (n === 0) {
        this.#parse();
        this.#end(new VfioUserConnectionError('the vfio-user server closed the connection'), true);
        return;
      }
      this.#len += n;
    }
    this.#parse();
  }

  #parse(): void {
    let pos = 0;
    while (this.#closed === undefined && this.#len - pos >= HEADER_SIZE) {
      const size = headerMessageSize(this.#buf, pos);
      if (size < HEADER_SIZE || size > this.#opts.maxMessage) {
        this.#end(new VfioUserConnectionError(`vfio-user message of ${size} bytes from the server`), true);
        return;
      }
      if (this.#len - pos < size) break;
      let msg: VfioUserMessage;
      try {
        // Copy: replies outlive the receive buffer, which is reused.
        msg = decodeMessage(Buffer.from(this.#buf.subarray(pos, pos + size)), 0, size, { dmaLayout: this.#opts.dmaLayout, maxDataXferSize: this.#opts.maxMessage });
      } catch (e) {
        this.#end(new VfioUserConnectionError(`undecodable vfio-user message: ${(e as Error).message}`), true);
        return;
      }
      pos += size;
      const want = Math.max(0, ...expectedFdCounts(msg));
      const fds = this.#fdQueue.splice(0, Math.min(want, this.#fdQueue.length));
      if ((msg.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_COMMAND) {
        for (const fd of fds) closeFd(fd);
        this.#serve(msg);
        continue;
      }
      const p = this.#pending.get(msg.msgId);
      if (p === undefined) {
        for (const fd of fds) closeFd(fd);
        continue; // a reply to nothing we wait for: ignore, as QEMU logs and drops it
      }
      this.#pending.delete(msg.msgId);
      if ((msg.flags & HeaderFlags.ERROR) !== 0) {
        for (const fd of fds) closeFd(fd);
        p.reject(new VfioUserReplyError(p.command, msg.errno));
      } else p.resolve({ msg, fds });
    }
    this.#buf.copy(this.#buf, 0, pos, this.#len);
    this.#len -= pos;
  }

  /** The server's requests: DMA_READ and DMA_WRITE into memory mapped without an fd. */
  #serve(msg: VfioUserMessage): void {
    const body = msg.body;
    const noReply = (msg.flags & HeaderFlags.NO_REPLY) !== 0;
    const reply = (m: VfioUserMessage): void => {
      if (!noReply) this.#send(encodeMessage(m, { dmaLayout: this.#opts.dmaLayout }), []);
    };
    this.dmaRequests++;
    if (msg.command === Command.DMA_READ && body.kind === 'dma-access') {
      const count = Number(body.count);
      const where = this.#opts.dma(Number(body.address), count);
      if (where === undefined) reply(makeErrorReply(msg, EFAULT));
      else reply(makeReply(msg, { kind: 'dma-data', address: body.address, data: where.bytes.subarray(where.offset, where.offset + count) }));
      return;
    }
    if (msg.command === Command.DMA_WRITE && body.kind === 'dma-data') {
      const where = this.#opts.dma(Number(body.address), body.data.length);
      if (where === undefined) reply(makeErrorReply(msg, EFAULT));
      else {
        where.bytes.set(body.data, where.offset);
        reply(makeReply(msg, { kind: 'empty' }));
      }
      return;
    }
    reply(makeErrorReply(msg, 95)); // EOPNOTSUPP: nothing else is asked of a client
  }

  #end(error: Error, notify: boolean): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    this.#watcher.close();
    for (const fd of this.#fdQueue.splice(0)) closeFd(fd);
    closeFd(this.fd);
    this.#backlog.length = 0;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    if (notify) this.#opts.onClose(error);
  }
}
