/**
 * An in-test vfio-user client (the role of QEMU's hw/vfio-user/proxy.c), written with the codec
 * and @nvmu/native, and a small fake device to serve.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FdWatcher, READABLE, closeFd, recvmsg, sendmsg, unixConnect } from '@nvmu/native';
import {
  Command,
  HEADER_SIZE,
  HeaderFlags,
  decodeMessage,
  encodeMessage,
  expectedFdCounts,
  makeReply,
  makeRequest,
  makeErrorReply,
  type DmaDataLayout,
  type MessageBody,
  type VersionCapabilities,
  type VfioUserMessage,
} from '@nvmu/vfio-user-codec';

import type { DeviceContext, DeviceHooks, DmaRange, PciDeviceSpec } from '../../src/server.js';

/** QEMU 10.x's VERSION capabilities, exactly (hw/vfio-user/proxy.c; INTEROP.md). */
export const QEMU_CAPS = {
  max_msg_fds: 16,
  max_data_xfer_size: 1048576,
  pgsizes: 4096,
  max_dma_maps: 65535,
  migration: { pgsize: 4096, max_bitmap_size: 268435456 },
  write_multiple: true,
};

export interface Received {
  msg: VfioUserMessage;
  fds: number[];
}

/** Guest memory the test client serves to DMA_READ / DMA_WRITE, at `base`. */
export interface ClientMemory {
  base: number;
  bytes: Uint8Array;
}

export class TestClient {
  readonly fd: number;
  #buf = Buffer.alloc(4 << 20);
  #len = 0;
  readonly #fdsOut = new Int32Array(64).fill(-1);
  readonly #fdQueue: number[] = [];
  readonly #inbox: Received[] = [];
  #waiter: (() => void) | undefined;
  readonly #watcher: FdWatcher;
  #nextId = 1;
  eof = false;
  dmaLayout: DmaDataLayout;
  /** Memory for the server's DMA_READ / DMA_WRITE; requests outside it get EFAULT. */
  memory: ClientMemory | undefined;
  /** DMA requests the client answered. */
  readonly dmaRequests: { command: number; address: bigint; count: number }[] = [];

  constructor(fd: number, dmaLayout: DmaDataLayout = 'qemu') {
    this.fd = fd;
    this.dmaLayout = dmaLayout;
    this.#watcher = new FdWatcher(fd, () => {
      this.#onReadable();
    });
    this.#watcher.start(READABLE);
  }

  static connect(path: string, dmaLayout: DmaDataLayout = 'qemu'): TestClient {
    return new TestClient(unixConnect(path), dmaLayout);
  }

  #onReadable(): void {
    for (;;) {
      if (this.#buf.length - this.#len < 65536) {
        const bigger = Buffer.alloc(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, this.#len);
        this.#buf = bigger;
      }
      let n: number;
      try {
        n = recvmsg(this.fd, this.#buf, this.#len, this.#buf.length - this.#len, this.#fdsOut);
      } catch {
        n = 0;
      }
      for (let i = 0; i < this.#fdsOut.length; i++) {
        const fd = this.#fdsOut[i] ?? -1;
        if (fd >= 0) this.#fdQueue.push(fd);
        this.#fdsOut[i] = -1;
      }
      if (n < 0) break;
      if (n === 0) {
        this.eof = true;
        this.#watcher.stop();
        break;
      }
      this.#len += n;
    }
    let pos = 0;
    while (this.#len - pos >= HEADER_SIZE) {
      const size = this.#buf.readUInt32LE(pos + 4);
      if (this.#len - pos < size) break;
      const msg = decodeMessage(Buffer.from(this.#buf.subarray(pos, pos + size)), 0, size, { dmaLayout: this.dmaLayout, maxDataXferSize: 4 << 20 });
      pos += size;
      const want = Math.max(...expectedFdCounts(msg));
      const fds = this.#fdQueue.splice(0, Math.min(want, this.#fdQueue.length));
      if ((msg.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_COMMAND && (msg.command === Command.DMA_READ || msg.command === Command.DMA_WRITE)) {
        this.#serveDma(msg);
        continue;
      }
      this.#inbox.push({ msg, fds });
    }
    this.#buf.copy(this.#buf, 0, pos, this.#len);
    this.#len -= pos;
    this.#waiter?.();
  }

  #serveDma(msg: VfioUserMessage): void {
    const mem = this.memory;
    const body = msg.body;
    if (body.kind === 'dma-access' && msg.command === Command.DMA_READ) {
      const count = Number(body.count);
      this.dmaRequests.push({ command: msg.command, address: body.address, count });
      const off = Number(body.address) - (mem?.base ?? 0);
      if (mem === undefined || off < 0 || off + count > mem.bytes.length) {
        this.sendRaw(encodeMessage(makeErrorReply(msg, 14)));
        return;
      }
      this.sendRaw(encodeMessage(makeReply(msg, { kind: 'dma-data', address: body.address, data: mem.bytes.slice(off, off + count) }), { dmaLayout: this.dmaLayout }));
      return;
    }
    if (body.kind === 'dma-data' && msg.command === Command.DMA_WRITE) {
      this.dmaRequests.push({ command: msg.command, address: body.address, count: body.data.length });
      const off = Number(body.address) - (mem?.base ?? 0);
      if (mem === undefined || off < 0 || off + body.data.length > mem.bytes.length) {
        this.sendRaw(encodeMessage(makeErrorReply(msg, 14)));
        return;
      }
      mem.bytes.set(body.data, off);
      // QEMU replies with the header only.
      this.sendRaw(encodeMessage(makeReply(msg, { kind: 'empty' })));
    }
  }

  sendRaw(bytes: Uint8Array, fds: readonly number[] = []): void {
    let off = 0;
    let first = true;
    while (off < bytes.length) {
      const n = sendmsg(this.fd, [bytes.subarray(off)], first ? fds : []);
      if (n < 0) throw new Error('test client: socket full');
      if (n > 0) first = false;
      off += n;
    }
  }

  /** Sends a request and returns its msgId. */
  send(command: number, body: MessageBody, opts: { fds?: readonly number[]; noReply?: boolean; msgId?: number } = {}): number {
    const msgId = opts.msgId ?? this.#nextId++ & 0xffff;
    this.sendRaw(encodeMessage(makeRequest(msgId, command, body, { noReply: opts.noReply === true }), { dmaLayout: this.dmaLayout }), opts.fds ?? []);
    return msgId;
  }

  /** The next message from the server (DMA requests are answered, not returned). */
  async next(): Promise<Received> {
    for (;;) {
      const m = this.#inbox.shift();
      if (m !== undefined) return m;
      if (this.eof) throw new Error('test client: the server closed the connection');
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
      this.#waiter = undefined;
    }
  }

  /** Messages received and not yet taken. */
  get queued(): number {
    return this.#inbox.length;
  }

  async request(command: number, body: MessageBody, fds: readonly number[] = []): Promise<Received> {
    const id = this.send(command, body, { fds });
    const r = await this.next();
    if (r.msg.msgId !== id) throw new Error(`reply ${r.msg.msgId} to request ${id}`);
    return r;
  }

  /** Sends a request and expects an error reply; returns its errno. */
  async expectError(command: number, body: MessageBody, fds: readonly number[] = []): Promise<number> {
    const r = await this.request(command, body, fds);
    if ((r.msg.flags & HeaderFlags.ERROR) === 0) throw new Error(`expected an error reply to command ${command}`);
    return r.msg.errno;
  }

  /** Waits until the server closes the connection. */
  async waitEof(): Promise<void> {
    while (!this.eof) {
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
      this.#waiter = undefined;
    }
  }

  async negotiate(caps: VersionCapabilities = QEMU_CAPS): Promise<Received> {
    return this.request(Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: caps } });
  }

  #closed = false;

  /** Closes the socket (idempotent): to the server, the client went away. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    for (const fd of this.#fdQueue.splice(0)) closeFd(fd);
    closeFd(this.fd);
  }
}

/** What the fake device saw. */
export interface FakeDeviceLog {
  accesses: { bar: number; offset: number; data: number[]; isWrite: boolean }[];
  mapped: DmaRange[];
  unmapping: DmaRange[];
  resets: number;
  detached: number;
  attached: number;
  irqChanges: number;
}

/** BAR0: 16 KiB, 64-bit; registers in [0, 0x1000) (a u32 array), an mmap area at 0x1000. BAR4: MSI-X table at 0, PBA at 0x1000. */
export function fakeDevice(): { spec: PciDeviceSpec; regs: Uint32Array; log: FakeDeviceLog; hooks: DeviceHooks; context: { current: DeviceContext | undefined } } {
  const regs = new Uint32Array(0x1000 / 4);
  const log: FakeDeviceLog = { accesses: [], mapped: [], unmapping: [], resets: 0, detached: 0, attached: 0, irqChanges: 0 };
  const regView = new Uint8Array(regs.buffer);
  const spec: PciDeviceSpec = {
    vendorId: 0x4e56,
    deviceId: 0x0001,
    subsystemVendorId: 0x4e56,
    subsystemId: 0x0100,
    revisionId: 2,
    classCode: 0x010802,
    bars: [
      {
        index: 0,
        size: 0x4000,
        is64Bit: true,
        mmapAreas: [{ offset: 0x1000, size: 0x1000 }],
        access: (offset, data, isWrite) => {
          log.accesses.push({ bar: 0, offset, data: [...data], isWrite });
          if (offset + data.length > 0x1000) return; // outside the registers: reads as zero
          if (isWrite) regView.set(data, offset);
          else data.set(regView.subarray(offset, offset + data.length));
        },
      },
      { index: 4, size: 0x2000, access: () => undefined },
    ],
    msix: { vectors: 4, tableBar: 4, tableOffset: 0, pbaBar: 4, pbaOffset: 0x1000 },
    intx: true,
    pcie: true,
    powerManagement: true,
  };
  const context: { current: DeviceContext | undefined } = { current: undefined };
  const hooks: DeviceHooks = {
    attached: () => {
      log.attached++;
    },
    dmaMapped: (r) => {
      log.mapped.push(r);
    },
    dmaUnmapping: (r) => {
      log.unmapping.push(r);
    },
    reset: () => {
      log.resets++;
    },
    detached: () => {
      log.detached++;
    },
    irqStateChanged: () => {
      log.irqChanges++;
    },
  };
  return { spec, regs, log, hooks, context };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nvmu-vfu-'));
  return { dir, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

/** Descriptors of the kinds the server makes or receives (sockets, eventfds, memfds). */
export function ourFds(): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${name}`);
      if (/^(socket:|anon_inode:\[eventfd\]|\/memfd:)/.test(target)) out.push(`${name} ${target}`);
    } catch {
      // the listing's own descriptor
    }
  }
  return out.sort();
}

/** Lines of /proc/self/maps naming a memfd. */
export function mappedMemfds(name: string): string[] {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(`/memfd:${name}`));
}

/** Resolves after pending I/O callbacks have run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Turns the event loop until `cond` holds (at most `max` turns). */
export async function until(cond: () => boolean, max = 1000): Promise<void> {
  for (let i = 0; i < max && !cond(); i++) await turn();
  if (!cond()) throw new Error('condition not reached');
}
