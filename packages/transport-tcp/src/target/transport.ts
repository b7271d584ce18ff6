/**
 * The NVMe/TCP target transport: listeners on IPv4/IPv6 addresses, one
 * `TcpTargetConnection` per accepted socket, and the Identify / discovery fields of the TCP
 * binding (NVMe/TCP 1.0 §4; NVMe-oF 1.1 §5.3 Discovery Log Page entry, TRTYPE 3).
 */

import { createServer, type Server, type Socket } from 'node:net';

import { crc32c as nodeCrc32c } from '@node-rs/crc32';
import type {
  DiscoveryEntryFields,
  ListenAddress,
  QPair,
  TargetTransport,
  TransportCore,
  TransportOptions,
  TransportParams,
} from '@nvmu/nvmf';

import { MAX_BUSY_POLL_US, checkBusyPollUs, loadBusyPollNative, newBusyPollStats, type BusyPollStats } from '../busy-poll.js';
import { CAPSULE_RESP_HLEN, DIGEST_LEN, MIN_MAXH2CDATA, type Crc32c } from '../pdu.js';
import { SharedBufferPool, type SharedBufferPoolStats } from './buffer-pool.js';
import { TcpTargetConnection, type TargetBusyPoll, type TcpTargetStats } from './connection.js';
import { MemoryRelease } from './memory-release.js';

/** Bytes one busy-poll read takes at most (a transport's one spin buffer). */
const BUSY_POLL_READ_SIZE = 64 * 1024;

/** Options of the TCP target transport (SPDK `nvmf_create_transport -t TCP` equivalents). */
export interface TcpTargetTransportOptions {
  /** Entries of an I/O queue (CAP.MQES + 1). Default 128. */
  readonly maxQueueDepth?: number;
  /** Entries of the admin queue. Default 32. */
  readonly maxAdminQueueDepth?: number;
  /** I/O queues per controller. Default 64. */
  readonly maxIoQueues?: number;
  /** Largest transfer of one command (MDTS). Default 128 KiB. */
  readonly maxIoSize?: number;
  /** In-capsule data on I/O queues (IOCCSZ = (64 + this) / 16); a multiple of 16. Default 8 KiB. */
  readonly inCapsuleDataSize?: number;
  /** MAXH2CDATA advertised in ICResp: >= 4096, a multiple of 4. Default 128 KiB. */
  readonly maxH2CData?: number;
  /** C2HData PDUs carry at most this many bytes (reads are split). Default 128 KiB. */
  readonly c2hDataSize?: number;
  /** Bytes asked for by one R2T (a write larger than this takes several). Default maxIoSize. */
  readonly r2tSize?: number;
  /** R2Ts outstanding per command, further capped by the host's MAXR2T + 1. Default 4. */
  readonly maxR2T?: number;
  /** Set SUCCESS on the last C2HData (and skip the CapsuleResp) when the host disabled SQ flow control. Default true. */
  readonly c2hSuccess?: boolean;
  /** Stop reading a connection while its socket holds more than this many unsent bytes. Default 4 MiB. */
  readonly txHighWater?: number;
  /** Milliseconds a new connection has to send its ICReq. Default 10000. */
  readonly icTimeoutMs?: number;
  /**
   * Milliseconds from accept to a successful Connect; a connection still without one is closed
   * (and logged), so idle or refused connections do not pile up. Default 10000, like the
   * Linux host's ICResp wait; hosts send Connect right after ICResp.
   */
  readonly connectTimeoutMs?: number;
  /**
   * Most connections open at once (every queue of every host is one). One more is closed at
   * accept, with a warning in the log. Default 1024.
   */
  readonly maxConnections?: number;
  /**
   * Large data buffers shared by every connection (SPDK `num_shared_buffers`), each of
   * `maxIoSize`, allocated when the transport is created. A command whose data does not fit
   * its request's in-capsule-sized buffer borrows one, and waits while none is free. Default 64
   * (8 MiB with the default maxIoSize).
   */
  readonly numSharedBuffers?: number;
  /**
   * Shared buffers one connection may hold at once, so hosts that stop reading (or never send
   * the data they were asked for) cannot take the whole pool. Default a quarter of the pool.
   */
  readonly sharedBuffersPerConnection?: number;
  /** CRC32C implementation for digests. Default `@node-rs/crc32`'s `crc32c`. */
  readonly crc32c?: Crc32c;
  /**
   * Low-latency mode: after writing responses, a connection polls its socket for the host's
   * next PDU for up to this many microseconds before going back to the event loop (0 to
   * 10000). Lowers queue-depth-1 latency at the price of CPU during the window; an idle
   * connection costs nothing once the window passed. Needs `@nvmu/native` (loaded by the first
   * `listen`). Default 0 (off). See the README's "Low-latency mode".
   */
  readonly busyPollUs?: number;
  /**
   * Bytes of the one buffer every connection's socket reads into (allocated once per
   * transport; each read is consumed before the next). 0 reads with Node's own Buffer per read
   * instead (a backing store allocated per read: the garbage collector's work on the write
   * path). Default 256 KiB.
   */
  readonly readBufferSize?: number;
  /**
   * After connections close, give the C heap's freed memory back to the system with glibc's
   * `malloc_trim(0)` (`@nvmu/native`'s `mallocTrim`), once per burst of closes:
   * `releaseMemoryDelayMs` after the first full GC that follows the last close, never on the
   * I/O path (see memory-release.ts). It blocks the event loop while it runs (tens to hundreds
   * of ms after 1,000 connections closed). Without it RSS ends each cycle of connections higher
   * (glibc keeps chunks freed below live ones resident). Default true; a no-op where the addon
   * cannot load or the C library is not glibc. A function replaces `malloc_trim` (tests).
   */
  readonly releaseMemory?: boolean | (() => boolean);
  /** Milliseconds from the full GC after connections closed to the trim, and between two trims. Default 1000. */
  readonly releaseMemoryDelayMs?: number;
}

/** Discovery Log Page TRTYPE for TCP (NVMe-oF 1.1 Figure 35). */
export const TRTYPE_TCP = 3;
/** Discovery Log Page ADRFAM codes (NVMe-oF 1.1 Figure 35). */
export const ADRFAM_IPV4 = 1;
export const ADRFAM_IPV6 = 2;

interface Listener {
  readonly addr: ListenAddress;
  readonly server: Server;
}

function keyOf(a: ListenAddress): string {
  return `${a.adrfam}|${a.traddr}|${a.trsvcid}`;
}

function isWildcard(traddr: string): boolean {
  return traddr === '' || traddr === '0.0.0.0' || traddr === '::' || traddr === '[::]';
}

export class TcpTargetTransport implements TargetTransport {
  /**
   * The TCP transport's own `nvmf_create_transport` parameters (beyond the core's options), for
   * a management layer: the daemon takes them on create and writes them back in `save_config`.
   */
  static readonly params: TransportParams<TcpTargetTransportOptions, TcpTargetTransport> = {
    busy_poll_us: { type: 'uint', max: MAX_BUSY_POLL_US, option: 'busyPollUs', default: 0, value: (t) => t.busyPollWindowUs },
  };
  readonly trtype = 'tcp';
  readonly options: TransportOptions;
  readonly params = TcpTargetTransport.params;
  private core: TransportCore | undefined;
  private readonly listeners = new Map<string, Listener>();
  private readonly conns = new Set<TcpTargetConnection>();
  private readonly maxH2CData: number;
  private readonly c2hDataSize: number;
  private readonly r2tSize: number;
  private readonly maxR2T: number;
  private readonly c2hSuccess: boolean;
  private readonly txHighWater: number;
  private readonly icTimeoutMs: number;
  private readonly crc32c: Crc32c;
  private readonly pool: SharedBufferPool;
  private readonly readBuffer: Buffer | undefined;
  private readonly counters: TcpTargetStats = {
    accepted: 0,
    icreqs: 0,
    hdgstConnections: 0,
    ddgstConnections: 0,
    termReqsSent: 0,
    termReqsReceived: 0,
    capsules: 0,
    r2ts: 0,
    c2hData: 0,
    c2hSuccess: 0,
    maxTxQueued: 0,
    txStalls: 0,
    icTimeouts: 0,
    connectTimeouts: 0,
    refusedConnections: 0,
    connectionBytes: 0,
    socketReads: 0,
    bytesRead: 0,
    memoryTrims: 0,
    memoryTrimUs: 0,
  };
  private readonly release: MemoryRelease | undefined;
  private readonly connectTimeoutMs: number;
  private readonly maxConnections: number;
  /** Low-latency mode window (0: off), and its state once the first listen loaded @nvmu/native. */
  private readonly busyPollUs: number;
  private busyPoll: TargetBusyPoll | undefined;
  private readonly busyPollCounters: BusyPollStats = newBusyPollStats();
  /** When a refusal at the connection limit was last logged, and how many since went unlogged. */
  private lastRefusalLog = -Infinity;
  private refusalsUnlogged = 0;

  constructor(opts: TcpTargetTransportOptions = {}) {
    const maxIoSize = opts.maxIoSize ?? 128 * 1024;
    const icd = opts.inCapsuleDataSize ?? 8192;
    if (icd % 16 !== 0 || icd < 0) throw new RangeError('inCapsuleDataSize must be a non-negative multiple of 16');
    this.maxH2CData = opts.maxH2CData ?? 128 * 1024;
    if (this.maxH2CData < MIN_MAXH2CDATA || this.maxH2CData % 4 !== 0) {
      throw new RangeError('maxH2CData must be >= 4096 and a multiple of 4 (NVMe/TCP 1.0 Figure 20)');
    }
    this.c2hDataSize = opts.c2hDataSize ?? 128 * 1024;
    if (this.c2hDataSize <= 0) throw new RangeError('c2hDataSize must be positive');
    this.r2tSize = opts.r2tSize ?? maxIoSize;
    if (this.r2tSize <= 0) throw new RangeError('r2tSize must be positive');
    this.maxR2T = Math.max(1, opts.maxR2T ?? 4);
    this.c2hSuccess = opts.c2hSuccess ?? true;
    this.txHighWater = Math.max(64 * 1024, opts.txHighWater ?? 4 * 1024 * 1024);
    this.icTimeoutMs = opts.icTimeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    if (!(this.connectTimeoutMs > 0)) throw new RangeError('connectTimeoutMs must be positive');
    this.maxConnections = opts.maxConnections ?? 1024;
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1) throw new RangeError('maxConnections must be a positive integer');
    this.crc32c = opts.crc32c ?? nodeCrc32c;
    this.busyPollUs = checkBusyPollUs(opts.busyPollUs ?? 0, 'busyPollUs');
    const rbs = opts.readBufferSize ?? 256 * 1024;
    if (!Number.isInteger(rbs) || rbs < 0) throw new RangeError('readBufferSize must be a non-negative integer');
    this.readBuffer = rbs === 0 ? undefined : Buffer.allocUnsafeSlow(rbs);
    this.options = {
      maxQueueDepth: opts.maxQueueDepth ?? 128,
      maxAdminQueueDepth: opts.maxAdminQueueDepth ?? 32,
      maxIoQueues: opts.maxIoQueues ?? 64,
      maxIoSize,
      inCapsuleDataSize: icd,
      ioUnitSize: this.maxH2CData,
    };
    // Room for the largest C2HData header slot (HLEN 24 + digest, padded to HPDA 31: 128 bytes),
    // the data, its digest and a CapsuleResp with digest (connection.ts lays responses out whole).
    const bufferSize = 128 + maxIoSize + DIGEST_LEN + CAPSULE_RESP_HLEN + DIGEST_LEN;
    const count = opts.numSharedBuffers ?? 64;
    this.pool = new SharedBufferPool(count, bufferSize, opts.sharedBuffersPerConnection ?? Math.max(1, Math.floor(count / 4)));
    const releaseMemory = opts.releaseMemory ?? true;
    const delayMs = opts.releaseMemoryDelayMs ?? 1000;
    if (!(delayMs >= 0)) throw new RangeError('releaseMemoryDelayMs must be non-negative');
    if (typeof releaseMemory === 'function') {
      this.release = new MemoryRelease(releaseMemory, delayMs, this.counters);
    } else if (releaseMemory) {
      const release = new MemoryRelease(undefined, delayMs, this.counters);
      this.release = release;
      // Loaded here, not imported at the top: the TCP target works without the addon (it is
      // built on install and Linux-only); then closed connections' memory is just not trimmed.
      import('@nvmu/native').then(
        (native) => {
          release.setTrim(native.MALLOC_TRIM_SUPPORTED ? () => native.mallocTrim(0) : undefined);
        },
        () => undefined,
      );
    }
  }

  /** The shared data-buffer pool's figures (buffers lent, waits). */
  bufferPoolStats(): SharedBufferPoolStats {
    return this.pool.stats();
  }

  attach(core: TransportCore): void {
    this.core = core;
  }

  async listen(addr: ListenAddress): Promise<void> {
    if (addr.trtype !== 'tcp') throw new Error(`TCP transport cannot listen on trtype '${addr.trtype}'`);
    const core = this.core;
    if (core === undefined) throw new Error('TCP transport is not attached to a target');
    const key = keyOf(addr);
    if (this.listeners.has(key)) return;
    if (this.busyPollUs > 0 && this.busyPoll === undefined) {
      this.busyPoll = {
        native: await loadBusyPollNative(),
        windowUs: this.busyPollUs,
        buf: Buffer.allocUnsafeSlow(BUSY_POLL_READ_SIZE),
        stats: this.busyPollCounters,
      };
    }
    const port = Number(addr.trsvcid);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad TCP port '${addr.trsvcid}'`);
    // Accepted sockets start paused: the connection moves each to a socket that reads into the
    // transport's read buffer (socket-read.ts) before any byte is read.
    const server = createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true });
    server.on('connection', (socket: Socket) => {
      this.accept(socket, addr, core);
    });
    const host = addr.traddr.startsWith('[') ? addr.traddr.slice(1, -1) : addr.traddr;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: isWildcard(host) && addr.adrfam === 'ipv4' ? '0.0.0.0' : host, port, ipv6Only: addr.adrfam === 'ipv6' }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: Error) => {
      core.logger.error('nvme-tcp: listener error', { traddr: addr.traddr, trsvcid: addr.trsvcid, err: err.message });
    });
    this.listeners.set(key, { addr, server });
    core.logger.info('nvme-tcp: listening', { traddr: addr.traddr, trsvcid: addr.trsvcid });
  }

  /** The port a listener actually bound (useful with trsvcid '0'). */
  boundPort(addr: ListenAddress): number | undefined {
    const l = this.listeners.get(keyOf(addr));
    const a = l?.server.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  async stopListen(addr: ListenAddress): Promise<void> {
    const key = keyOf(addr);
    const l = this.listeners.get(key);
    if (l === undefined) return;
    this.listeners.delete(key);
    // close() releases the port at once; its callback would wait for every connection to end,
    // and existing qpairs stay up (as in SPDK), so do not wait for it.
    l.server.close(() => undefined);
    await Promise.resolve();
  }

  discoveryEntry(addr: ListenAddress, via: QPair | undefined): DiscoveryEntryFields {
    let traddr = addr.traddr;
    if (isWildcard(traddr) && via?.localAddress !== undefined) traddr = via.localAddress.traddr;
    return {
      trtype: TRTYPE_TCP,
      adrfam: addr.adrfam === 'ipv6' ? ADRFAM_IPV6 : ADRFAM_IPV4,
      // TREQ 0: secure channel not specified; TLS bits stay clear (INTEROP.md: libnvme adds
      // 'tls' for 1 or 2, which the Linux 6.1 host rejects).
      treq: 0,
      traddr,
      trsvcid: addr.trsvcid,
      // TSAS for TCP: byte 0 SECTYPE 0 (no security).
      tsas: new Uint8Array(256),
    };
  }

  async close(): Promise<void> {
    const stops = [...this.listeners.values()].map((l) => this.stopListen(l.addr));
    const closes = [...this.conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed && c.socket.closed) {
            resolve();
            return;
          }
          c.socket.once('close', () => {
            resolve();
          });
          c.close('target-shutdown');
        }),
    );
    await Promise.all([...stops, ...closes]);
    this.release?.close();
  }

  /** A copy of the transport-wide counters, plus the open connection count. */
  stats(): Readonly<TcpTargetStats> & { readonly connections: number } {
    return { ...this.counters, connections: this.conns.size };
  }

  /**
   * A copy of the low-latency mode's counters (all 0 when it is off): `polls` stops growing
   * once every connection's window has passed.
   */
  busyPollStats(): Readonly<BusyPollStats> {
    return { ...this.busyPollCounters };
  }

  /** The low-latency mode's window in microseconds (0: off), as given in `busyPollUs`. */
  get busyPollWindowUs(): number {
    return this.busyPollUs;
  }

  /** Number of open connections (for tests and stats). */
  get connectionCount(): number {
    return this.conns.size;
  }

  private accept(socket: Socket, addr: ListenAddress, core: TransportCore): void {
    if (this.conns.size >= this.maxConnections) {
      this.refuse(socket, core);
      return;
    }
    const depth = Math.max(this.options.maxQueueDepth, this.options.maxAdminQueueDepth);
    // One line per connection (a host opens one per queue): what an operator reads to see who came and went.
    const peer = `${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '')}`;
    core.logger.info('nvme-tcp: connection accepted', { peer, traddr: addr.traddr, trsvcid: addr.trsvcid });
    const conn = new TcpTargetConnection(socket, {
      core,
      crc32c: this.crc32c,
      listenAddress: addr,
      depth,
      maxIoSize: this.options.maxIoSize,
      inCapsuleDataSize: this.options.inCapsuleDataSize,
      maxH2CData: this.maxH2CData,
      c2hDataSize: this.c2hDataSize,
      r2tSize: this.r2tSize,
      maxR2T: this.maxR2T,
      c2hSuccess: this.c2hSuccess,
      txHighWater: this.txHighWater,
      icTimeoutMs: this.icTimeoutMs,
      connectTimeoutMs: this.connectTimeoutMs,
      pool: this.pool,
      readBuffer: this.readBuffer,
      stats: this.counters,
      busyPoll: this.busyPoll,
      onClosed: (c) => {
        this.conns.delete(c);
        this.release?.connectionClosed();
        core.logger.info('nvme-tcp: connection closed', { peer });
      },
    });
    this.conns.add(conn);
    this.counters.accepted++;
  }

  /**
   * At the connection limit: close at once (reset, nothing read). Logged at warn, at most once
   * a second with the count of refusals since, so a flood does not flood the log too.
   */
  private refuse(socket: Socket, core: TransportCore): void {
    this.counters.refusedConnections++;
    this.refusalsUnlogged++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= 1000) {
      core.logger.warn('nvme-tcp: connection refused: at the connection limit', {
        maxConnections: this.maxConnections,
        peer: `${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '')}`,
        refusedSinceLastLog: this.refusalsUnlogged,
      });
      this.lastRefusalLog = now;
      this.refusalsUnlogged = 0;
    }
    socket.on('error', () => undefined);
    socket.destroy();
  }
}
