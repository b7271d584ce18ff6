/**
 * The target: transports, listeners, subsystems (and the discovery subsystem), bdevs and poll
 * groups. It is the `TransportCore` each transport gets in `attach()`, and the environment the
 * command handlers run in.
 */
import { FABRICS_OPCODE } from '@nvmu/nvme-spec';
import { adminCommand } from './admin/index.js';
import { findController } from './qpair-controller.js';
import type { Bdev } from './bdev/bdev.js';
import { AecBit, AsyncEvent, type Controller } from './controller.js';
import type { CommandEnv } from './command-env.js';
import { fabricsCommand } from './fabrics/index.js';
import { ioCommand } from './io/index.js';
import { DISCOVERY_NQN } from './nqn.js';
import { PollGroup, type PollGroupStats } from './poll-group.js';
import { CoreQPair, type CoreRequest, type Dispatch, type IoActivity } from './qpair.js';
import type { ListenAddress } from './request.js';
import { PENDING, CommandStatus } from './status.js';
import {
  NvmfConfigError,
  Subsystem,
  sameAddress,
  trtypeKey,
  type SubsystemDescription,
  type SubsystemHost,
  type SubsystemOptions,
} from './subsystem.js';
import type {
  DiscoveryEntryFields,
  QPairCreateOptions,
  QPairTransportOps,
  TargetTransport,
  TransportCore,
  TransportLogger,
} from './transport.js';

export interface TargetOptions {
  /** Where the core and the transports log. Default: nothing is logged. */
  logger?: TransportLogger;
  /** Number of poll groups qpairs are spread over (round robin). Default 1. */
  pollGroups?: number;
  /** Discovery subsystem serial number. */
  discoverySerial?: string;
}

/** Reject transport options the core cannot serve (CAP.MQES, MDTS, pools). */
function checkOptions(t: TargetTransport): void {
  const o = t.options;
  const int = (v: number, min: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new NvmfConfigError(`${t.trtype} transport: ${what} ${v} out of range ${min}..${max}`);
  };
  int(o.maxQueueDepth, 2, 65536, 'maxQueueDepth');
  int(o.maxAdminQueueDepth, 2, 4096, 'maxAdminQueueDepth');
  int(o.maxIoQueues, 0, 65535, 'maxIoQueues');
  // MDTS is a power of two in 4 KiB units where 0 means "no limit": 8 KiB is the smallest limit
  // it can express (NVMe Base 2.0 Figure 275), so a 4 KiB maxIoSize cannot be advertised.
  int(o.maxIoSize, 8192, 2 ** 31, 'maxIoSize');
  int(o.inCapsuleDataSize, 0, 2 ** 31, 'inCapsuleDataSize');
  int(o.ioUnitSize, 1, 2 ** 31, 'ioUnitSize');
}

/** A logger that drops everything. */
export const silentLogger: TransportLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface TargetStats {
  pollGroups: PollGroupStats[];
  subsystems: { nqn: string; state: string; controllers: number; namespaces: number; ioInflight: number }[];
}

export class Target implements CommandEnv, SubsystemHost {
  readonly logger: TransportLogger;
  /** The discovery subsystem (`nqn.2014-08.org.nvmexpress.discovery`), always active. */
  readonly discovery: Subsystem;
  private generation = 0;
  private readonly _transports = new Map<string, TargetTransport>();
  private readonly _subsystems = new Map<string, Subsystem>();
  private readonly _listeners: ListenAddress[] = [];
  private readonly _bdevs = new Map<string, Bdev>();
  private readonly groups: PollGroup[];
  private nextGroup = 0;
  private closed = false;
  /** What the qpairs tell when I/O starts while a sampler sleeps (`onNextIo`). */
  private readonly activity: IoActivity & { next: (() => void) | undefined } = {
    waiting: false,
    next: undefined,
    started() {
      const cb = this.next;
      this.waiting = false;
      this.next = undefined;
      cb?.();
    },
  };

  constructor(opts: TargetOptions = {}) {
    this.logger = opts.logger ?? silentLogger;
    const n = opts.pollGroups ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new NvmfConfigError(`pollGroups ${n} must be a positive integer`);
    this.groups = Array.from({ length: n }, (_, i) => new PollGroup(i));
    this.discovery = new Subsystem(
      { nqn: DISCOVERY_NQN, allowAnyHost: true, model: 'nvmu discovery', serial: opts.discoverySerial ?? 'NVMUDISCOVERY' },
      this,
      'discovery',
    );
    this.discovery.state = 'active';
  }

  // ---- transports and listeners ----

  /** Add a transport; it gets its `TransportCore` through `attach`. One per trtype. */
  async addTransport(transport: TargetTransport): Promise<void> {
    const key = trtypeKey(transport.trtype);
    if (this._transports.has(key)) throw new NvmfConfigError(`a ${transport.trtype} transport is already added`);
    checkOptions(transport);
    const core: TransportCore = {
      createQPair: <T>(ops: QPairTransportOps<T>, opts: QPairCreateOptions) => this.createQPair(transport, ops, opts),
      logger: this.logger,
    };
    this._transports.set(key, transport);
    try {
      await transport.attach(core);
    } catch (e) {
      this._transports.delete(key);
      throw e;
    }
  }

  /** The transport serving `trtype` (any spelling `trtypeKey` equates: 'VFIOUSER' finds 'vfio-user'). */
  getTransport(trtype: string): TargetTransport | undefined {
    return this._transports.get(trtypeKey(trtype));
  }

  get transports(): readonly TargetTransport[] {
    return [...this._transports.values()];
  }

  /**
   * Listen on `addr` (the discovery subsystem is reachable there; NVM subsystems once they add
   * it). Listening again on the same address does nothing.
   */
  async listen(addr: ListenAddress): Promise<void> {
    if (this._listeners.some((l) => sameAddress(l, addr))) return;
    const t = this.getTransport(addr.trtype);
    if (t === undefined) throw new NvmfConfigError(`no ${addr.trtype} transport; add it with addTransport first`);
    // The transport and the listener list see the transport's own trtype, whatever the spelling.
    const canonical = { trtype: t.trtype, adrfam: addr.adrfam, traddr: addr.traddr, trsvcid: addr.trsvcid };
    await t.listen(canonical);
    this._listeners.push(canonical);
    this.discoveryChanged();
  }

  /** Stop listening on `addr`; subsystems stop listing it and their controllers through it go down. */
  async stopListen(addr: ListenAddress): Promise<void> {
    const i = this._listeners.findIndex((l) => sameAddress(l, addr));
    if (i < 0) return;
    for (const s of this._subsystems.values()) s.removeListener(addr);
    this._listeners.splice(i, 1);
    const t = this.getTransport(addr.trtype);
    await t?.stopListen({ trtype: t.trtype, adrfam: addr.adrfam, traddr: addr.traddr, trsvcid: addr.trsvcid });
    this.discoveryChanged();
  }

  listeners(): readonly ListenAddress[] {
    return this._listeners;
  }

  // ---- subsystems ----

  /** Create an NVM subsystem (state 'inactive'; call `start()` to accept Connects). */
  createSubsystem(opts: SubsystemOptions): Subsystem {
    if (this.closed) throw new NvmfConfigError('target is closed');
    if (this._subsystems.has(opts.nqn) || opts.nqn === DISCOVERY_NQN) throw new NvmfConfigError(`subsystem ${opts.nqn} already exists`);
    const s = new Subsystem(opts, this);
    this._subsystems.set(s.nqn, s);
    this.discoveryChanged();
    return s;
  }

  /** Stop and remove a subsystem (its controllers are torn down). */
  async removeSubsystem(nqn: string): Promise<void> {
    const s = this._subsystems.get(nqn);
    if (s === undefined) throw new NvmfConfigError(`no subsystem ${nqn}`);
    await s.stop();
    this._subsystems.delete(nqn);
    this.discoveryChanged();
  }

  /** The subsystem with `nqn`: an NVM subsystem, or the discovery subsystem for its well-known NQN. */
  getSubsystem(nqn: string): Subsystem | undefined {
    return nqn === DISCOVERY_NQN ? this.discovery : this._subsystems.get(nqn);
  }

  subsystems(): Iterable<Subsystem> {
    return this._subsystems.values();
  }

  // ---- bdevs ----

  /** Register a bdev under its name (for management by name, and closing on `close()`). */
  addBdev(bdev: Bdev): void {
    if (this._bdevs.has(bdev.name)) throw new NvmfConfigError(`bdev ${bdev.name} already exists`);
    this._bdevs.set(bdev.name, bdev);
  }

  getBdev(name: string): Bdev | undefined {
    return this._bdevs.get(name);
  }

  get bdevs(): readonly Bdev[] {
    return [...this._bdevs.values()];
  }

  /** Hot-remove a bdev: every namespace on it is removed (AERs raised, I/O drained), then it is closed. */
  async removeBdev(name: string): Promise<void> {
    const b = this._bdevs.get(name);
    if (b === undefined) throw new NvmfConfigError(`no bdev ${name}`);
    for (const s of this._subsystems.values()) for (const ns of s.namespacesOn(b)) await s.removeNamespace(ns.nsid);
    this._bdevs.delete(name);
    await b.close();
  }

  // ---- discovery ----

  get discoveryGeneration(): number {
    return this.generation;
  }

  discoveryEntry(addr: ListenAddress, via: CoreQPair | undefined): DiscoveryEntryFields | undefined {
    return this.getTransport(addr.trtype)?.discoveryEntry(addr, via);
  }

  /** Bump GENCTR and raise Discovery Log Page Change notices (NVMe-oF 1.1 §5.3). */
  discoveryChanged(): void {
    this.generation++;
    for (const c of this.discovery.controllers.values()) c.raiseEvent(AsyncEvent.DiscoveryLogChange, AecBit.DiscoveryLogChange);
  }

  // ---- command execution ----

  async flushController(ctrlr: Controller): Promise<void> {
    const bdevs = new Set<Bdev>();
    for (const ns of ctrlr.subsystem.namespaces.values()) bdevs.add(ns.bdev);
    await Promise.all(
      [...bdevs].map(
        (b) =>
          new Promise<void>((resolve) => {
            b.flush(() => {
              resolve();
            }, undefined);
          }),
      ),
    );
  }

  redispatch(req: CoreRequest): void {
    const qp = req.core;
    if (qp.state !== 'active') {
      qp.complete(req, CommandStatus.AbortedSqDeletion);
      return;
    }
    const status = ioCommand(this, qp, req);
    if (status !== PENDING) qp.complete(req, status);
  }

  private readonly dispatch: Dispatch = (qp, req) => {
    try {
      if (req.opcode === FABRICS_OPCODE) {
        if (qp.qid === 0) findController(qp)?.touchKeepAlive();
        return fabricsCommand(this, qp, req);
      }
      if (qp.state !== 'active') return CommandStatus.CommandSequenceError;
      return qp.qid === 0 ? adminCommand(this, qp, req) : ioCommand(this, qp, req);
    } catch (e) {
      this.logger.error('command handler threw', { opcode: req.opcode, qid: qp.qid, error: String(e) });
      throw e;
    }
  };

  private createQPair<T>(transport: TargetTransport, ops: QPairTransportOps<T>, opts: QPairCreateOptions): CoreQPair<T> {
    if (this.closed) throw new NvmfConfigError('target is closed');
    const group = this.groups[this.nextGroup % this.groups.length] ?? new PollGroup(-1);
    this.nextGroup = (this.nextGroup + 1) % this.groups.length;
    const qp = new CoreQPair<T>({
      ops,
      transport,
      depth: opts.depth,
      preConnectDepth: opts.preConnectDepth,
      listenAddress: opts.listenAddress,
      peerAddress: opts.peerAddress,
      localAddress: opts.localAddress,
      dispatch: this.dispatch,
      activity: this.activity,
      onClosed: (q) => {
        group.remove(q);
      },
    });
    group.add(qp);
    return qp;
  }

  // ---- statistics and shutdown ----

  /**
   * Integrate the I/O commands in flight over the last `dtUs` microseconds into each qpair's
   * latency sum (see `IoCounters.latencyUs`). A management timer calls it; nothing on the I/O path.
   * Returns true when some I/O qpair has commands in flight or had any since the previous call:
   * false means the timer may sleep until `onNextIo` wakes it.
   */
  sampleInflight(dtUs: number): boolean {
    let busy = false;
    for (const g of this.groups) for (const qp of g.qpairs) if (qp.sampleInflight(dtUs)) busy = true;
    return busy;
  }

  /**
   * Run `cb` once, when the next I/O command reaches an I/O qpair that has none in flight (the
   * first I/O after a quiet spell), so a management timer can sleep while the target is idle.
   * One callback waits at a time: a second call replaces the first. The I/O path pays one flag
   * test per command.
   */
  onNextIo(cb: () => void): void {
    this.activity.next = cb;
    this.activity.waiting = true;
  }

  /** Every subsystem, the discovery one first, as SPDK's `nvmf_get_subsystems` lists them. */
  describeSubsystems(): SubsystemDescription[] {
    return [this.discovery.describe(), ...[...this._subsystems.values()].map((s) => s.describe())];
  }

  getStats(): TargetStats {
    return {
      pollGroups: this.groups.map((g) => g.stats()),
      subsystems: [...this._subsystems.values()].map((s) => ({
        nqn: s.nqn,
        state: s.state,
        controllers: s.controllers.size,
        namespaces: s.namespaces.size,
        ioInflight: s.ioInflight,
      })),
    };
  }

  /** Stop every subsystem, close every transport and bdev. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this._subsystems.values()) {
      for (const c of [...s.controllers.values()]) c.destroy('target-shutdown');
    }
    for (const c of [...this.discovery.controllers.values()]) c.destroy('target-shutdown');
    await Promise.all([...this._subsystems.values()].map((s) => s.stop()));
    for (const t of this._transports.values()) await t.close();
    for (const b of this._bdevs.values()) await b.close();
    this._bdevs.clear();
  }
}
