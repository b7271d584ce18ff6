/**
 * Target side of the loopback transport: implements @nvmu/nvmf's `TargetTransport` (imported as
 * types only; everything it runs comes from the `TransportCore` the target hands over in
 * `attach()`). A `listen({ trtype: 'loopback', traddr: name })` makes `name` reachable from
 * `connect('trtype:loopback traddr:name ...')` of @nvmu/client in the same process.
 */
import type { HostQPairOptions } from '@nvmu/client';
import type {
  DiscoveryEntryFields,
  ListenAddress,
  QPair,
  TargetTransport,
  TransportCore,
  TransportOptions,
} from '@nvmu/nvmf';
import { LoopbackConnection, LoopbackDisconnectedError } from './connection.js';
import { type LoopbackListener, loopbackListeners } from './listeners.js';

/** The trtype string of this transport. */
export const LOOPBACK_TRTYPE = 'loopback';

/** Discovery Log Page TRTYPE / ADRFAM code for intra-host transports (NVMe-oF 1.1 Figure 35: FEh). */
export const INTRA_HOST_CODE = 0xfe;

/** Defaults in the spirit of SPDK's TCP transport defaults. */
export const DEFAULT_LOOPBACK_OPTIONS: TransportOptions = {
  maxQueueDepth: 128,
  maxAdminQueueDepth: 32,
  maxIoQueues: 16,
  maxIoSize: 128 * 1024,
  inCapsuleDataSize: 8192,
  ioUnitSize: 128 * 1024,
};

const EMPTY_TSAS = new Uint8Array(256);

/** The in-process target transport. */
export class LoopbackTargetTransport implements TargetTransport {
  readonly trtype = LOOPBACK_TRTYPE;
  readonly options: TransportOptions;
  private core: TransportCore | undefined;
  private readonly listening = new Map<string, LoopbackListener>();
  private readonly connections = new Set<LoopbackConnection>();
  private closed = false;

  constructor(options: Partial<TransportOptions> = {}) {
    this.options = { ...DEFAULT_LOOPBACK_OPTIONS, ...options };
  }

  attach(core: TransportCore): void {
    this.core = core;
  }

  listen(addr: ListenAddress): Promise<void> {
    const registry = loopbackListeners();
    const existing = registry.get(addr.traddr);
    if (existing !== undefined) {
      // Listening twice on the same name from this transport is a no-op, as with SPDK.
      if (this.listening.get(addr.traddr) === existing) return Promise.resolve();
      return Promise.reject(new Error(`loopback traddr '${addr.traddr}' is already in use`));
    }
    if (this.closed) return Promise.reject(new Error('loopback transport is closed'));
    const listener: LoopbackListener = {
      traddr: addr.traddr,
      maxTransferSize: this.options.maxIoSize,
      connect: (opts) => this.accept(addr, opts),
    };
    registry.set(addr.traddr, listener);
    this.listening.set(addr.traddr, listener);
    return Promise.resolve();
  }

  stopListen(addr: ListenAddress): Promise<void> {
    const listener = this.listening.get(addr.traddr);
    if (listener !== undefined) {
      this.listening.delete(addr.traddr);
      const registry = loopbackListeners();
      if (registry.get(addr.traddr) === listener) registry.delete(addr.traddr);
    }
    return Promise.resolve();
  }

  discoveryEntry(addr: ListenAddress, _via: QPair | undefined): DiscoveryEntryFields {
    return { trtype: INTRA_HOST_CODE, adrfam: INTRA_HOST_CODE, treq: 0, traddr: addr.traddr, trsvcid: addr.trsvcid, tsas: EMPTY_TSAS };
  }

  /**
   * Makes every open connection (on `traddr`, or all) fail as a broken wire would: hosts get
   * `disconnected(error)`, the core `disconnected()`. For tests of reset and reconnect.
   */
  dropConnections(traddr?: string): number {
    let n = 0;
    for (const c of [...this.connections]) {
      if (traddr !== undefined && c.qpair.listenAddress.traddr !== traddr) continue;
      c.drop(new LoopbackDisconnectedError(`loopback connection to '${c.qpair.listenAddress.traddr}' dropped`, 'dropped'));
      n++;
    }
    return n;
  }

  /** Number of open connections (qpairs), for tests and stats. */
  get connectionCount(): number {
    return this.connections.size;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const addr of [...this.listening.keys()]) {
      const registry = loopbackListeners();
      if (registry.get(addr) === this.listening.get(addr)) registry.delete(addr);
    }
    this.listening.clear();
    for (const c of [...this.connections]) {
      c.drop(new LoopbackDisconnectedError('loopback target transport closed', 'target-shutdown'));
    }
    return Promise.resolve();
  }

  private accept(addr: ListenAddress, opts: HostQPairOptions): LoopbackConnection {
    const core = this.core;
    if (core === undefined || this.closed || !this.listening.has(addr.traddr)) {
      throw new Error(`loopback traddr '${addr.traddr}' is not listening`);
    }
    // A connection does not know whether it will be an admin or an I/O queue until Connect,
    // so the pool is sized for the larger of the two (TransportCore contract).
    const depth = Math.max(this.options.maxQueueDepth, this.options.maxAdminQueueDepth);
    if (opts.queueSize > depth) throw new RangeError(`queue size ${opts.queueSize} above the loopback maximum ${depth}`);
    const conn = new LoopbackConnection(
      {
        qid: opts.qid,
        queueSize: opts.queueSize,
        inCapsuleDataSize: Math.min(opts.maxInCapsuleDataSize, opts.qid === 0 ? 8192 : this.options.inCapsuleDataSize),
        maxTransferSize: this.options.maxIoSize,
        depth,
        handler: opts.handler,
      },
      (c) => {
        this.connections.delete(c);
      },
    );
    conn.qpair = core.createQPair(conn.ops, {
      depth,
      listenAddress: addr,
      peerAddress: { trtype: LOOPBACK_TRTYPE, adrfam: 'intra-host', traddr: 'host', trsvcid: '' },
      localAddress: addr,
    });
    this.connections.add(conn);
    return conn;
  }
}
