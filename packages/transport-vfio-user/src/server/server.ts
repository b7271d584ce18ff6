/**
 * The vfio-user server: a listening UNIX socket at `<dir>/cntrl` (SPDK's layout), one client at
 * a time, one emulated PCI device. libvfio-user's vfu_ctx with its socket transport, in
 * TypeScript.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

import { FdWatcher, READABLE, accept, closeFd, unixConnect, unixListen } from '@nvmu/native';
import type { DmaDataLayout } from '@nvmu/vfio-user-codec';

import { Connection, type ServerLimits } from './connection.js';
import type { DeviceContext, DeviceHooks, PciDeviceSpec } from './device.js';
import { DeviceState, describe } from './device-state.js';
import { type VfioUserLogger, defaultLogger } from './log.js';

/** Name of the socket inside the endpoint directory (SPDK and QEMU examples use `<dir>/cntrl`). */
export const SOCKET_NAME = 'cntrl';

/** Options of {@link VfioUserServer}. */
export interface VfioUserServerOptions {
  /** The device: PCI identity, BARs, MSI-X, INTx. */
  device: PciDeviceSpec;
  /** The device's callbacks, or a function that makes them from the server's context. */
  hooks?: DeviceHooks | ((context: DeviceContext) => DeviceHooks);
  /** Largest data count of one message, both ways (VERSION max_data_xfer_size). Default 1 MiB; at most 64 MiB (QEMU's limit). */
  maxDataXferSize?: number;
  /** Most fds the client may send in one message (VERSION max_msg_fds). Default 16 (QEMU accepts at most 16). */
  maxMsgFds?: number;
  /** Most DMA mappings at once (VERSION max_dma_maps). Default 65535. */
  maxDmaMaps?: number;
  /**
   * Layout of DMA_READ replies and DMA_WRITE requests: 'qemu' (VFIOUserDMARW, u32 count, data at
   * payload offset 12; QEMU's client) or 'spec' (u64 count, data at 16; libvfio-user). Default 'qemu'.
   */
  dmaLayout?: DmaDataLayout;
  /** Where refusals, posted-message failures and hook errors go. Default: warnings and errors to stderr. */
  log?: VfioUserLogger;
}

/**
 * Serves one PCI device to vfio-user clients (QEMU's `vfio-user-pci`, SPDK's host library, ...).
 *
 * ```ts
 * const server = await VfioUserServer.listen('/run/nvmu/dev0', { device, hooks });
 * // qemu ... -device '{"driver":"vfio-user-pci","socket":{"path":"/run/nvmu/dev0/cntrl","type":"unix"}}'
 * await server.close();
 * ```
 */
export class VfioUserServer {
  /** What the device uses: guest memory, BAR memory, interrupts. */
  readonly context: DeviceContext;
  readonly #device: DeviceState;
  readonly #limits: ServerLimits;
  readonly #log: VfioUserLogger;
  #listenFd = -1;
  #listenWatcher: FdWatcher | undefined;
  #socketPath: string | undefined;
  #conn: Connection | undefined;
  /** Set while the device detaches from a client that went away: no one else connects until done. */
  #detaching: Promise<void> | undefined;
  #adopted = 0;
  #closed = false;

  constructor(options: VfioUserServerOptions) {
    const maxDataXferSize = options.maxDataXferSize ?? 1 << 20;
    const maxMsgFds = options.maxMsgFds ?? 16;
    const maxDmaMaps = options.maxDmaMaps ?? 65535;
    if (!Number.isInteger(maxDataXferSize) || maxDataXferSize < 4096 || maxDataXferSize > 64 << 20) {
      throw new RangeError(`maxDataXferSize ${maxDataXferSize} is not 4096..64 MiB`);
    }
    if (!Number.isInteger(maxMsgFds) || maxMsgFds < 1 || maxMsgFds > 16) throw new RangeError(`maxMsgFds ${maxMsgFds} is not 1..16`);
    if (!Number.isInteger(maxDmaMaps) || maxDmaMaps < 1 || maxDmaMaps > 65535) throw new RangeError(`maxDmaMaps ${maxDmaMaps} is not 1..65535`);
    this.#log = options.log ?? defaultLogger;
    this.#limits = { maxDataXferSize, maxMsgFds, maxDmaMaps, dmaLayout: options.dmaLayout ?? 'qemu' };
    this.#device = new DeviceState(options.device, maxDmaMaps, this.#log);
    this.context = this.#device;
    const hooks = options.hooks;
    this.#device.hooks = typeof hooks === 'function' ? hooks(this.context) : (hooks ?? {});
  }

  /** Creates a server and listens at `<dir>/cntrl`. */
  static listen(dir: string, options: VfioUserServerOptions): VfioUserServer {
    const server = new VfioUserServer(options);
    try {
      server.listen(dir);
    } catch (err) {
      server.#device.close();
      throw err;
    }
    return server;
  }

  /** The socket path, once listening. */
  get socketPath(): string | undefined {
    return this.#socketPath;
  }

  /** Clients adopted so far (accepted and served, not refused). */
  get clientsAdopted(): number {
    return this.#adopted;
  }

  /** A client is connected (or its device is still detaching). */
  get connected(): boolean {
    return this.#conn !== undefined || this.#detaching !== undefined;
  }

  /**
   * Listens at `<dir>/cntrl` (the directory is created if missing), mode 0600. A socket left
   * by a crashed server is replaced; one a live server still answers on is not (EADDRINUSE).
   */
  listen(dir: string): void {
    if (this.#closed) throw new Error('the server is closed');
    if (this.#listenFd >= 0) throw new Error('the server is already listening');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, SOCKET_NAME);
    removeStaleSocket(path);
    const fd = unixListen(path);
    try {
      chmodSync(path, 0o600);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    this.#listenFd = fd;
    this.#socketPath = path;
    this.#listenWatcher = new FdWatcher(fd, () => {
      this.#acceptAll();
    });
    this.#listenWatcher.start(READABLE);
  }

  /**
   * Serves an already connected socket (a socketpair end, or one accepted elsewhere); the server
   * owns the fd from here. Refused (closed) when a client is connected.
   */
  adopt(fd: number): boolean {
    if (this.#closed || this.connected) {
      this.#log('warn', 'a second vfio-user client was refused: one client at a time');
      closeFd(fd);
      return false;
    }
    this.#conn = new Connection(fd, this.#device, this.#limits, this.#log, (conn) => {
      this.#onClosed(conn);
    });
    this.#adopted++;
    this.#log('info', 'vfio-user client connected');
    return true;
  }

  #acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = accept(this.#listenFd);
      } catch (err) {
        this.#log('error', `accept: ${describe(err)}`);
        return;
      }
      if (fd < 0) return;
      this.adopt(fd);
    }
  }

  #onClosed(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    this.#detaching = this.#device.detach().finally(() => {
      this.#detaching = undefined;
      this.#log('info', 'vfio-user client detached');
    });
  }

  /** Resolves when the device has detached from the last client (immediately when none). */
  async idle(): Promise<void> {
    while (this.#detaching !== undefined) await this.#detaching;
  }

  /** Stops listening, drops the client (the device detaches), releases BAR memory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listenWatcher?.close();
    this.#listenWatcher = undefined;
    if (this.#listenFd >= 0) closeFd(this.#listenFd);
    this.#listenFd = -1;
    if (this.#socketPath !== undefined) {
      try {
        unlinkSync(this.#socketPath);
      } catch {
        // already gone
      }
    }
    this.#conn?.close();
    await this.idle();
    this.#device.close();
  }
}

/** Unlinks a socket no server answers on; throws EADDRINUSE when one does, or when `path` is not a socket. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
  let fd = -1;
  try {
    fd = unixConnect(path);
  } catch {
    unlinkSync(path);
    return;
  }
  closeFd(fd);
  throw Object.assign(new Error(`a vfio-user server is already listening at ${path}`), { code: 'EADDRINUSE' });
}
