/**
 * The controller's state machine — connecting → ready ⇄ resetting → failed, closing → closed —
 * and the order of bring-up, written once for every transport (SPDK's lib/nvme/nvme_ctrlr.c;
 * Linux drivers/nvme/host/core.c + fabrics.c). The steps live by concern:
 * fabrics.ts (Connect, Property Get/Set, Disconnect), pcie.ts (queue memory, AQA/ASQ/ACQ,
 * Create/Delete I/O CQ/SQ), registers.ts (disable, enable, shutdown), admin.ts (the admin
 * commands), ns-scan.ts (namespaces), events.ts (AER, keep-alive, the timeout clock) and
 * reconnect.ts (the reconnect policy).
 *
 * Fabrics bring-up (NVMe-oF 1.1 §3.3-3.5, NVMe Base 2.0 §3.5.1):
 *   connect admin qpair → Connect (cntlid FFFFh, KATO) → Property Get CAP, VS → Property Set
 *   CC.EN=1 → wait CSTS.RDY (CAP.TO) → Identify Controller → Set Features Number of Queues →
 *   Asynchronous Event Configuration + one AER → keep-alive at KATO/2 → I/O qpairs (Connect with
 *   the cntlid) → namespaces (Identify active NS list + Identify Namespace).
 * PCIe bring-up (vfio-user), through the optional HostTransport register and memory hooks:
 *   read CAP, VS, CC, CSTS → disable if enabled (CC.EN=0, wait RDY=0) → admin queue memory →
 *   AQA/ASQ/ACQ → CC.EN=1 → wait CSTS.RDY (CAP.TO) → open the admin qpair → Identify (cntlid
 *   from it) → Set Features Keep Alive Timer → as fabrics from Number of Queues on, except that
 *   an I/O qpair is Create I/O CQ + Create I/O SQ (and Delete SQ + CQ when freed), not Connect.
 */
import { EventEmitter } from 'node:events';
import {
  AsyncEventConfig,
  CNTLID_DYNAMIC,
  Cns,
  ControllerType,
  FeatureId,
  DISCOVERY_NQN,
  Oaes,
  Register,
  decodeCap,
  decodeNumberOfQueues,
  encodeNumberOfQueues,
  memoryPageSize,
  type Cap,
} from '@nvmu/nvme-spec';
import { getFeatures, getLogPage, identify, passthrough, readDiscoveryLog, setFeatures } from './admin.js';
import { NvmeCommandAbortedError, NvmeCommandError, NvmeControllerStateError, NvmeQPairError, type AbortReason } from './errors.js';
import { type AsyncEvent, AsyncEvents, CommandClock, KeepAliveTimer } from './events.js';
import { fabricsConnect, fabricsDisconnect, fabricsRegisters } from './fabrics.js';
import { type ControllerData, type DiscoveryLog, parseIdentifyController } from './identify.js';
import type { Namespace, NamespaceOwner } from './namespace.js';
import { scanNamespaces } from './ns-scan.js';
import { PcieQueues, asPcieTransport, pcieRegisters } from './pcie.js';
import { type CommandResult, QPair, type QPairOwner } from './qpair.js';
import { type ReconnectPolicy, reconnectPerPolicy } from './reconnect.js';
import { type RegisterAccess, disableController, enableController, shutdownController } from './registers.js';
import type { HostTransport, HostTransportFactory, TransportId } from './transport.js';
import { parseUuid } from './trid.js';


/** Options of `connect()`. Every field has a default. */
export interface ControllerOptions {
  /**
   * Host NQN (default: trid's hostnqn, else the stable default identity). `''` sends an
   * all-zero HOSTNQN, as SPDK's initiator does when its transport ID names no hostnqn.
   */
  readonly hostnqn?: string | undefined;
  /** Host ID as a UUID string (default: trid's hostid, else the stable default identity). */
  readonly hostid?: string | undefined;
  /** Keep Alive Timeout in ms sent in Connect; 0 disables. Default 10000 (0 for discovery). */
  readonly kato?: number | undefined;
  /** Admin queue entries. Default 32. */
  readonly adminQueueSize?: number | undefined;
  /** Entries of I/O qpairs that do not say otherwise. Default 128 (clamped to CAP.MQES+1, MAXCMD). */
  readonly ioQueueSize?: number | undefined;
  /** I/O queues asked for with Set Features Number of Queues. Default 8. */
  readonly ioQueues?: number | undefined;
  /** Timeout of admin commands in ms (then the controller is reset). Default 10000. */
  readonly adminTimeoutMs?: number | undefined;
  /** Timeout of I/O commands in ms (then the controller is reset); 0 disables. Default 30000. */
  readonly ioTimeoutMs?: number | undefined;
  /** Time a transport may take to open a connection. Default 5000. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Reconnect after a failure (lost connection, timeout, keep-alive failure): retry every
   * `delayMs` until `ctrlLossTimeoutMs` passed (Linux's reconnect_delay / ctrl_loss_tmo);
   * false fails the controller at once. Default { delayMs: 1000, ctrlLossTimeoutMs: 60000 }.
   */
  readonly reconnect?: { readonly delayMs?: number; readonly ctrlLossTimeoutMs?: number } | false | undefined;
  /** Create a default I/O qpair for the Namespace promise methods. Default true. */
  readonly defaultIoQPair?: boolean | undefined;
}

/** The controller's life; a string-literal union (STYLE.md). */
export type ControllerState = 'connecting' | 'ready' | 'resetting' | 'failed' | 'closing' | 'closed';

/** Events of a {@link Controller}. */
export interface ControllerEvents {
  /** Any asynchronous event, before the library handles it. */
  asyncEvent: [event: AsyncEvent];
  /** A namespace appeared (after a Namespace Attribute Changed event or a reset). */
  namespaceAdded: [ns: Namespace];
  /** A namespace went away (`ns.active` is now false). */
  namespaceRemoved: [ns: Namespace];
  /** A namespace's size or format changed. */
  namespaceChanged: [ns: Namespace];
  /** The namespace set after any of the three events above. */
  namespacesChanged: [namespaces: readonly Namespace[]];
  /** The controller lost its connection or a command timed out; reconnecting begins. */
  resetting: [cause: Error | undefined];
  /** Reconnected and brought up again. */
  reset: [];
  /** Reconnecting gave up; the controller is unusable. */
  failed: [error: Error];
  /** `close()` finished. */
  closed: [];
}

/** Result of `adminPassthrough` / `ioPassthrough`: CQE DW0 and DW1 (the status was 0). */
export type PassthroughResult = CommandResult;

interface ResolvedOptions {
  hostnqn: string;
  hostid: string;
  kato: number;
  adminQueueSize: number;
  ioQueueSize: number;
  ioQueues: number;
  adminTimeoutMs: number;
  ioTimeoutMs: number;
  connectTimeoutMs: number;
  reconnect: ReconnectPolicy | false;
  defaultIoQPair: boolean;
}

/** @internal Fills defaults. */
export function resolveOptions(trid: TransportId, opts: ControllerOptions, identity: { hostnqn: string; hostid: string }): ResolvedOptions {
  const discovery = (trid.subnqn ?? DISCOVERY_NQN) === DISCOVERY_NQN;
  const reconnect = opts.reconnect === false ? false : { delayMs: opts.reconnect?.delayMs ?? 1000, ctrlLossTimeoutMs: opts.reconnect?.ctrlLossTimeoutMs ?? 60000 };
  return {
    hostnqn: opts.hostnqn ?? trid.hostnqn ?? identity.hostnqn,
    hostid: opts.hostid ?? trid.hostid ?? identity.hostid,
    kato: opts.kato ?? (discovery ? 0 : 10000),
    adminQueueSize: opts.adminQueueSize ?? 32,
    ioQueueSize: opts.ioQueueSize ?? 128,
    ioQueues: opts.ioQueues ?? 8,
    adminTimeoutMs: opts.adminTimeoutMs ?? 10000,
    ioTimeoutMs: opts.ioTimeoutMs ?? 30000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    reconnect,
    defaultIoQPair: opts.defaultIoQPair ?? !discovery,
  };
}

/** An NVMe controller reached through a host transport. Create it with `connect()`. */
export class Controller extends EventEmitter<ControllerEvents> implements QPairOwner, NamespaceOwner {
  /** Where the controller is. */
  readonly trid: TransportId;
  /** Subsystem NQN connected to. */
  readonly subnqn: string;
  /** Host NQN used in Connect. */
  readonly hostnqn: string;
  /** Host ID used in Connect (UUID string). */
  readonly hostid: string;
  /** Life cycle state. */
  state: ControllerState = 'connecting';
  /** Controller ID from the admin Connect (changes on reconnect: dynamic model). */
  cntlid = CNTLID_DYNAMIC;
  /** CAP register, decoded. */
  cap: Cap | undefined;
  /** CAP register, raw. */
  capRaw = 0n;
  /** VS register. */
  vs = 0;
  /** Identify Controller from the last bring-up. */
  data: ControllerData | undefined;
  /** I/O queues granted by Set Features Number of Queues. */
  maxIoQueues = 0;
  /** Largest data transfer of one command in bytes (MDTS and the transport limit), 0 = none. */
  maxTransferSize = 0;

  private readonly factory: HostTransportFactory;
  private readonly opts: ResolvedOptions;
  private readonly hostidBytes: Uint8Array;
  private transport: HostTransport | undefined;
  /** Register access of the current association: properties on fabrics, BAR0 on pcie. */
  private registers: RegisterAccess;
  /** pcie: the queues of the current association (undefined on fabrics). */
  private pcie: PcieQueues | undefined;
  private readonly admin: QPair;
  private readonly ioQPairs = new Set<QPair>();
  private defaultQPair: QPair | undefined;
  private readonly nsMap = new Map<number, Namespace>();
  private readonly clock: CommandClock;
  private readonly keepAlive: KeepAliveTimer;
  private readonly events: AsyncEvents;
  private readonly tickMs: number;
  private ready: Promise<void> = Promise.resolve();
  private readyResolve: (() => void) | undefined;
  private readyReject: ((e: Error) => void) | undefined;
  private resetTask: Promise<void> | undefined;
  /** pcie: Set Features Keep Alive Timer was refused, so no Keep Alive is sent. */
  private keepAliveRefused = false;
  /** `shutdown()` ran on this association (cleared by a bring-up). */
  private shutdownNotified = false;

  /** @internal Use `connect()`. */
  constructor(factory: HostTransportFactory, trid: TransportId, opts: ResolvedOptions) {
    super();
    this.factory = factory;
    this.trid = trid;
    this.opts = opts;
    this.subnqn = trid.subnqn ?? DISCOVERY_NQN;
    this.hostnqn = opts.hostnqn;
    this.hostid = opts.hostid;
    this.hostidBytes = parseUuid(opts.hostid);
    this.admin = new QPair(this, 0, opts.adminQueueSize);
    this.registers = fabricsRegisters(this.admin);
    const shortest = Math.min(opts.adminTimeoutMs, opts.ioTimeoutMs > 0 ? opts.ioTimeoutMs : Infinity);
    this.tickMs = Math.max(5, Math.min(1000, Math.floor(shortest / 10)));
    this.admin.timeoutTicks = Math.ceil(opts.adminTimeoutMs / this.tickMs);
    this.clock = new CommandClock(this.tickMs, () => [this.admin, ...this.ioQPairs]);
    this.keepAlive = new KeepAliveTimer(
      this.admin,
      () => this.state === 'ready',
      (e) => {
        this.startReset('reset', e);
      },
    );
    this.events = new AsyncEvents(this.admin, {
      onEvent: (event) => this.emit('asyncEvent', event),
      armed: () => this.state === 'ready' || this.state === 'resetting',
      ready: () => this.state === 'ready',
      rescan: (changed) => this.scanNamespaces(changed),
    });
  }

  /** True for a discovery controller (no I/O queues, no namespaces). */
  get isDiscovery(): boolean {
    return this.subnqn === DISCOVERY_NQN || this.data?.cntrltype === ControllerType.Discovery;
  }

  /** Active namespaces, by nsid. */
  get namespaces(): readonly Namespace[] {
    return [...this.nsMap.values()].sort((a, b) => a.nsid - b.nsid);
  }

  /** The namespace with `nsid`, if active. */
  namespace(nsid: number): Namespace | undefined {
    return this.nsMap.get(nsid);
  }

  /** I/O qpairs currently allocated (the default one included). */
  get ioQPairList(): readonly QPair[] {
    return [...this.ioQPairs];
  }

  /** The admin qpair (for statistics; use the methods for commands). */
  get adminQPair(): QPair {
    return this.admin;
  }

  /** Resolves when the controller is ready (at once unless resetting); rejects if it failed. */
  whenReady(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return Promise.reject(new NvmeCommandAbortedError('closed', undefined));
    return this.ready;
  }

  // ---- bring-up ----

  /** @internal First bring-up, from `connect()`. Cleans up on failure. */
  async init(): Promise<void> {
    try {
      this.clock.start();
      await this.bringUp();
      this.state = 'ready';
      this.startTimers();
    } catch (e) {
      this.state = 'closed';
      this.stopTimers();
      await this.teardown('closed');
      this.admin.markClosed();
      throw e;
    }
  }

  /** One bring-up of a new association, in the order of the module comment. */
  private async bringUp(): Promise<void> {
    const transport = await this.factory.open(this.trid, {
      hostnqn: this.hostnqn,
      hostid: this.hostidBytes,
      connectTimeoutMs: this.opts.connectTimeoutMs,
    });
    if (this.state === 'closing' || this.state === 'closed') {
      // close() ran while the association was being opened (a reconnect attempt).
      await transport.close();
      throw new NvmeCommandAbortedError('closed', undefined);
    }
    this.transport = transport;
    const pcieTransport = transport.kind === 'pcie' ? asPcieTransport(transport, this.trid.trtype) : undefined;
    if (pcieTransport === undefined) {
      // Admin queue: connection, then Connect asking for a dynamic controller (NVMe-oF 1.1 §3.3).
      this.admin.attach(
        await transport.connectQPair({ qid: 0, queueSize: this.admin.queueSize, maxInCapsuleDataSize: 8192, handler: this.admin }),
      );
      this.cntlid = await fabricsConnect(this.admin, this.connectParams(CNTLID_DYNAMIC, this.opts.kato));
      this.admin.markConnected();
    }
    this.keepAliveRefused = false;
    this.shutdownNotified = false;

    // Registers (NVMe Base 2.0 §3.5.1 steps): properties on fabrics, BAR0 on pcie.
    if (pcieTransport !== undefined) this.registers = pcieRegisters(pcieTransport);
    const capRaw = await this.getProperty(Register.CAP, 8);
    const cap = decodeCap(capRaw);
    this.capRaw = capRaw;
    this.cap = cap;
    if (pcieTransport !== undefined) this.pcie = new PcieQueues(pcieTransport, cap.mpsmin);
    this.vs = Number(await this.getProperty(Register.VS, 4));
    await disableController(this.registers, cap);
    const adminMemory = this.pcie === undefined ? undefined : await this.pcie.setUpAdminQueue(this.registers, this.admin.queueSize);
    await enableController(this.registers, cap);
    if (this.pcie !== undefined && adminMemory !== undefined) await this.pcie.connectAdminQueue(this.admin, adminMemory);

    const data = parseIdentifyController(await identify(this.admin, Cns.Controller, 0));
    this.data = data;
    if (this.pcie !== undefined) {
      this.cntlid = data.cntlid;
      // PCIe has no Connect to carry KATO: Set Features Keep Alive Timer (NVMe Base 2.0 §5.27.1.12).
      if (this.opts.kato > 0 && data.kas !== 0) {
        try {
          await this.setFeatures(FeatureId.KeepAliveTimer, this.opts.kato);
        } catch (e) {
          if (!(e instanceof NvmeCommandError)) throw e;
          this.keepAliveRefused = true;
        }
      }
    }
    const mdtsBytes = data.mdts === 0 ? 0 : memoryPageSize(cap.mpsmin) * 2 ** data.mdts;
    const tmax = transport.maxTransferSize;
    this.maxTransferSize = mdtsBytes === 0 ? tmax : tmax === 0 ? mdtsBytes : Math.min(mdtsBytes, tmax);
    for (const qp of this.ioQPairs) qp.maxTransferSize = this.maxTransferSize;

    if (this.isDiscovery) return;

    // Number of Queues (NVMe Base 2.0 §5.27.1.7): NSQR/NCQR 0's based; result NSQA/NCQA.
    const n = Math.max(1, this.opts.ioQueues) - 1;
    const granted = decodeNumberOfQueues((await this.setFeatures(FeatureId.NumberOfQueues, encodeNumberOfQueues({ nsq: n, ncq: n }))).dw0);
    this.maxIoQueues = Math.min(granted.nsq, granted.ncq) + 1;

    if ((data.oaes & Oaes.NamespaceAttributeNotices) !== 0) {
      try {
        await this.setFeatures(FeatureId.AsyncEventConfiguration, AsyncEventConfig.NamespaceAttributeNotices);
      } catch (e) {
        if (!(e instanceof NvmeCommandError)) throw e;
      }
    }
    this.events.submit();

    // I/O qpairs: reconnect those the application holds (after a reset), or make the default.
    for (const qp of this.ioQPairs) await this.connectIoQPair(qp);
    if (this.opts.defaultIoQPair && this.defaultQPair === undefined) {
      this.defaultQPair = this.newIoQPair(this.opts.ioQueueSize);
      await this.connectIoQPair(this.defaultQPair);
    }
    await this.scanNamespaces(undefined);
  }

  private connectParams(cntlid: number, kato: number): Parameters<typeof fabricsConnect>[1] {
    return { hostid: this.hostidBytes, hostnqn: this.hostnqn, subnqn: this.subnqn, cntlid, kato };
  }

  /**
   * A controller register, 4 or 8 bytes at `offset`: Property Get (NVMe-oF 1.1 §3.4) on fabrics,
   * a BAR0 read on pcie.
   */
  async getProperty(offset: number, size: 4 | 8): Promise<bigint> {
    return this.registers.get(offset, size);
  }

  /** Sets a controller register: Property Set (NVMe-oF 1.1 §3.5) on fabrics, a BAR0 write on pcie. */
  async setProperty(offset: number, value: bigint, size: 4 | 8): Promise<void> {
    await this.registers.set(offset, value, size);
  }

  // ---- admin commands (admin.ts) ----

  /** Identify (NVMe Base 2.0 §5.17): 4096 bytes for `cns` / `nsid`. */
  async identify(cns: number, nsid: number, cntid = 0): Promise<Uint8Array> {
    return identify(this.admin, cns, nsid, cntid);
  }

  /** Identify Controller, fetched again and decoded (also updates `data`). */
  async identifyController(): Promise<ControllerData> {
    await this.whenReady();
    const data = parseIdentifyController(await identify(this.admin, Cns.Controller, 0));
    this.data = data;
    return data;
  }

  /** Set Features (NVMe Base 2.0 §5.27): resolves with CQE DW0/DW1. */
  async setFeatures(fid: number, cdw11: number, data?: Uint8Array, save = false): Promise<CommandResult> {
    return setFeatures(this.admin, fid, cdw11, data, save);
  }

  /** Get Features (NVMe Base 2.0 §5.15); `sel` 0 current, 1 default, 2 saved, 3 capabilities. */
  async getFeatures(fid: number, cdw11 = 0, sel = 0, data?: Uint8Array): Promise<CommandResult> {
    return getFeatures(this.admin, fid, cdw11, sel, data);
  }

  /**
   * Get Log Page (NVMe Base 2.0 §5.16) into `buf` (a multiple of 4 bytes), from byte `offset`
   * of the log; `rae` keeps the event that pointed at it pending.
   */
  async getLogPage(lid: number, buf: Uint8Array, offset = 0, nsid = 0xffffffff, rae = false): Promise<Uint8Array> {
    return getLogPage(this.admin, lid, buf, offset, nsid, rae);
  }

  /**
   * Sends an admin command as given: `sqe` is 64 bytes (CID and the data pointer are filled in),
   * `data` goes in the direction the opcode's low bits say. Rejects with NvmeCommandError.
   */
  async adminPassthrough(sqe: Uint8Array, data?: Uint8Array): Promise<PassthroughResult> {
    await this.whenReady();
    return passthrough(this.admin, sqe, data);
  }

  /** Sends an I/O command as given, on `qpair` or the default I/O qpair. */
  async ioPassthrough(sqe: Uint8Array, data?: Uint8Array, qpair?: QPair): Promise<PassthroughResult> {
    return passthrough(await this.ioQPair(qpair), sqe, data);
  }

  // ---- I/O qpairs ----

  private newIoQPair(queueSize: number): QPair {
    const used = new Set([...this.ioQPairs].map((q) => q.qid));
    let qid = 1;
    while (used.has(qid)) qid++;
    if (qid > this.maxIoQueues) throw new NvmeControllerStateError(`all ${this.maxIoQueues} I/O queues are in use`);
    const mqes = (this.cap?.mqes ?? 0xffff) + 1;
    const maxcmd = this.data?.maxcmd ?? 0;
    const size = Math.max(2, Math.min(queueSize, mqes, maxcmd === 0 ? Infinity : maxcmd));
    const qp = new QPair(this, qid, size);
    qp.timeoutTicks = this.opts.ioTimeoutMs > 0 ? Math.ceil(this.opts.ioTimeoutMs / this.tickMs) : 0;
    qp.maxTransferSize = this.maxTransferSize;
    this.ioQPairs.add(qp);
    return qp;
  }

  /** Opens `qp` on the current association: Create I/O CQ + SQ on pcie, a connection + Connect on fabrics. */
  private async connectIoQPair(qp: QPair): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) throw new NvmeCommandAbortedError('disconnected', undefined);
    if (this.pcie !== undefined) {
      await this.pcie.createIoQPair(this.admin, qp);
      return;
    }
    const ioccsz = this.data?.ioccsz ?? 4;
    const host = await transport.connectQPair({
      qid: qp.qid,
      queueSize: qp.queueSize,
      maxInCapsuleDataSize: Math.max(0, ioccsz * 16 - 64),
      handler: qp,
    });
    qp.attach(host);
    await fabricsConnect(qp, this.connectParams(this.cntlid, 0));
    qp.markConnected();
  }

  /**
   * Allocates an I/O qpair of `queueSize` entries (default: the controller option), clamped to
   * CAP.MQES + 1 and MAXCMD. Use it with the callback-style `submitRead`/`submitWrite` or pass it
   * to the Namespace methods.
   */
  async allocIoQPair(opts: { queueSize?: number } = {}): Promise<QPair> {
    await this.whenReady();
    if (this.isDiscovery) throw new NvmeControllerStateError('a discovery controller has no I/O queues');
    const qp = this.newIoQPair(opts.queueSize ?? this.opts.ioQueueSize);
    try {
      await this.connectIoQPair(qp);
    } catch (e) {
      this.ioQPairs.delete(qp);
      const h = qp.detach('closed');
      qp.markClosed();
      await h?.close();
      throw e;
    }
    return qp;
  }

  /**
   * Frees an I/O qpair: Fabrics Disconnect (NVMe Base 2.0 §6.4) then the connection closes; on
   * pcie, Delete I/O Submission Queue then Delete I/O Completion Queue (§5.6-5.7), then the
   * queue memory goes back.
   */
  async freeIoQPair(qp: QPair): Promise<void> {
    if (!this.ioQPairs.delete(qp)) return;
    if (qp === this.defaultQPair) this.defaultQPair = undefined;
    const pcie = this.pcie;
    if (qp.state === 'connected' && pcie === undefined) {
      try {
        await fabricsDisconnect(qp);
      } catch {
        // The connection is closed below either way.
      }
    }
    if (qp.state === 'connected' && pcie !== undefined && this.admin.state === 'connected') await pcie.deleteIoQPair(this.admin, qp.qid);
    const h = qp.detach('closed');
    qp.markClosed();
    await h?.close();
    pcie?.free(qp.qid);
  }

  /** @internal NamespaceOwner: the qpair for a promise I/O. */
  async ioQPair(qpair: QPair | undefined): Promise<QPair> {
    if (this.state !== 'ready') await this.whenReady();
    if (qpair !== undefined) return qpair;
    const d = this.defaultQPair;
    if (d === undefined) throw new NvmeControllerStateError('this controller has no default I/O qpair (defaultIoQPair: false); pass one');
    return d;
  }

  // ---- namespaces (ns-scan.ts) ----

  /**
   * Re-reads the namespace set: every active nsid, or only `changed` ones plus removals. Emits
   * namespaceAdded / namespaceRemoved / namespaceChanged and then namespacesChanged.
   */
  async scanNamespaces(changed: readonly number[] | undefined): Promise<void> {
    const any = await scanNamespaces(this.admin, this, this.nsMap, changed, {
      added: (ns) => this.emit('namespaceAdded', ns),
      removed: (ns) => this.emit('namespaceRemoved', ns),
      changed: (ns) => this.emit('namespaceChanged', ns),
    });
    if (any) this.emit('namespacesChanged', this.namespaces);
  }

  // ---- timers (events.ts) ----

  private startTimers(): void {
    this.clock.start();
    this.keepAlive.stop();
    if (this.opts.kato > 0 && (this.data?.kas ?? 1) !== 0 && !this.keepAliveRefused) this.keepAlive.start(this.opts.kato);
  }

  private stopTimers(): void {
    this.clock.stop();
    this.keepAlive.stop();
  }

  /** @internal QPairOwner. */
  qpairDisconnected(qp: QPair, error: Error | undefined): void {
    if (qp !== this.admin && !this.ioQPairs.has(qp)) return;
    if (this.state === 'ready') this.startReset('disconnected', error ?? new NvmeQPairError('disconnected', qp.qid));
  }

  /** @internal QPairOwner. */
  qpairTimedOut(qp: QPair): void {
    if (this.state === 'ready') this.startReset('timeout', new NvmeQPairError('timeout', qp.qid));
    // During bring-up the failed command fails the bring-up, which tears the connections down
    // (so a late CQE cannot meet a reused CID).
    else if (this.state === 'connecting' || this.state === 'resetting') qp.abortAll('timeout');
  }

  // ---- reset and reconnect (reconnect.ts) ----

  /**
   * Resets the controller: fails outstanding commands (NvmeCommandAbortedError 'reset'), closes
   * every connection, and brings the controller up again with the same I/O qpair objects.
   */
  async reset(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') throw new NvmeCommandAbortedError('closed', undefined);
    if (this.state === 'ready') this.startReset('reset', undefined, true);
    await this.resetTask;
    await this.whenReady();
  }

  private startReset(reason: AbortReason, cause: Error | undefined, manual = false): void {
    if (this.state !== 'ready') return;
    this.state = 'resetting';
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => undefined); // observed through whenReady(); never unhandled
    this.emit('resetting', cause);
    this.resetTask = this.runReset(reason, cause, manual);
  }

  /**
   * Tears down and brings up again. A failure-triggered reset retries per the `reconnect`
   * policy (none when it is false); a manual `reset()` always makes one attempt.
   */
  private async runReset(reason: AbortReason, cause: Error | undefined, manual: boolean): Promise<void> {
    this.stopTimers();
    await this.teardown(reason);
    const outcome = await reconnectPerPolicy(this.opts.reconnect, manual, cause, {
      stillResetting: () => this.state === 'resetting',
      attempt: async () => {
        this.clock.start();
        await this.bringUp();
      },
      undo: async () => {
        this.stopTimers();
        await this.teardown('reset');
      },
    });
    if (outcome === 'abandoned') return;
    if (outcome === 'ready') {
      this.state = 'ready';
      this.startTimers();
      this.readyResolve?.();
      this.emit('reset');
      return;
    }
    this.state = 'failed';
    for (const qp of this.ioQPairs) qp.wakeWaiters();
    this.readyReject?.(outcome);
    this.emit('failed', outcome);
  }

  /** Fails what is outstanding and closes every transport qpair and the association. */
  private async teardown(reason: AbortReason): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const qp of [this.admin, ...this.ioQPairs]) {
      const h = qp.detach(reason);
      if (h !== undefined) closing.push(h.close());
    }
    const t = this.transport;
    this.transport = undefined;
    await Promise.allSettled(closing);
    if (t !== undefined) await t.close().catch(() => undefined);
    this.pcie?.freeAll();
    this.pcie = undefined;
    this.registers = fabricsRegisters(this.admin);
  }

  // ---- shutdown and close ----

  /**
   * Shutdown notification (NVMe Base 2.0 §3.6.2): frees the I/O qpairs (Fabrics Disconnect),
   * sets CC.SHN = 01b and waits for CSTS.SHST = 10b (a 5 s bound, as Linux's shutdown_timeout).
   * The admin queue stays connected, so registers can still be read; `close()` ends it.
   * Rejects if the controller does not report the shutdown complete.
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.state !== 'ready' && this.state !== 'closing') throw new NvmeControllerStateError(`cannot shut down a controller that is ${this.state}`);
    this.stopTimers();
    this.shutdownNotified = true;
    for (const qp of [...this.ioQPairs]) await this.freeIoQPair(qp);
    await shutdownController(this.registers, timeoutMs);
  }

  /**
   * Clean shutdown (see {@link shutdown}, best effort), then every connection closed and all
   * outstanding commands failed with reason 'closed'. Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const wasReady = this.state === 'ready';
    this.state = 'closing';
    this.stopTimers();
    this.readyReject?.(new NvmeCommandAbortedError('closed', undefined));
    // Once per association, like SPDK's detach: a shutdown the application already asked for
    // (completed or timed out) is not repeated.
    if (wasReady && this.admin.state === 'connected' && !this.shutdownNotified) {
      try {
        await this.shutdown();
      } catch {
        // Shutdown is best effort: the connections go away next either way.
      }
    }
    for (const qp of [...this.ioQPairs]) await this.freeIoQPair(qp);
    await this.teardown('closed');
    this.admin.markClosed();
    for (const ns of this.nsMap.values()) ns.active = false;
    this.nsMap.clear();
    this.state = 'closed';
    this.emit('closed');
  }

  // ---- discovery ----

  /**
   * Reads the Discovery Log Page (NVMe Base 2.0 §5.16.1.23) the way libnvme does: the 1024-byte
   * header, then the entries by offset in 4 KiB pieces, then the header again; retries while
   * GENCTR changed in between. The result carries that GENCTR (and RECFMT).
   */
  async discoveryLog(maxRetries = 10): Promise<DiscoveryLog> {
    await this.whenReady();
    return readDiscoveryLog(this.admin, maxRetries);
  }
}
