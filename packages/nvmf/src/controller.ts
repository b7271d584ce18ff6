/**
 * A controller: what one host sees after an admin-queue Connect (NVMe-oF 1.1 §3.3, dynamic or
 * static model). Holds the registers (CAP, VS, CC, CSTS, AQA, ASQ, ACQ, INTMS), features,
 * Asynchronous Event Requests and their masks, the Error Information and Changed Namespace logs,
 * the keep-alive timer, and its qpairs indexed by qid.
 */
import { AdminOpcode, ShutdownStatus, decodeCc, decodeCsts, encodeCsts, type Csts } from '@nvmu/nvme-spec';
import { IoCounters } from './io-stats.js';
import type { Namespace } from './namespace.js';
import type { CoreQPair, CoreRequest, QPairOwner } from './qpair.js';
import type { QPairCloseReason, TargetTransport, TransportLogger } from './transport.js';
import { CommandStatus } from './status.js';

/** What a controller needs from its subsystem (implemented by Subsystem; declared here to keep the module graph acyclic). */
export interface ControllerSubsystem {
  readonly nqn: string;
  readonly kind: 'nvm' | 'discovery';
  readonly serial: string;
  readonly model: string;
  readonly firmwareRevision: string;
  readonly maxNamespaces: number;
  /** Controller ID model: 'static' sets Identify FCATT bit 0. */
  readonly cntlidModel: 'dynamic' | 'static';
  readonly namespaces: ReadonlyMap<number, Namespace>;
  /** ANA reporting on: Identify CMIC bit 3, log page 0Ch. */
  readonly anaReporting: boolean;
  /** ANA group id → state code (1 optimized, 2 non-optimized, 3 inaccessible, 4 persistent loss, 0Fh change). */
  readonly anaGroups: ReadonlyMap<number, number>;
  /** Change count of the ANA log (NVMe Base 2.0 §5.16.1.13). */
  readonly anaChangeCount: number;
  controllerDestroyed(ctrlr: Controller): void;
  /** 'paused' queues I/O (see Subsystem.pause). */
  readonly state: 'inactive' | 'active' | 'paused';
  queueWhilePaused(req: CoreRequest): void;
  /** Remove a command queued while paused (Abort); true when it was there. */
  unqueue(req: CoreRequest): boolean;
  /** In-flight I/O accounting for pause. */
  ioStart(req: CoreRequest): void;
  ioDone(req: CoreRequest): void;
}

/** Async event types (NVMe Base 2.0 Figure 150) and the notices this core raises. */
export const AsyncEvent = {
  /** Notice: Namespace Attribute Changed (info 00h, log 04h). */
  NamespaceAttributeChanged: 0x02 | (0x00 << 8) | (0x04 << 16),
  /** Notice: Asymmetric Namespace Access Change (info 03h, log 0Ch). */
  AnaChange: 0x02 | (0x03 << 8) | (0x0c << 16),
  /** Notice: Discovery Log Page Change (info F0h, log 70h). */
  DiscoveryLogChange: 0x02 | (0xf0 << 8) | (0x70 << 16),
} as const;

/** Async Event Configuration bits (Set Features FID 0Bh, NVMe Base 2.0 Figure 313). */
export const AecBit = {
  NamespaceAttribute: 1 << 8,
  AnaChange: 1 << 11,
  DiscoveryLogChange: 1 << 31,
} as const;

/** One Error Information log entry (NVMe Base 2.0 Figure 206). */
export interface ErrorLogEntry {
  errorCount: number;
  sqid: number;
  cid: number;
  /** Packed 15-bit status. */
  status: number;
  nsid: number;
  lba: number;
  opcode: number;
}

export interface ControllerInit {
  cntlid: number;
  subsystem: ControllerSubsystem;
  hostnqn: string;
  hostid: Uint8Array;
  /** Keep-alive timeout in ms from Connect (0 = disabled). */
  kato: number;
  transport: TargetTransport;
  logger: TransportLogger;
}

/** Limits this core advertises (Identify Controller). */
export const CTRLR_LIMITS = {
  /** Asynchronous Event Request Limit, 0's based: 4 outstanding AERs. */
  aerl: 3,
  /** Error Log Page Entries, 0's based: 16 entries. */
  elpe: 15,
  /** Keep Alive Support granularity in 100 ms units (1 s, as Linux nvmet). */
  kas: 10,
  /** Most namespaces listed in the Changed Namespace List log before it says "more" (FFFFFFFFh). */
  changedNsMax: 1024,
  /** CAP.TO in 500 ms units: how long the host waits for CSTS.RDY. */
  capTimeout: 15,
  /** Keep-alive timeout (ms) of a discovery controller connected with KATO 0 (2 minutes). */
  discoveryKato: 120_000,
} as const;

/** NVMe version reported in VS and Identify VER: 1.4.0. */
export const NVME_VERSION = 0x00010400;

export type ControllerState = 'live' | 'destroyed';

export class Controller implements QPairOwner {
  readonly cntlid: number;
  readonly subsystem: ControllerSubsystem;
  readonly hostnqn: string;
  readonly hostid: Uint8Array;
  readonly transport: TargetTransport;
  readonly logger: TransportLogger;
  state: ControllerState = 'live';

  // ---- registers (NVMe Base 2.0 §3.1.3) ----
  readonly cap: bigint;
  readonly vs = NVME_VERSION;
  cc = 0;
  csts = 0;
  intms = 0;
  aqa = 0;
  asq = 0n;
  acq = 0n;

  // ---- features (current values; defaults restored on reset) ----
  kato: number;
  arbitration = 0;
  powerManagement = 0;
  errorRecovery = 0;
  volatileWriteCacheEnabled = true;
  interruptCoalescing = 0;
  writeAtomicity = 0;
  asyncEventConfig = 0;
  readonly temperatureThresholds = new Map<number, number>();
  readonly interruptVectorConfig = new Map<number, number>();
  /** I/O queues granted by Set Features Number of Queues (NSQA+1 == NCQA+1); default: all the transport serves. */
  ioQueuesGranted: number;
  /** Set once Number of Queues was set (may be set only once per enable, NVMe Base 2.0 §5.27.1.7). */
  numQueuesSet = false;

  // ---- queues ----
  /** qpairs by qid; [0] is the admin queue. */
  readonly qpairs: (CoreQPair | undefined)[] = [];

  // ---- asynchronous events ----
  /** Outstanding Asynchronous Event Requests, oldest first. */
  readonly aers: CoreRequest[] = [];
  /** Events raised while no AER was outstanding (CQE DW0 values). */
  readonly pendingEvents: number[] = [];
  /** Log page ids whose notice was reported and not yet cleared by reading that log (masking). */
  readonly maskedLogs = new Set<number>();
  /** Changed Namespace List (log 04h): sorted nsids; `changedNsOverflow` = more than 1024. */
  changedNs: number[] = [];
  changedNsOverflow = false;

  // ---- logs and statistics ----
  errorCount = 0;
  readonly errorLog: ErrorLogEntry[] = [];
  /** Bytes read / written and commands (for the SMART log's data units and command counts). */
  bytesRead = 0;
  bytesWritten = 0;
  readCommands = 0;
  writeCommands = 0;
  readonly createdAt = Date.now();
  /** I/O counts of this controller's qpairs that have disconnected. */
  private readonly closedQPairsIo = new IoCounters();
  /** Largest data transfer of one command in bytes (MDTS). */
  readonly maxTransferBytes: number;

  // ---- keep alive (NVMe Base 2.0 §3.9) ----
  private lastKeepAlive = Date.now();
  private kaTimer: NodeJS.Timeout | undefined;

  constructor(init: ControllerInit) {
    this.cntlid = init.cntlid;
    this.subsystem = init.subsystem;
    this.hostnqn = init.hostnqn;
    this.hostid = Uint8Array.from(init.hostid);
    // A discovery controller connected with KATO 0 still times out after 2 minutes (NVMe Base 2.0
    // §3.9.4 / NVMe-oF 1.1 §5: the discovery controller's default activity timeout; SPDK's
    // NVMF_DISC_KATO_IN_MS and Linux nvmet's NVMET_DISC_KATO_MS), so a host that vanishes does not
    // leave it behind forever.
    this.kato = init.kato === 0 && init.subsystem.kind === 'discovery' ? CTRLR_LIMITS.discoveryKato : init.kato;
    this.transport = init.transport;
    this.logger = init.logger;
    const opts = init.transport.options;
    this.ioQueuesGranted = init.subsystem.kind === 'discovery' ? 0 : Math.max(1, opts.maxIoQueues);
    this.maxTransferBytes = 4096 * 2 ** mdtsFor(opts.maxIoSize);
    this.cap = makeCap(init.subsystem.kind === 'discovery' ? opts.maxAdminQueueDepth : opts.maxQueueDepth);
    this.startKeepAlive();
  }

  get isDiscovery(): boolean {
    return this.subsystem.kind === 'discovery';
  }

  /** CSTS.RDY. */
  get ready(): boolean {
    return (this.csts & 1) === 1;
  }

  get adminQPair(): CoreQPair | undefined {
    return this.qpairs[0];
  }

  /** I/O statistics of this controller: its qpairs' that have gone plus its live ones'. */
  ioStats(): IoCounters {
    const sum = new IoCounters().add(this.closedQPairsIo);
    for (const qp of this.qpairs) if (qp !== undefined) sum.add(qp.io);
    return sum;
  }

  /** Attach a connected qpair under `qid`. */
  addQPair(qp: CoreQPair, qid: number): void {
    this.qpairs[qid] = qp;
  }

  /** Number of I/O qpairs connected. */
  get ioQPairCount(): number {
    let n = 0;
    for (let i = 1; i < this.qpairs.length; i++) if (this.qpairs[i] !== undefined) n++;
    return n;
  }

  // ---- QPairOwner ----

  qpairDisconnected(qp: CoreQPair): void {
    if (this.qpairs[qp.qid] === qp) this.qpairs[qp.qid] = undefined;
    this.closedQPairsIo.add(qp.io);
    if (qp.qid === 0) this.destroy('controller-destroyed');
  }

  recordError(qp: CoreQPair, req: CoreRequest, status: number): void {
    // Aborts of AERs and of queued commands are not errors of the command (Linux nvmet does the same).
    if (req.opcode === AdminOpcode.AsyncEventRequest && qp.qid === 0) return;
    this.errorCount++;
    const sqe = req.sqe;
    const entry: ErrorLogEntry = {
      errorCount: this.errorCount,
      sqid: qp.qid < 0 ? 0 : qp.qid,
      cid: sqe.cid,
      status,
      nsid: sqe.nsid,
      lba: qp.qid > 0 ? sqe.slba : 0,
      opcode: req.opcode,
    };
    this.errorLog.unshift(entry);
    if (this.errorLog.length > CTRLR_LIMITS.elpe + 1) this.errorLog.length = CTRLR_LIMITS.elpe + 1;
  }

  // ---- registers ----

  /**
   * A write to CC (NVMe Base 2.0 §3.1.3.5 and §3.5): EN 0→1 validates and sets CSTS.RDY; EN 1→0
   * resets the controller (I/O queues deleted, AERs aborted, features to defaults); SHN starts a
   * shutdown (flush, then CSTS.SHST = complete). `flushAll` makes the data durable.
   */
  writeCc(value: number, flushAll: () => Promise<void>): void {
    const before = decodeCc(this.cc);
    const cc = decodeCc(value);
    this.cc = value >>> 0;
    if (!before.en && cc.en) {
      // Fabrics and this core: NVM command set only (CAP.CSS bit 0), 4 KiB pages (CAP.MPSMIN =
      // MPSMAX = 0), round robin arbitration only (CAP.AMS = 0), 64-byte SQEs and 16-byte CQEs.
      // Anything else sets CSTS.CFS, as Linux nvmet's nvmet_start_ctrl; IOSQES/IOCQES are not
      // checked on a discovery controller (nvmet does not either: hosts leave them 0 there).
      const ok = cc.css === 0 && cc.mps === 0 && cc.ams === 0 && (this.isDiscovery || (cc.iosqes === 6 && cc.iocqes === 4));
      if (ok) {
        this.setCsts({ rdy: true, shst: ShutdownStatus.Normal });
        // The keep-alive timeout counts from enable (nvmet restarts its timer here too); a
        // shutdown stopped the timer, so an enable after it starts the timer again.
        this.touchKeepAlive();
        if (this.kaTimer === undefined) this.startKeepAlive();
      } else this.setCsts({ cfs: true });
    } else if (before.en && !cc.en) {
      this.reset('controller-reset');
      this.cc = value >>> 0;
    }
    if (cc.shn !== 0 && before.shn === 0) {
      this.setCsts({ shst: ShutdownStatus.Occurring });
      this.stopKeepAlive();
      for (let qid = 1; qid < this.qpairs.length; qid++) this.qpairs[qid]?.close('controller-reset');
      void flushAll().finally(() => {
        if (this.state === 'live') this.setCsts({ shst: ShutdownStatus.Complete });
      });
    }
  }

  /** Changes the CSTS fields in `fields`, keeping the others. */
  private setCsts(fields: Partial<Csts>): void {
    this.csts = encodeCsts({ ...decodeCsts(this.csts), ...fields });
  }

  /**
   * Controller Level Reset (NVMe Base 2.0 §3.7.2): delete I/O queues, abort outstanding
   * commands on the admin queue (AERs), restore feature defaults, clear CSTS.
   */
  reset(reason: QPairCloseReason): void {
    for (let qid = 1; qid < this.qpairs.length; qid++) this.qpairs[qid]?.close(reason);
    this.abortAers(CommandStatus.AbortedSqDeletion);
    this.pendingEvents.length = 0;
    this.maskedLogs.clear();
    this.csts = 0;
    this.cc = 0;
    this.arbitration = 0;
    this.powerManagement = 0;
    this.errorRecovery = 0;
    this.volatileWriteCacheEnabled = true;
    this.interruptCoalescing = 0;
    this.writeAtomicity = 0;
    this.asyncEventConfig = 0;
    this.temperatureThresholds.clear();
    this.interruptVectorConfig.clear();
    this.numQueuesSet = false;
    this.ioQueuesGranted = this.isDiscovery ? 0 : Math.max(1, this.transport.options.maxIoQueues);
  }

  /** Tear the controller down: close every qpair, drop AERs, stop keep-alive, leave the subsystem. */
  destroy(reason: QPairCloseReason): void {
    if (this.state === 'destroyed') return;
    this.state = 'destroyed';
    this.stopKeepAlive();
    this.abortAers(CommandStatus.AbortedSqDeletion);
    for (let qid = this.qpairs.length - 1; qid >= 0; qid--) this.qpairs[qid]?.close(reason);
    this.subsystem.controllerDestroyed(this);
    this.logger.info('controller destroyed', { cntlid: this.cntlid, subnqn: this.subsystem.nqn, hostnqn: this.hostnqn, reason });
  }

  // ---- asynchronous events (NVMe Base 2.0 §5.2) ----

  /** Hold an AER until an event; false when the AERL limit is reached. */
  addAer(qp: CoreQPair, req: CoreRequest): boolean {
    if (this.aers.length > CTRLR_LIMITS.aerl) return false;
    qp.hold(req);
    this.aers.push(req);
    const ev = this.pendingEvents.shift();
    if (ev !== undefined) this.completeAer(ev);
    return true;
  }

  /** Complete every held AER with `status` (reset, teardown). */
  abortAers(status: number): void {
    const aers = this.aers.splice(0);
    for (const req of aers) req.core.complete(req, status);
  }

  /** Abort one held AER by CID (Abort command); true when found. */
  abortAer(cid: number): boolean {
    const i = this.aers.findIndex((r) => r.cid === cid);
    if (i < 0) return false;
    const [req] = this.aers.splice(i, 1);
    if (req !== undefined) req.core.complete(req, CommandStatus.AbortedByRequest);
    return true;
  }

  /**
   * Raise an event (an `AsyncEvent` DW0 value). Reported only when enabled in the Async Event
   * Configuration (`aecBit`) and not masked by an earlier report whose log was not read yet.
   */
  raiseEvent(dw0: number, aecBit: number): void {
    if (this.state !== 'live') return;
    if ((this.asyncEventConfig & aecBit) === 0) return;
    const logId = (dw0 >>> 16) & 0xff;
    if (this.maskedLogs.has(logId)) return;
    this.maskedLogs.add(logId);
    if (this.aers.length > 0) this.completeAer(dw0);
    else this.pendingEvents.push(dw0);
  }

  /** Reading log `lid` with RAE=0 clears its event: unmask it. */
  clearEvent(lid: number): void {
    this.maskedLogs.delete(lid);
  }

  /** A namespace was added, removed or resized: note it in log 04h and raise the notice. */
  namespaceChanged(nsid: number): void {
    if (!this.changedNsOverflow && !this.changedNs.includes(nsid)) {
      if (this.changedNs.length >= CTRLR_LIMITS.changedNsMax) {
        this.changedNsOverflow = true;
        this.changedNs = [];
      } else {
        this.changedNs.push(nsid);
        this.changedNs.sort((a, b) => a - b);
      }
    }
    this.raiseEvent(AsyncEvent.NamespaceAttributeChanged, AecBit.NamespaceAttribute);
  }

  private completeAer(dw0: number): void {
    const req = this.aers.shift();
    if (req === undefined) return;
    req.cqe.dw0 = dw0;
    req.core.complete(req, 0);
  }

  // ---- keep alive ----

  /** A Keep Alive command (or, leniently, any admin command) arrived. */
  touchKeepAlive(): void {
    this.lastKeepAlive = Date.now();
  }

  /** Set Features Keep Alive Timer: restart with the new timeout. */
  setKato(ms: number): void {
    this.kato = ms;
    this.stopKeepAlive();
    this.lastKeepAlive = Date.now();
    this.startKeepAlive();
  }

  /**
   * The timeout actually enforced: KATO rounded up to the Keep Alive granularity (KAS × 100 ms,
   * NVMe Base 2.0 §3.9), as Linux nvmet rounds up to whole seconds.
   */
  get katoEnforced(): number {
    const g = CTRLR_LIMITS.kas * 100;
    return Math.ceil(this.kato / g) * g;
  }

  private startKeepAlive(): void {
    if (this.kato === 0) return;
    const timeout = this.katoEnforced;
    const check = (): void => {
      this.kaTimer = undefined;
      if (this.state !== 'live') return;
      const idle = Date.now() - this.lastKeepAlive;
      if (idle >= timeout) {
        this.logger.warn('keep-alive timeout', { cntlid: this.cntlid, subnqn: this.subsystem.nqn, kato: this.kato });
        this.destroy('keep-alive-timeout');
        return;
      }
      this.kaTimer = setTimeout(check, timeout - idle);
      this.kaTimer.unref();
    };
    this.kaTimer = setTimeout(check, timeout);
    this.kaTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.kaTimer !== undefined) clearTimeout(this.kaTimer);
    this.kaTimer = undefined;
  }
}

/**
 * CAP (NVMe Base 2.0 Figure 36): MQES = depth-1, CQR=1, AMS=0, TO, DSTRD=0, NSSRS=0,
 * CSS bit 0 (NVM command set), MPSMIN=MPSMAX=0 (4 KiB).
 */
function makeCap(maxQueueDepth: number): bigint {
  const mqes = BigInt(Math.min(Math.max(maxQueueDepth, 2), 65536) - 1);
  return mqes | (1n << 16n) | (BigInt(CTRLR_LIMITS.capTimeout) << 24n) | (1n << 37n);
}

/**
 * MDTS for a transport's max I/O size: the largest power of two, in units of the 4 KiB minimum
 * page (CAP.MPSMIN = 0), not above `maxIoSize` (NVMe Base 2.0 Figure 275). MDTS 0 would mean "no
 * limit", so the result is at least 1 (8 KiB; `Target.addTransport` refuses a smaller maxIoSize).
 * The core enforces exactly what it advertises: 4096 × 2^MDTS bytes.
 */
export function mdtsFor(maxIoSize: number): number {
  const pages = Math.floor(maxIoSize / 4096);
  if (pages < 2) return 1;
  return Math.min(Math.floor(Math.log2(pages)), 255);
}
