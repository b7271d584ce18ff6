/**
 * One client on the vfio-user socket: receives bytes and file descriptors, frames messages with
 * the codec, answers every command (vfio-user §Commands), and sends the server's own requests
 * (DMA_READ / DMA_WRITE) for guest memory without an fd.
 *
 * Framing is done here rather than by the codec's VfioUserFramer because file descriptors
 * (SCM_RIGHTS) must be matched to the message they came with, and because a malformed message
 * must get its error reply while the stream goes on: a message whose header is sane (size >= 16)
 * is skipped by its size whatever its body holds; only a size below 16 ends the connection.
 *
 * Descriptor matching: Linux delivers a sendmsg's fds with the read that returns its first byte
 * and ends that read after the segment carrying them (unix_stream_read_generic), and every peer
 * sends one message per sendmsg. So the fds of one recvmsg belong to the last message that
 * starts inside that read.
 */
import { FdWatcher, NativeError, READABLE, WRITABLE, closeFd, recvmsg, sendmsg } from '@nvmu/native';
import {
  Command,
  DeviceInfoFlags,
  DmaUnmapFlags,
  Errno,
  HEADER_SIZE,
  HeaderFlags,
  PciIrq,
  PciRegion,
  VfioUserProtocolError,
  createRegionDataView,
  decodeMessage,
  decodeRegionDataInto,
  encodeMessage,
  encodeMessageInto,
  fdCountAllowed,
  makeErrorReply,
  makeReply,
  makeRequest,
  negotiatedLimits,
  regionInfoReply,
  regionIoFdsReply,
  type DmaDataLayout,
  type MessageBody,
  type VersionCapabilities,
  type VfioUserMessage,
} from '@nvmu/vfio-user-codec';

import { type DmaRange, VfioUserErrnoError } from './device.js';
import { type DeviceState, describe } from './device-state.js';
import type { DmaTransfer } from './dma.js';
import type { VfioUserLogger } from './log.js';

/** Limits the server advertises in its VERSION reply and enforces. */
export interface ServerLimits {
  maxMsgFds: number;
  maxDataXferSize: number;
  maxDmaMaps: number;
  dmaLayout: DmaDataLayout;
}

/** Room for the fds of one recvmsg: more than any message may carry, so none is cut off. */
const FD_SLOTS = 64;
/** recvmsg reads per readiness event before yielding to the event loop. */
const READS_PER_EVENT = 16;
const NO_FDS: number[] = [];

interface FdBatch {
  fds: number[];
  /** Stream positions of the read that brought them: [start, end). */
  start: number;
  end: number;
}

interface PendingRequest {
  command: number;
  buf: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface OutChunk {
  data: Uint8Array;
  fds: readonly number[];
}

/** State of a connection, as an explicit string union. */
export type ConnectionState = 'negotiating' | 'ready' | 'closed';

export class Connection implements DmaTransfer {
  readonly #fd: number;
  readonly #device: DeviceState;
  readonly #limits: ServerLimits;
  readonly #log: VfioUserLogger;
  readonly #onClosed: (conn: Connection) => void;
  readonly #watcher: FdWatcher;
  #state: ConnectionState = 'negotiating';

  /** Received bytes in [#rPos, #wPos); #base is the stream position of #recv[0]. */
  #recv: Buffer;
  #rPos = 0;
  #wPos = 0;
  #base = 0;
  /** Bytes of an oversize message still to discard. */
  #skip = 0;
  readonly #fdsOut = new Int32Array(FD_SLOTS).fill(-1);
  readonly #batches: FdBatch[] = [];

  /** A command whose handler is still running (DMA_UNMAP waiting for the device). */
  #busy = false;
  readonly #queued: { bytes: Buffer; fds: number[] }[] = [];

  readonly #out: OutChunk[] = [];
  readonly #pending = new Map<number, PendingRequest>();
  #nextMsgId = 0;
  #clientMaxXfer = 0;

  readonly #regionView = createRegionDataView();
  /** Scratch for replies; sized for the largest REGION_READ reply. */
  readonly #scratch: Buffer;

  constructor(fd: number, device: DeviceState, limits: ServerLimits, log: VfioUserLogger, onClosed: (conn: Connection) => void) {
    this.#fd = fd;
    this.#device = device;
    this.#limits = limits;
    this.#log = log;
    this.#onClosed = onClosed;
    this.#recv = Buffer.allocUnsafe(Math.max(65536, 2 * (limits.maxDataXferSize + 64)));
    this.#scratch = Buffer.allocUnsafe(limits.maxDataXferSize + 64);
    this.#watcher = new FdWatcher(fd, (events, error) => {
      this.#onEvents(events, error);
    });
    this.#watcher.start(READABLE);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The client's max_data_xfer_size bounds what one DMA_READ / DMA_WRITE may carry. */
  get maxChunk(): number {
    return Math.min(this.#clientMaxXfer, this.#limits.maxDataXferSize);
  }

  // ---- receiving -------------------------------------------------------------------------

  #onEvents(events: number, error?: NativeError): void {
    if (this.#state === 'closed') return;
    if (error !== undefined) {
      this.#fail(`socket error: ${error.message}`);
      return;
    }
    if ((events & WRITABLE) !== 0) this.#flush();
    if ((events & READABLE) !== 0) this.#readAvailable();
  }

  #readAvailable(): void {
    for (let i = 0; i < READS_PER_EVENT && this.#state !== 'closed'; i++) {
      this.#makeRoom();
      const fdsOut = this.#fdsOut;
      let n: number;
      try {
        n = recvmsg(this.#fd, this.#recv, this.#wPos, this.#recv.length - this.#wPos, fdsOut);
      } catch (err) {
        this.#fail(`recvmsg: ${describe(err)}`);
        return;
      }
      if (n < 0) return;
      if (fdsOut[0] !== -1) this.#takeFds(n);
      if (n === 0) {
        this.#fail(null);
        return;
      }
      this.#wPos += n;
      this.#parse();
    }
  }

  #takeFds(n: number): void {
    const fds: number[] = [];
    for (let i = 0; i < FD_SLOTS; i++) {
      const fd = this.#fdsOut[i] ?? -1;
      if (fd >= 0) fds.push(fd);
      this.#fdsOut[i] = -1;
    }
    const start = this.#base + this.#wPos;
    if (n === 0 || this.#state === 'closed') {
      for (const fd of fds) closeFd(fd);
      return;
    }
    this.#batches.push({ fds, start, end: start + n });
  }

  /** Keeps room for at least one more whole message after the unread bytes. */
  #makeRoom(): void {
    if (this.#rPos === this.#wPos) {
      this.#base += this.#rPos;
      this.#rPos = 0;
      this.#wPos = 0;
      return;
    }
    if (this.#recv.length - this.#wPos >= this.#limits.maxDataXferSize + 64) return;
    this.#recv.copy(this.#recv, 0, this.#rPos, this.#wPos);
    this.#base += this.#rPos;
    this.#wPos -= this.#rPos;
    this.#rPos = 0;
  }

  #parse(): void {
    const buf = this.#recv;
    while (this.#state !== 'closed') {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, this.#wPos - this.#rPos);
        this.#skip -= n;
        this.#rPos += n;
        if (this.#skip > 0) return;
      }
      const avail = this.#wPos - this.#rPos;
      if (avail < HEADER_SIZE) return;
      const at = this.#rPos;
      const msgId = buf.readUInt16LE(at);
      const command = buf.readUInt16LE(at + 2);
      const size = buf.readUInt32LE(at + 4);
      const flags = buf.readUInt32LE(at + 8);
      if (size < HEADER_SIZE) {
        // Nothing tells where the next message starts: the stream is lost (vfio-user §Header).
        this.#replyError(msgId, command, flags, Errno.EINVAL);
        this.#fail(`message ${msgId} (command ${command}) has size ${size}, below the header`);
        return;
      }
      const stream = this.#base + at;
      if (size > this.#limits.maxDataXferSize + 64) {
        const fds = this.#claimFds(stream, size);
        for (const fd of fds) closeFd(fd);
        this.#log('warn', `message ${msgId} (command ${command}) of ${size} bytes exceeds max_data_xfer_size; skipped`);
        this.#replyError(msgId, command, flags, Errno.E2BIG);
        this.#rPos += Math.min(size, avail);
        this.#skip = size - Math.min(size, avail);
        continue;
      }
      if (avail < size) return;
      this.#rPos += size;
      const type = flags & HeaderFlags.TYPE_MASK;
      if (type === HeaderFlags.TYPE_REPLY) {
        const fds = this.#claimFds(stream, size);
        for (const fd of fds) closeFd(fd);
        this.#onReply(buf, at, size, msgId);
        continue;
      }
      const fds = this.#claimFds(stream, size);
      if (this.#busy || this.#queued.length > 0) {
        this.#queued.push({ bytes: Buffer.from(buf.subarray(at, at + size)), fds });
        continue;
      }
      this.#execute(buf, at, size, fds);
    }
  }

  /** The fds that came with the message at stream position `stream` (see the file comment). */
  #claimFds(stream: number, size: number): number[] {
    const batches = this.#batches;
    let first = batches[0];
    while (first !== undefined && first.end <= stream) {
      // A read with fds but no message starting in it: no message to give them to.
      this.#log('warn', `closing ${first.fds.length} fd(s) that came with no message`);
      for (const fd of first.fds) closeFd(fd);
      batches.shift();
      first = batches[0];
    }
    if (first !== undefined && first.start <= stream && stream + size >= first.end) {
      batches.shift();
      return first.fds;
    }
    return NO_FDS;
  }

  // ---- commands --------------------------------------------------------------------------

  #execute(buf: Buffer, at: number, size: number, fds: number[]): void {
    const msgId = buf.readUInt16LE(at);
    const command = buf.readUInt16LE(at + 2);
    const flags = buf.readUInt32LE(at + 8);
    let result: void | Promise<void>;
    try {
      if (this.#state === 'negotiating' && command !== Command.VERSION) {
        throw new VfioUserErrnoError(Errno.EINVAL, `command ${command} before VERSION`);
      }
      if (command === Command.REGION_WRITE && fds.length === 0) {
        this.#regionWrite(buf, at, size, msgId, flags);
        result = undefined;
      } else {
        const msg = decodeMessage(buf, at, size, { maxDataXferSize: this.#limits.maxDataXferSize, dmaLayout: this.#limits.dmaLayout });
        result = this.#dispatch(msg, fds, size);
      }
    } catch (err) {
      this.#commandFailed(msgId, command, flags, err);
      closeAll(fds);
      return;
    }
    if (result === undefined) {
      closeAll(fds);
      return;
    }
    this.#busy = true;
    result
      .catch((err: unknown) => {
        this.#commandFailed(msgId, command, flags, err);
      })
      .finally(() => {
        closeAll(fds);
        this.#busy = false;
        this.#drainQueued();
      });
  }

  #drainQueued(): void {
    while (!this.#busy && this.#state !== 'closed') {
      const next = this.#queued.shift();
      if (next === undefined) return;
      this.#execute(next.bytes, 0, next.bytes.length, next.fds);
    }
  }

  #commandFailed(msgId: number, command: number, flags: number, err: unknown): void {
    let errno: number;
    if (err instanceof VfioUserErrnoError || err instanceof VfioUserProtocolError) errno = err.errno;
    else if (err instanceof NativeError) errno = err.errno;
    else {
      errno = Errno.EIO;
      this.#log('error', `command ${command} failed: ${describe(err)}`);
    }
    // A refused DMA_MAP / DMA_UNMAP is a client set-up problem the operator must see (the
    // client only gets an errno); other refusals are the client's business.
    const level = command === Command.DMA_MAP || command === Command.DMA_UNMAP ? 'warn' : 'debug';
    this.#log(level, `message ${msgId} command ${command}: ${describe(err)}`);
    this.#replyError(msgId, command, flags, errno);
  }

  #dispatch(msg: VfioUserMessage, fds: number[], size: number): void | Promise<void> {
    if (!fdCountAllowed(msg, fds.length)) {
      throw new VfioUserErrnoError(Errno.EINVAL, `${fds.length} fd(s) with command ${msg.command}`);
    }
    const body = msg.body;
    switch (body.kind) {
      case 'version':
        this.#version(msg, body.major, body.minor, body.data?.capabilities, size);
        return;
      case 'dma-map':
        this.#dmaMap(msg, body.flags, body.address, body.size, body.offset, fds);
        return;
      case 'dma-unmap':
        return this.#dmaUnmap(msg, body.argsz, body.flags, body.address, body.size);
      case 'device-info':
        this.#reply(msg, { kind: 'device-info', argsz: 16, flags: DeviceInfoFlags.PCI | DeviceInfoFlags.RESET, numRegions: PciRegion.NUM_REGIONS, numIrqs: PciIrq.NUM_IRQS });
        return;
      case 'region-info-request':
        this.#regionInfo(msg, body.index, body.argsz);
        return;
      case 'region-io-fds-request':
        // No ioeventfds: doorbells live in the mmap areas (vfio-user §VFIO_USER_DEVICE_GET_REGION_IO_FDS allows none).
        if (this.#regionSize(body.index) === 0) throw new VfioUserErrnoError(Errno.EINVAL, `region ${body.index}`);
        this.#reply(msg, regionIoFdsReply({ index: body.index, subRegions: [] }));
        return;
      case 'irq-info': {
        const count = this.#device.irq.counts[body.index];
        if (count === undefined) throw new VfioUserErrnoError(Errno.EINVAL, `IRQ index ${body.index}`);
        this.#reply(msg, { kind: 'irq-info', argsz: 16, flags: this.#device.irq.infoFlags(body.index), index: body.index, count });
        return;
      }
      case 'set-irqs': {
        const errno = this.#device.irq.setIrqs(body, fds);
        if (errno !== 0) throw new VfioUserErrnoError(errno, 'DEVICE_SET_IRQS');
        this.#reply(msg, { kind: 'empty' });
        return;
      }
      case 'region-access':
        if (msg.command === Command.REGION_READ) {
          this.#regionRead(msg, body.region, body.offset, body.count);
          return;
        }
        break;
      case 'region-data':
        if (msg.command === Command.REGION_WRITE) {
          this.#device.regions.access(body.region, safeOffset(body.offset), body.data, true);
          this.#reply(msg, { kind: 'region-access', offset: body.offset, region: body.region, count: body.data.length });
          return;
        }
        break;
      case 'region-write-multi': {
        for (const w of body.writes) this.#device.regions.access(w.region, safeOffset(w.offset), w.data.subarray(0, w.count), true);
        this.#reply(msg, { kind: 'region-write-multi-reply', wrCnt: BigInt(body.writes.length) });
        return;
      }
      case 'empty':
        if (msg.command === Command.DEVICE_RESET) {
          this.#device.reset();
          this.#reply(msg, { kind: 'empty' });
          return;
        }
        break;
      default:
        break;
    }
    switch (msg.command) {
      case Command.DEVICE_FEATURE:
      case Command.MIG_DATA_READ:
      case Command.MIG_DATA_WRITE:
      case 14: // VFIO_USER_DIRTY_PAGES of older drafts, libvfio-user and QEMU's protocol.h
        throw new VfioUserErrnoError(Errno.ENOTSUP, 'migration and dirty page tracking are not supported');
      case Command.DMA_READ:
      case Command.DMA_WRITE:
        throw new VfioUserErrnoError(Errno.EINVAL, 'DMA_READ / DMA_WRITE go from the server to the client');
      default:
        throw new VfioUserErrnoError(Errno.ENOSYS, `unknown command ${msg.command}`);
    }
  }

  #version(msg: VfioUserMessage, major: number, minor: number, caps: VersionCapabilities | undefined, requestSize: number): void {
    if (this.#state !== 'negotiating') throw new VfioUserErrnoError(Errno.EINVAL, 'VERSION after negotiation');
    // QEMU sends 0.0 and refuses a reply other than major 0 with minor <= its own.
    if (major !== 0) throw new VfioUserErrnoError(Errno.ENOTSUP, `client major version ${major}; this server speaks 0`);
    const limits = negotiatedLimits(caps);
    if ((limits.pgsizes & 4096) === 0) throw new VfioUserErrnoError(Errno.EINVAL, `client pgsizes 0x${limits.pgsizes.toString(16)} lack 4 KiB`);
    this.#clientMaxXfer = limits.maxDataXferSize;
    const reply = this.#versionReply(msg, Math.min(minor, 0), requestSize, caps);
    this.#send(encodeMessage(reply), NO_FDS);
    this.#state = 'ready';
    this.#device.attached = true;
    this.#device.dma.setTransfer(this);
    this.#device.callHook('attached');
  }

  /**
   * The VERSION reply. Its capabilities are a subset of those the client proposed (vfio-user
   * §VFIO_USER_VERSION), and it is no longer than the request: QEMU reads the reply into a
   * buffer of its request's size. Capabilities are dropped, least needed first, until it fits
   * (a dropped key means the spec's default for the client).
   */
  #versionReply(msg: VfioUserMessage, minor: number, requestSize: number, proposed: VersionCapabilities | undefined): VfioUserMessage {
    const l = this.#limits;
    const entries = (
      [
        ['max_msg_fds', l.maxMsgFds],
        ['max_data_xfer_size', l.maxDataXferSize],
        ['pgsizes', 4096],
        ['max_dma_maps', l.maxDmaMaps],
        ['write_multiple', true],
      ] as [string, number | boolean][]
    ).filter(([key]) => proposed !== undefined && Object.hasOwn(proposed, key));
    for (let n = entries.length; n >= 0; n--) {
      const caps = Object.fromEntries(entries.slice(0, n)) as VersionCapabilities;
      const reply = makeReply(msg, { kind: 'version', major: 0, minor, data: n === 0 ? null : { capabilities: caps } });
      if (encodeMessage(reply).length <= requestSize) return reply;
    }
    return makeReply(msg, { kind: 'version', major: 0, minor, data: null });
  }

  #dmaMap(msg: VfioUserMessage, flags: number, address: bigint, size: bigint, offset: bigint, fds: number[]): void {
    const fd = fds[0] ?? -1;
    if (fds.length > 0) fds[0] = -1; // the table owns it now
    const range = this.#device.dma.add(address, size, flags, fd, offset);
    try {
      this.#device.hooks.dmaMapped?.(range);
    } catch (err) {
      this.#log('error', `device hook dmaMapped threw: ${describe(err)}`);
    }
    this.#reply(msg, { kind: 'empty' });
  }

  async #dmaUnmap(msg: VfioUserMessage, argsz: number, flags: number, address: bigint, size: bigint): Promise<void> {
    if ((flags & DmaUnmapFlags.GET_DIRTY_BITMAP) !== 0) throw new VfioUserErrnoError(Errno.ENOTSUP, 'dirty page tracking');
    if ((flags & ~DmaUnmapFlags.ALL) !== 0) throw new VfioUserErrnoError(Errno.EINVAL, `DMA_UNMAP flags 0x${flags.toString(16)}`);
    let ranges: readonly DmaRange[];
    if (flags === DmaUnmapFlags.ALL) {
      if (address !== 0n || size !== 0n) throw new VfioUserErrnoError(Errno.EINVAL, 'DMA_UNMAP ALL with an address or size');
      ranges = this.#device.dma.ranges();
    } else {
      ranges = this.#device.dma.findForUnmap(address, size);
    }
    for (const range of ranges) {
      try {
        await this.#device.hooks.dmaUnmapping?.(range);
      } catch (err) {
        this.#log('error', `device hook dmaUnmapping threw: ${describe(err)}`);
      }
      this.#device.dma.remove(range);
    }
    this.#reply(msg, { kind: 'dma-unmap-reply', argsz, flags, address, size, bitmap: null });
  }

  #regionSize(index: number): number {
    return this.#device.regions.describe(index)?.size ?? 0;
  }

  #regionInfo(msg: VfioUserMessage, index: number, argsz: number): void {
    const desc = this.#device.regions.describe(index);
    if (desc === undefined) throw new VfioUserErrnoError(Errno.EINVAL, `region index ${index}`);
    const full = regionInfoReply({ flags: desc.flags, index, size: BigInt(desc.size), offset: 0n, caps: desc.caps });
    if (argsz >= full.argsz) {
      this.#reply(msg, full, desc.fd >= 0 ? [desc.fd] : NO_FDS);
      return;
    }
    // Too small for the capabilities: the fixed part with argsz = the size needed and no CAPS
    // flag; the client asks again with a larger argsz (vfio-user §VFIO_USER_DEVICE_GET_REGION_INFO).
    // The fd still comes with MMAP, as the spec says of that flag (QEMU closes it and retries).
    this.#reply(msg, { ...full, flags: desc.flags, capOffset: 0, caps: [] }, desc.fd >= 0 ? [desc.fd] : NO_FDS);
  }

  #regionRead(msg: VfioUserMessage, region: number, offset: bigint, count: number): void {
    if ((msg.flags & HeaderFlags.NO_REPLY) !== 0) return;
    const out = this.#scratch;
    const total = HEADER_SIZE + 16 + count;
    const data = out.subarray(HEADER_SIZE + 16, total);
    this.#device.regions.access(region, safeOffset(offset), data, false);
    out.writeUInt16LE(msg.msgId, 0);
    out.writeUInt16LE(msg.command, 2);
    out.writeUInt32LE(total, 4);
    out.writeUInt32LE(HeaderFlags.TYPE_REPLY, 8);
    out.writeUInt32LE(0, 12);
    out.writeBigUInt64LE(offset, 16);
    out.writeUInt32LE(region, 24);
    out.writeUInt32LE(count, 28);
    this.#sendScratch(total);
  }

  /** REGION_WRITE without the generic decoder: a posted doorbell write allocates only the data view. */
  #regionWrite(buf: Buffer, at: number, size: number, msgId: number, flags: number): void {
    const v = decodeRegionDataInto(buf, at, size, this.#regionView, this.#limits.maxDataXferSize);
    this.#device.regions.access(v.region, v.offset, buf.subarray(v.dataOffset, v.dataOffset + v.count), true);
    if ((flags & HeaderFlags.NO_REPLY) !== 0) return;
    const out = this.#scratch;
    out.writeUInt16LE(msgId, 0);
    out.writeUInt16LE(Command.REGION_WRITE, 2);
    out.writeUInt32LE(32, 4);
    out.writeUInt32LE(HeaderFlags.TYPE_REPLY, 8);
    out.writeUInt32LE(0, 12);
    out.writeBigUInt64LE(BigInt(v.offset), 16);
    out.writeUInt32LE(v.region, 24);
    out.writeUInt32LE(v.count, 28);
    this.#sendScratch(32);
  }

  #reply(request: VfioUserMessage, body: MessageBody, fds: readonly number[] = NO_FDS): void {
    if ((request.flags & HeaderFlags.NO_REPLY) !== 0) return;
    const reply = makeReply(request, body);
    const n = encodeMessageInto(reply, this.#scratch, 0, { dmaLayout: this.#limits.dmaLayout });
    this.#sendScratch(n, fds);
  }

  #replyError(msgId: number, command: number, flags: number, errno: number): void {
    if ((flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) return;
    if ((flags & HeaderFlags.NO_REPLY) !== 0) {
      this.#log('warn', `posted message ${msgId} (command ${command}) failed with errno ${errno}`);
      return;
    }
    this.#send(encodeMessage(makeErrorReply({ msgId, command }, errno)), NO_FDS);
  }

  // ---- the server's requests (DMA_READ / DMA_WRITE) ----------------------------------------

  readFromClient(iova: number, dst: Uint8Array): Promise<void> {
    return this.#request(Command.DMA_READ, { kind: 'dma-access', address: BigInt(iova), count: BigInt(dst.length) }, dst);
  }

  writeToClient(iova: number, src: Uint8Array): Promise<void> {
    return this.#request(Command.DMA_WRITE, { kind: 'dma-data', address: BigInt(iova), data: src }, src);
  }

  #request(command: number, body: MessageBody, buf: Uint8Array): Promise<void> {
    if (this.#state !== 'ready') return Promise.reject(new VfioUserErrnoError(Errno.ENOTCONN, 'no client'));
    let msgId = this.#nextMsgId;
    while (this.#pending.has(msgId)) msgId = (msgId + 1) & 0xffff;
    this.#nextMsgId = (msgId + 1) & 0xffff;
    const bytes = encodeMessage(makeRequest(msgId, command, body), { dmaLayout: this.#limits.dmaLayout });
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(msgId, { command, buf, resolve, reject });
      // Requests to the client carry no fds (QEMU refuses them).
      this.#send(bytes, NO_FDS);
    });
  }

  #onReply(buf: Buffer, at: number, size: number, msgId: number): void {
    const pending = this.#pending.get(msgId);
    if (pending === undefined) {
      this.#log('warn', `reply ${msgId} to no request of this server; dropped`);
      return;
    }
    this.#pending.delete(msgId);
    let msg: VfioUserMessage;
    try {
      msg = decodeMessage(buf, at, size, { maxDataXferSize: this.#limits.maxDataXferSize, dmaLayout: this.#limits.dmaLayout });
    } catch (err) {
      pending.reject(new VfioUserErrnoError(Errno.EIO, `malformed reply ${msgId}: ${describe(err)}`));
      return;
    }
    if (msg.command !== pending.command) {
      pending.reject(new VfioUserErrnoError(Errno.EIO, `reply ${msgId} is for command ${msg.command}, not ${pending.command}`));
      return;
    }
    if ((msg.flags & HeaderFlags.ERROR) !== 0) {
      pending.reject(new VfioUserErrnoError(msg.errno, `client failed ${pending.command === Command.DMA_READ ? 'DMA_READ' : 'DMA_WRITE'}`));
      return;
    }
    if (pending.command === Command.DMA_READ) {
      if (msg.body.kind !== 'dma-data' || msg.body.data.length !== pending.buf.length) {
        pending.reject(new VfioUserErrnoError(Errno.EIO, `DMA_READ reply ${msgId} carries the wrong amount of data`));
        return;
      }
      pending.buf.set(msg.body.data);
    }
    pending.resolve();
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Sends `len` bytes of the scratch buffer, copying what the socket does not take now. */
  #sendScratch(len: number, fds: readonly number[] = NO_FDS): void {
    this.#send(this.#scratch.subarray(0, len), fds, true);
  }

  #send(data: Uint8Array, fds: readonly number[], copyRest = false): void {
    if (this.#state === 'closed') return;
    if (this.#out.length === 0) {
      let n: number;
      try {
        n = sendmsg(this.#fd, [data], fds);
      } catch (err) {
        this.#fail(`sendmsg: ${describe(err)}`);
        return;
      }
      if (n === data.length) return;
      if (n > 0) {
        data = data.subarray(n);
        fds = NO_FDS; // they went with the first byte
      }
      this.#watcher.start(READABLE | WRITABLE);
    }
    this.#out.push({ data: copyRest ? new Uint8Array(data) : data, fds });
  }

  #flush(): void {
    while (this.#out.length > 0 && this.#state !== 'closed') {
      const chunk = this.#out[0];
      if (chunk === undefined) break;
      let n: number;
      try {
        n = sendmsg(this.#fd, [chunk.data], chunk.fds);
      } catch (err) {
        this.#fail(`sendmsg: ${describe(err)}`);
        return;
      }
      if (n < 0) return;
      if (n < chunk.data.length) {
        this.#out[0] = { data: chunk.data.subarray(n), fds: NO_FDS };
        return;
      }
      this.#out.shift();
    }
    if (this.#state !== 'closed') this.#watcher.start(READABLE);
  }

  // ---- going away --------------------------------------------------------------------------

  /** Ends the connection: `reason` null for a clean close by the client. */
  #fail(reason: string | null): void {
    if (this.#state === 'closed') return;
    if (reason !== null) this.#log('warn', `client connection closed: ${reason}`);
    this.close();
  }

  /** Closes the socket and every fd still held, fails pending requests; the device detaches after. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#watcher.close();
    closeFd(this.#fd);
    for (const b of this.#batches.splice(0)) closeAll(b.fds);
    for (const q of this.#queued.splice(0)) closeAll(q.fds);
    this.#out.length = 0;
    const gone = new VfioUserErrnoError(Errno.ENOTCONN, 'the client went away');
    for (const p of this.#pending.values()) p.reject(gone);
    this.#pending.clear();
    this.#onClosed(this);
  }
}

function closeAll(fds: number[]): void {
  for (let i = 0; i < fds.length; i++) {
    const fd = fds[i] ?? -1;
    if (fd >= 0) closeFd(fd);
    fds[i] = -1;
  }
}

function safeOffset(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new VfioUserErrnoError(Errno.EINVAL, `region offset 0x${offset.toString(16)}`);
  return Number(offset);
}
