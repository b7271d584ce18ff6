/**
 * The controller: bring-up, admin commands, keep-alive, asynchronous events, namespaces, I/O
 * qpairs, reset/reconnect and shutdown — written once for every transport (SPDK's
 * lib/nvme/nvme_ctrlr.c; Linux drivers/nvme/host/core.c + fabrics.c).
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
  type Cap,
  ConnectDataView,
  DISCOVERY_NQN,
  Register,
  ShutdownNotification,
  ShutdownStatus,
  decodeCap,
  decodeCc,
  decodeCsts,
  encodeCc,
} from '@nvmu/nvme-spec';
import { NvmeCommandAbortedError, NvmeCommandError, NvmeControllerStatusError, type AbortReason } from './errors.js';
import {
  type ControllerData,
  type DiscoveryLog,
  type DiscoveryLogEntry,
  parseDiscoveryEntry,
  parseDiscoveryHeader,
  withDiscoveryHeader,
  parseIdentifyController,
  parseIdentifyNamespace,
  parseNamespaceIds,
  parseNsidList,
  type NamespaceIds,
} from './identify.js';
import { Namespace, type NamespaceOwner } from './namespace.js';
import { type CommandResult, QPair, type QPairOwner, directionOf } from './qpair.js';
import type { HostDmaMemory, HostTransport, HostTransportFactory, TransportId } from './transport.js';
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

/** An Asynchronous Event Request completion (NVMe Base 2.0 §5.2, Figure 146). */
export interface AsyncEvent {
  /** Asynchronous Event Type (bits 2:0): 0 error, 1 SMART, 2 notice, 6 I/O command set, 7 vendor. */
  readonly type: number;
  /** Asynchronous Event Information (bits 15:8); for notices 0 = Namespace Attribute Changed. */
  readonly info: number;
  /** Log Page Identifier to read to clear the event (bits 23:16). */
  readonly lid: number;
  /** The whole DW0. */
  readonly dw0: number;
}

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
  reconnect: { delayMs: number; ctrlLossTimeoutMs: number } | false;
  defaultIoQPair: boolean;
}

// Admin opcodes (NVMe Base 2.0 Figure 138) and fabrics command types (NVMe-oF 1.1 Figure 20).
const ADM_DELETE_IO_SQ = 0x00;
const ADM_CREATE_IO_SQ = 0x01;
const ADM_GET_LOG_PAGE = 0x02;
const ADM_DELETE_IO_CQ = 0x04;
const ADM_CREATE_IO_CQ = 0x05;
const ADM_IDENTIFY = 0x06;
const ADM_SET_FEATURES = 0x09;
const ADM_GET_FEATURES = 0x0a;
const ADM_AER = 0x0c;
const ADM_KEEP_ALIVE = 0x18;
const FABRICS = 0x7f;
const FCT_PROPERTY_SET = 0x00;
const FCT_CONNECT = 0x01;
const FCT_PROPERTY_GET = 0x04;
const FCT_DISCONNECT = 0x08;
// Feature identifiers (NVMe Base 2.0 Figure 192).
const FID_NUMBER_OF_QUEUES = 0x07;
const FID_ASYNC_EVENT_CONFIG = 0x0b;
const FID_KEEP_ALIVE_TIMER = 0x0f;
/** AQA, ASQ, ACQ: admin queue attributes and base addresses (NVMe Base 2.0 Figure 33). */
const REG_AQA = 0x24;
const REG_ASQ = 0x28;
const REG_ACQ = 0x30;

/** The submission and completion queue memory of one pcie queue pair. */
interface QueueMemory {
  readonly sq: HostDmaMemory;
  readonly cq: HostDmaMemory;
}
// Identify CNS values (NVMe Base 2.0 Figure 273).
const CNS_NAMESPACE = 0x00;
const CNS_CONTROLLER = 0x01;
const CNS_ACTIVE_NS_LIST = 0x02;
const CNS_NS_ID_DESCRIPTORS = 0x03;
// Log pages (NVMe Base 2.0 Figure 202).
const LID_CHANGED_NS_LIST = 0x04;
const LID_DISCOVERY = 0x70;
/** OAES / Asynchronous Event Configuration bit 8: Namespace Attribute Notices. */
const AEN_NS_ATTRIBUTE = 1 << 8;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
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
  cntlid = 0xffff;
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
  private readonly admin: QPair;
  private readonly ioQPairs = new Set<QPair>();
  private defaultQPair: QPair | undefined;
  private readonly nsMap = new Map<number, Namespace>();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private keepAliveBusy = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;
  private ready: Promise<void> = Promise.resolve();
  private readyResolve: (() => void) | undefined;
  private readyReject: ((e: Error) => void) | undefined;
  private resetTask: Promise<void> | undefined;
  private aenChain: Promise<void> = Promise.resolve();
  /** pcie: queue memory by qid (0 = admin), freed with the queues. */
  private readonly queueMemory = new Map<number, QueueMemory>();
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
    const shortest = Math.min(opts.adminTimeoutMs, opts.ioTimeoutMs > 0 ? opts.ioTimeoutMs : Infinity);
    this.tickMs = Math.max(5, Math.min(1000, Math.floor(shortest / 10)));
    this.admin.timeoutTicks = Math.ceil(opts.adminTimeoutMs / this.tickMs);
  }

  /** True for a discovery controller (no I/O queues, no namespaces). */
  get isDiscovery(): boolean {
    return this.subnqn === DISCOVERY_NQN || this.data?.cntrltype === 2;
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
      this.startTickTimer();
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
    const pcie = transport.kind === 'pcie';
    if (pcie) {
      if (transport.readRegister32 === undefined || transport.readRegister64 === undefined || transport.writeRegister32 === undefined || transport.writeRegister64 === undefined || transport.allocDmaMemory === undefined) {
        throw new Error(`trtype ${this.trid.trtype}: a pcie transport must offer register access and allocDmaMemory`);
      }
    } else {
      // Admin queue: connection, then Connect asking for a dynamic controller (NVMe-oF 1.1 §3.3).
      this.admin.attach(
        await transport.connectQPair({ qid: 0, queueSize: this.admin.queueSize, maxInCapsuleDataSize: 8192, handler: this.admin }),
      );
      this.cntlid = await this.fabricsConnect(this.admin, 0xffff, this.opts.kato);
      this.admin.markConnected();
    }
    this.keepAliveRefused = false;
    this.shutdownNotified = false;

    // Registers through properties (NVMe-oF 1.1 §3.4-3.5; NVMe Base 2.0 §3.5.1 steps).
    const cap = await this.getProperty(Register.CAP, 8);
    this.capRaw = cap;
    this.cap = decodeCap(cap);
    this.vs = Number(await this.getProperty(Register.VS, 4));
    const cc = decodeCc(Number(await this.getProperty(Register.CC, 4)));
    // CAP.TO: worst-case time for CSTS.RDY to follow CC.EN, in 500 ms units (NVMe Base 2.0
    // Figure 36); 0 is read as one unit.
    const readyTimeoutMs = Math.max(1, this.cap.to) * 500;
    // Disable first when needed, in SPDK's order (nvme_ctrlr.c, DISABLE_WAIT_FOR_READY_1/0):
    // with CC.EN=1 and CSTS.RDY=0 the controller is still enabling, and clearing EN before RDY
    // is 1 has undefined results (NVMe Base 2.0 §3.7.2 CC.EN), so wait for RDY=1 first; with
    // CC.EN=0 and CSTS.RDY=1 a disable is still in progress, so wait for RDY=0.
    const rdy = decodeCsts(Number(await this.getProperty(Register.CSTS, 4))).rdy;
    if (cc.en) {
      if (!rdy) await this.waitCsts((v) => decodeCsts(v).rdy, readyTimeoutMs, 'CSTS.RDY=1 (before disabling)');
      await this.setProperty(Register.CC, BigInt(encodeCc({ ...cc, en: false })), 4);
      await this.waitCsts((v) => !decodeCsts(v).rdy, readyTimeoutMs, 'CSTS.RDY=0');
    } else if (rdy) {
      await this.waitCsts((v) => !decodeCsts(v).rdy, readyTimeoutMs, 'CSTS.RDY=0');
    }
    // CSS 0 (NVM command set), the smallest memory page the controller takes (CAP.MPSMIN, 4 KiB
    // on every fabric), 64-byte SQEs and 16-byte CQEs (2^6, 2^4).
    const mps = this.cap.mpsmin;
    let adminMemory: QueueMemory | undefined;
    if (pcie) {
      // PCIe admin queue (NVMe Base 2.0 §3.5.1 steps 3-4): memory, then AQA (sizes, 0's based),
      // ASQ and ACQ, all while the controller is disabled.
      adminMemory = await this.allocQueueMemory(transport, 0, this.admin.queueSize);
      const n = this.admin.queueSize - 1;
      await this.setProperty(REG_AQA, BigInt(((n << 16) | n) >>> 0), 4);
      await this.setProperty(REG_ASQ, adminMemory.sq.iova, 8);
      await this.setProperty(REG_ACQ, adminMemory.cq.iova, 8);
    }
    await this.setProperty(Register.CC, BigInt(encodeCc({ en: true, css: 0, mps, ams: 0, shn: 0, iosqes: 6, iocqes: 4 })), 4);
    await this.waitCsts((v) => decodeCsts(v).rdy, readyTimeoutMs, 'CSTS.RDY=1');
    if (adminMemory !== undefined) {
      // The transport starts using the admin doorbells now that the controller is ready.
      this.admin.attach(
        await transport.connectQPair({ qid: 0, queueSize: this.admin.queueSize, maxInCapsuleDataSize: 0, handler: this.admin, queueMemory: adminMemory }),
      );
      this.admin.markConnected();
    }

    const data = parseIdentifyController(await this.identify(CNS_CONTROLLER, 0));
    this.data = data;
    if (pcie) {
      this.cntlid = data.cntlid;
      // PCIe has no Connect to carry KATO: Set Features Keep Alive Timer (NVMe Base 2.0 §5.27.1.12).
      if (this.opts.kato > 0 && data.kas !== 0) {
        try {
          await this.setFeatures(FID_KEEP_ALIVE_TIMER, this.opts.kato);
        } catch (e) {
          if (!(e instanceof NvmeCommandError)) throw e;
          this.keepAliveRefused = true;
        }
      }
    }
    const pageSize = 2 ** (12 + this.cap.mpsmin);
    const mdtsBytes = data.mdts === 0 ? 0 : pageSize * 2 ** data.mdts;
    const tmax = transport.maxTransferSize;
    this.maxTransferSize = mdtsBytes === 0 ? tmax : tmax === 0 ? mdtsBytes : Math.min(mdtsBytes, tmax);
    for (const qp of this.ioQPairs) qp.maxTransferSize = this.maxTransferSize;

    if (this.isDiscovery) return;

    // Number of Queues (NVMe Base 2.0 §5.27.1.7): NSQR/NCQR 0's based; result NSQA/NCQA.
    const n = Math.max(1, this.opts.ioQueues);
    const r = await this.setFeatures(FID_NUMBER_OF_QUEUES, ((n - 1) << 16) | (n - 1));
    this.maxIoQueues = Math.min(r.dw0 & 0xffff, r.dw0 >>> 16) + 1;

    if ((data.oaes & AEN_NS_ATTRIBUTE) !== 0) {
      try {
        await this.setFeatures(FID_ASYNC_EVENT_CONFIG, AEN_NS_ATTRIBUTE);
      } catch (e) {
        if (!(e instanceof NvmeCommandError)) throw e;
      }
    }
    this.submitAer();

    // I/O qpairs: reconnect those the application holds (after a reset), or make the default.
    for (const qp of this.ioQPairs) await this.connectIoQPair(qp);
    if (this.opts.defaultIoQPair && this.defaultQPair === undefined) {
      this.defaultQPair = this.newIoQPair(this.opts.ioQueueSize);
      await this.connectIoQPair(this.defaultQPair);
    }
    await this.scanNamespaces(undefined);
  }

  /** Fabrics Connect on `qp` (NVMe-oF 1.1 §3.3, Figures 19-21); resolves with the cntlid. */
  private async fabricsConnect(qp: QPair, cntlid: number, kato: number): Promise<number> {
    const data = Buffer.alloc(1024);
    const cd = new ConnectDataView(data);
    cd.hostid = this.hostidBytes;
    cd.cntlid = cntlid;
    cd.subnqn = this.subnqn;
    cd.hostnqn = this.hostnqn;
    const r = await qp.execute(
      (sqe) => {
        sqe.opcode = FABRICS;
        sqe.fctype = FCT_CONNECT;
        sqe.cdw10 = (qp.qid << 16) >>> 0; // RECFMT 0 (bytes 41:40), QID (43:42)
        sqe.cdw11 = qp.queueSize - 1; // SQSIZE, 0's based (45:44); CATTR 0 (46)
        sqe.cdw12 = kato; // KATO in ms (51:48)
      },
      data,
      'h2c',
      { internal: true },
    );
    return r.dw0 & 0xffff;
  }

  /**
   * A controller register, 4 or 8 bytes at `offset`: Property Get (NVMe-oF 1.1 §3.4) on fabrics,
   * a BAR0 read on pcie.
   */
  async getProperty(offset: number, size: 4 | 8): Promise<bigint> {
    const t = this.transport;
    if (t?.kind === 'pcie' && t.readRegister32 !== undefined && t.readRegister64 !== undefined) {
      return size === 8 ? t.readRegister64(offset) : BigInt((await t.readRegister32(offset)) >>> 0);
    }
    const r = await this.admin.execute(
      (sqe) => {
        sqe.opcode = FABRICS;
        sqe.fctype = FCT_PROPERTY_GET;
        sqe.cdw10 = size === 8 ? 1 : 0; // ATTRIB (byte 40): size
        sqe.cdw11 = offset; // OFST (47:44)
      },
      undefined,
      'none',
      { internal: true },
    );
    return size === 8 ? (BigInt(r.dw1) << 32n) | BigInt(r.dw0) : BigInt(r.dw0);
  }

  /** Sets a controller register: Property Set (NVMe-oF 1.1 §3.5) on fabrics, a BAR0 write on pcie. */
  async setProperty(offset: number, value: bigint, size: 4 | 8): Promise<void> {
    const t = this.transport;
    if (t?.kind === 'pcie' && t.writeRegister32 !== undefined && t.writeRegister64 !== undefined) {
      if (size === 8) await t.writeRegister64(offset, value);
      else await t.writeRegister32(offset, Number(value & 0xffffffffn));
      return;
    }
    await this.admin.execute(
      (sqe) => {
        sqe.opcode = FABRICS;
        sqe.fctype = FCT_PROPERTY_SET;
        sqe.cdw10 = size === 8 ? 1 : 0;
        sqe.cdw11 = offset;
        sqe.cdw12 = Number(value & 0xffffffffn); // VALUE (55:48)
        sqe.cdw13 = Number((value >> 32n) & 0xffffffffn);
      },
      undefined,
      'none',
      { internal: true },
    );
  }

  /**
   * Polls CSTS until `ok`, backing off from 1 ms to 100 ms, up to `timeoutMs`; rejects with a
   * {@link NvmeControllerStatusError} on CSTS.CFS or when time is up.
   */
  private async waitCsts(ok: (csts: number) => boolean, timeoutMs: number, what: string): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let delay = 1;
    for (;;) {
      const v = Number(await this.getProperty(Register.CSTS, 4));
      if (decodeCsts(v).cfs) throw new NvmeControllerStatusError('fatal', what, v, timeoutMs);
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new NvmeControllerStatusError('timeout', what, v, timeoutMs);
      await sleep(delay);
      delay = Math.min(100, delay * 2);
    }
  }

  // ---- admin commands ----

  /** Identify (NVMe Base 2.0 §5.17): 4096 bytes for `cns` / `nsid`. */
  async identify(cns: number, nsid: number, cntid = 0): Promise<Uint8Array> {
    const buf = Buffer.alloc(4096);
    await this.admin.execute(
      (sqe) => {
        sqe.opcode = ADM_IDENTIFY;
        sqe.nsid = nsid;
        sqe.cdw10 = (cns | (cntid << 16)) >>> 0;
      },
      buf,
      'c2h',
    );
    return buf;
  }

  /** Identify Controller, fetched again and decoded (also updates `data`). */
  async identifyController(): Promise<ControllerData> {
    await this.whenReady();
    const data = parseIdentifyController(await this.identify(CNS_CONTROLLER, 0));
    this.data = data;
    return data;
  }

  /** Set Features (NVMe Base 2.0 §5.27): resolves with CQE DW0/DW1. */
  async setFeatures(fid: number, cdw11: number, data?: Uint8Array, save = false): Promise<CommandResult> {
    return this.admin.execute(
      (sqe) => {
        sqe.opcode = ADM_SET_FEATURES;
        sqe.cdw10 = (fid | (save ? 1 << 31 : 0)) >>> 0;
        sqe.cdw11 = cdw11 >>> 0;
      },
      data,
      data === undefined ? 'none' : 'h2c',
    );
  }

  /** Get Features (NVMe Base 2.0 §5.15); `sel` 0 current, 1 default, 2 saved, 3 capabilities. */
  async getFeatures(fid: number, cdw11 = 0, sel = 0, data?: Uint8Array): Promise<CommandResult> {
    return this.admin.execute(
      (sqe) => {
        sqe.opcode = ADM_GET_FEATURES;
        sqe.cdw10 = (fid | (sel << 8)) >>> 0;
        sqe.cdw11 = cdw11 >>> 0;
      },
      data,
      data === undefined ? 'none' : 'c2h',
    );
  }

  /**
   * Get Log Page (NVMe Base 2.0 §5.16) into `buf` (a multiple of 4 bytes), from byte `offset`
   * of the log; `rae` keeps the event that pointed at it pending.
   */
  async getLogPage(lid: number, buf: Uint8Array, offset = 0, nsid = 0xffffffff, rae = false): Promise<Uint8Array> {
    if (buf.byteLength === 0 || buf.byteLength % 4 !== 0) throw new RangeError('log page buffer must be a non-empty multiple of 4 bytes');
    const numd = buf.byteLength / 4 - 1; // 0's based dwords
    await this.admin.execute(
      (sqe) => {
        sqe.opcode = ADM_GET_LOG_PAGE;
        sqe.nsid = nsid;
        sqe.cdw10 = (lid | (rae ? 1 << 15 : 0) | ((numd & 0xffff) << 16)) >>> 0; // LID, RAE, NUMDL
        sqe.cdw11 = numd >>> 16; // NUMDU
        sqe.cdw12 = offset % 0x1_0000_0000; // LPOL
        sqe.cdw13 = Math.floor(offset / 0x1_0000_0000); // LPOU
      },
      buf,
      'c2h',
    );
    return buf;
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
    if (qid > this.maxIoQueues) throw new Error(`all ${this.maxIoQueues} I/O queues are in use`);
    const mqes = (this.cap?.mqes ?? 0xffff) + 1;
    const maxcmd = this.data?.maxcmd ?? 0;
    const size = Math.max(2, Math.min(queueSize, mqes, maxcmd === 0 ? Infinity : maxcmd));
    const qp = new QPair(this, qid, size);
    qp.timeoutTicks = this.opts.ioTimeoutMs > 0 ? Math.ceil(this.opts.ioTimeoutMs / this.tickMs) : 0;
    qp.maxTransferSize = this.maxTransferSize;
    this.ioQPairs.add(qp);
    return qp;
  }

  private async connectIoQPair(qp: QPair): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) throw new NvmeCommandAbortedError('disconnected', undefined);
    if (transport.kind === 'pcie') {
      await this.createPcieIoQPair(transport, qp);
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
    await this.fabricsConnect(qp, this.cntlid, 0);
    qp.markConnected();
  }

  /**
   * PCIe I/O queue creation (NVMe Base 2.0 §3.5.1 step 8, §5.4-5.5): queue memory, Create I/O
   * Completion Queue, Create I/O Submission Queue bound to it (same qid, physically contiguous),
   * then the transport's doorbells.
   */
  private async createPcieIoQPair(transport: HostTransport, qp: QPair): Promise<void> {
    const mem = await this.allocQueueMemory(transport, qp.qid, qp.queueSize);
    const qsizeQid = (((qp.queueSize - 1) << 16) | qp.qid) >>> 0; // QSIZE 0's based (31:16), QID (15:0)
    try {
      await this.admin.execute((sqe) => {
        sqe.opcode = ADM_CREATE_IO_CQ;
        sqe.prp1Big = mem.cq.iova;
        sqe.cdw10 = qsizeQid;
        sqe.cdw11 = ((qp.qid << 16) | 0b11) >>> 0; // IV = qid (31:16), IEN (1), PC (0)
      });
      await this.admin.execute((sqe) => {
        sqe.opcode = ADM_CREATE_IO_SQ;
        sqe.prp1Big = mem.sq.iova;
        sqe.cdw10 = qsizeQid;
        sqe.cdw11 = ((qp.qid << 16) | 0b1) >>> 0; // CQID (31:16), QPRIO 0, PC (0)
      });
      qp.attach(await transport.connectQPair({ qid: qp.qid, queueSize: qp.queueSize, maxInCapsuleDataSize: 0, handler: qp, queueMemory: mem }));
      qp.markConnected();
    } catch (e) {
      this.freeQueueMemory(qp.qid);
      throw e;
    }
  }

  /** pcie: SQ (64-byte entries) and CQ (16-byte entries) memory, page aligned (CAP.MPSMIN). */
  private async allocQueueMemory(transport: HostTransport, qid: number, entries: number): Promise<QueueMemory> {
    if (transport.allocDmaMemory === undefined) throw new Error(`trtype ${this.trid.trtype}: no allocDmaMemory`);
    this.freeQueueMemory(qid);
    const page = 2 ** (12 + (this.cap?.mpsmin ?? 0));
    const round = (n: number): number => Math.ceil(n / page) * page;
    const sq = await transport.allocDmaMemory(round(entries * 64), page);
    let cq: HostDmaMemory;
    try {
      cq = await transport.allocDmaMemory(round(entries * 16), page);
    } catch (e) {
      sq.free();
      throw e;
    }
    const mem = { sq, cq };
    this.queueMemory.set(qid, mem);
    return mem;
  }

  private freeQueueMemory(qid: number): void {
    const mem = this.queueMemory.get(qid);
    if (mem === undefined) return;
    this.queueMemory.delete(qid);
    mem.sq.free();
    mem.cq.free();
  }

  /**
   * Allocates an I/O qpair of `queueSize` entries (default: the controller option), clamped to
   * CAP.MQES + 1 and MAXCMD. Use it with the callback-style `submitRead`/`submitWrite` or pass it
   * to the Namespace methods.
   */
  async allocIoQPair(opts: { queueSize?: number } = {}): Promise<QPair> {
    await this.whenReady();
    if (this.isDiscovery) throw new Error('a discovery controller has no I/O queues');
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
    const pcie = this.transport?.kind === 'pcie';
    if (qp.state === 'connected' && !pcie) {
      try {
        await qp.execute((sqe) => {
          sqe.opcode = FABRICS;
          sqe.fctype = FCT_DISCONNECT;
        });
      } catch {
        // The connection is closed below either way.
      }
    }
    if (qp.state === 'connected' && pcie && this.admin.state === 'connected') {
      for (const opcode of [ADM_DELETE_IO_SQ, ADM_DELETE_IO_CQ]) {
        try {
          await this.admin.execute((sqe) => {
            sqe.opcode = opcode;
            sqe.cdw10 = qp.qid;
          });
        } catch {
          // The queue goes away with the controller's next reset either way.
        }
      }
    }
    const h = qp.detach('closed');
    qp.markClosed();
    await h?.close();
    this.freeQueueMemory(qp.qid);
  }

  /** @internal NamespaceOwner: the qpair for a promise I/O. */
  async ioQPair(qpair: QPair | undefined): Promise<QPair> {
    if (this.state !== 'ready') await this.whenReady();
    if (qpair !== undefined) return qpair;
    const d = this.defaultQPair;
    if (d === undefined) throw new Error('this controller has no default I/O qpair (defaultIoQPair: false); pass one');
    return d;
  }

  // ---- namespaces ----

  /** Active nsids, by Identify CNS 02h pages of up to 1024 (NVMe Base 2.0 §5.17.2.2). */
  private async activeNsids(): Promise<number[]> {
    const all: number[] = [];
    let from = 0;
    for (;;) {
      const page = parseNsidList(await this.identify(CNS_ACTIVE_NS_LIST, from));
      all.push(...page);
      const last = page.at(-1);
      if (page.length < 1024 || last === undefined || last >= 0xfffffffe) return all;
      from = last;
    }
  }

  /** Identify CNS 03h; a controller that does not support it gives no identifiers. */
  private async namespaceIds(nsid: number): Promise<NamespaceIds> {
    try {
      return parseNamespaceIds(await this.identify(CNS_NS_ID_DESCRIPTORS, nsid));
    } catch (e) {
      if (e instanceof NvmeCommandError) return {};
      throw e;
    }
  }

  /**
   * Re-reads the namespace set: every active nsid, or only `changed` ones plus removals. Emits
   * namespaceAdded / namespaceRemoved / namespaceChanged and then namespacesChanged.
   */
  async scanNamespaces(changed: readonly number[] | undefined): Promise<void> {
    const active = new Set(await this.activeNsids());
    let any = false;
    for (const [nsid, ns] of this.nsMap) {
      if (!active.has(nsid)) {
        this.nsMap.delete(nsid);
        ns.active = false;
        any = true;
        this.emit('namespaceRemoved', ns);
      }
    }
    for (const nsid of active) {
      const existing = this.nsMap.get(nsid);
      if (existing !== undefined && changed !== undefined && !changed.includes(nsid)) continue;
      const data = parseIdentifyNamespace(await this.identify(CNS_NAMESPACE, nsid));
      const ids = await this.namespaceIds(nsid);
      if (existing === undefined) {
        const ns = new Namespace(this, nsid, data);
        ns.ids = ids;
        this.nsMap.set(nsid, ns);
        any = true;
        this.emit('namespaceAdded', ns);
      } else {
        existing.ids = ids;
        if (existing.update(data)) {
          any = true;
          this.emit('namespaceChanged', existing);
        }
      }
    }
    if (any) this.emit('namespacesChanged', this.namespaces);
  }

  // ---- asynchronous events (NVMe Base 2.0 §5.2) ----

  private submitAer(): void {
    this.admin
      .execute(
        (sqe) => {
          sqe.opcode = ADM_AER;
        },
        undefined,
        'none',
        { noTimeout: true },
      )
      .then(
        (r) => {
          this.onAen(r.dw0);
        },
        () => {
          // Aborted by a reset or close, or refused: a new bring-up submits a fresh one.
        },
      );
  }

  private onAen(dw0: number): void {
    const event: AsyncEvent = { type: dw0 & 0x7, info: (dw0 >>> 8) & 0xff, lid: (dw0 >>> 16) & 0xff, dw0 };
    this.emit('asyncEvent', event);
    if (this.state !== 'ready' && this.state !== 'resetting') return;
    this.submitAer();
    // Handle events one after another, so scans do not interleave.
    this.aenChain = this.aenChain.then(() => this.handleAen(event)).catch(() => undefined);
  }

  private async handleAen(event: AsyncEvent): Promise<void> {
    if (this.state !== 'ready') return;
    if (event.type === 2 && event.info === 0) {
      // Namespace Attribute Changed: reading the Changed Namespace List clears it (§5.16.1.5).
      const list = parseNsidList(await this.getLogPage(LID_CHANGED_NS_LIST, Buffer.alloc(4096)));
      // FFFFFFFFh first means more than 1024 changed: rescan everything.
      await this.scanNamespaces(list[0] === 0xffffffff ? undefined : list);
    } else if (event.lid !== 0) {
      // Read the log page the event names, which re-arms the event (RAE 0).
      await this.getLogPage(event.lid, Buffer.alloc(512)).catch(() => undefined);
    }
  }

  // ---- keep-alive and timeouts ----

  /** The command-timeout clock; runs during bring-up too, so a silent target fails it. */
  private startTickTimer(): void {
    if (this.tickTimer !== undefined) return;
    this.tickTimer = setInterval(() => {
      this.admin.checkTimeouts();
      for (const qp of this.ioQPairs) qp.checkTimeouts();
    }, this.tickMs);
    this.tickTimer.unref();
  }

  private startTimers(): void {
    this.startTickTimer();
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    const kato = this.opts.kato;
    if (kato > 0 && (this.data?.kas ?? 1) !== 0 && !this.keepAliveRefused) {
      // Linux and SPDK send Keep Alive at half the timeout (NVMe Base 2.0 §3.9).
      this.keepAliveTimer = setInterval(() => {
        this.sendKeepAlive();
      }, Math.max(1, Math.floor(kato / 2)));
      this.keepAliveTimer.unref();
    }
  }

  private stopTimers(): void {
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.tickTimer = undefined;
    this.keepAliveTimer = undefined;
  }

  private sendKeepAlive(): void {
    if (this.keepAliveBusy || this.state !== 'ready') return;
    this.keepAliveBusy = true;
    this.admin
      .execute((sqe) => {
        sqe.opcode = ADM_KEEP_ALIVE;
      })
      .then(
        () => {
          this.keepAliveBusy = false;
        },
        (e: unknown) => {
          this.keepAliveBusy = false;
          if (e instanceof NvmeCommandError) this.startReset('reset', e);
        },
      );
  }

  /** @internal QPairOwner. */
  qpairDisconnected(qp: QPair, error: Error | undefined): void {
    if (qp !== this.admin && !this.ioQPairs.has(qp)) return;
    if (this.state === 'ready') this.startReset('disconnected', error ?? new Error(`qpair ${qp.qid} disconnected`));
  }

  /** @internal QPairOwner. */
  qpairTimedOut(qp: QPair): void {
    if (this.state === 'ready') this.startReset('timeout', new Error(`a command on qpair ${qp.qid} timed out`));
    // During bring-up the failed command fails the bring-up, which tears the connections down
    // (so a late CQE cannot meet a reused CID).
    else if (this.state === 'connecting' || this.state === 'resetting') qp.abortAll('timeout');
  }

  // ---- reset and reconnect ----

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
    const policy = this.opts.reconnect;
    const deadline = Date.now() + (policy === false ? 0 : policy.ctrlLossTimeoutMs);
    const maxAttempts = policy === false ? (manual ? 1 : 0) : Infinity;
    let lastError: Error = cause ?? new Error('controller reset');
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (this.state !== 'resetting') return; // closed meanwhile
      try {
        this.startTickTimer();
        await this.bringUp();
        if ((this.state as ControllerState) !== 'resetting') return;
        this.state = 'ready';
        this.startTimers();
        this.readyResolve?.();
        this.emit('reset');
        return;
      } catch (e) {
        lastError = toError(e);
        this.stopTimers();
        await this.teardown('reset');
      }
      if (policy === false || Date.now() + policy.delayMs > deadline) break;
      await sleep(policy.delayMs);
    }
    if ((this.state) !== 'resetting') return;
    this.state = 'failed';
    for (const qp of this.ioQPairs) qp.wakeWaiters();
    this.readyReject?.(lastError);
    this.emit('failed', lastError);
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
    for (const qid of [...this.queueMemory.keys()]) this.freeQueueMemory(qid);
  }

  // ---- shutdown ----

  /**
   * Shutdown notification (NVMe Base 2.0 §3.6.2): frees the I/O qpairs (Fabrics Disconnect),
   * sets CC.SHN = 01b and waits for CSTS.SHST = 10b (a 5 s bound, as Linux's shutdown_timeout).
   * The admin queue stays connected, so registers can still be read; `close()` ends it.
   * Rejects if the controller does not report the shutdown complete.
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.state !== 'ready' && this.state !== 'closing') throw new Error(`cannot shut down a controller that is ${this.state}`);
    this.stopTimers();
    this.shutdownNotified = true;
    for (const qp of [...this.ioQPairs]) await this.freeIoQPair(qp);
    const cc = decodeCc(Number(await this.getProperty(Register.CC, 4)));
    await this.setProperty(Register.CC, BigInt(encodeCc({ ...cc, shn: ShutdownNotification.Normal })), 4);
    await this.waitCsts((v) => decodeCsts(v).shst === ShutdownStatus.Complete, timeoutMs, 'CSTS.SHST=10b');
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
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const header = parseDiscoveryHeader(await this.getLogPage(LID_DISCOVERY, Buffer.alloc(1024), 0, 0));
      const total = header.numrec * 1024;
      const log = Buffer.alloc(total);
      for (let off = 0; off < total; off += 4096) {
        const len = Math.min(4096, total - off);
        await this.getLogPage(LID_DISCOVERY, log.subarray(off, off + len), 1024 + off, 0);
      }
      const again = parseDiscoveryHeader(await this.getLogPage(LID_DISCOVERY, Buffer.alloc(1024), 0, 0));
      if (again.genctr !== header.genctr || again.numrec !== header.numrec) continue;
      const entries: DiscoveryLogEntry[] = [];
      for (let i = 0; i < header.numrec; i++) entries.push(parseDiscoveryEntry(log, i * 1024));
      return withDiscoveryHeader(entries, again);
    }
    throw new Error(`discovery log kept changing over ${maxRetries + 1} reads`);
  }
}

function passthrough(qp: QPair, sqe: Uint8Array, data: Uint8Array | undefined): Promise<PassthroughResult> {
  if (sqe.byteLength !== 64) return Promise.reject(new RangeError(`an SQE is 64 bytes, got ${sqe.byteLength}`));
  const op = sqe[0] ?? 0;
  const dir = data === undefined ? 'none' : directionOf(op === FABRICS ? (sqe[4] ?? 0) : op);
  return qp.execute(
    (s) => {
      s.buf.set(sqe, s.offset);
      // The transport owns the data pointer and PSDT.
      s.buf.fill(0, s.offset + 24, s.offset + 40);
      s.psdt = 0;
    },
    data,
    dir,
  );
}
