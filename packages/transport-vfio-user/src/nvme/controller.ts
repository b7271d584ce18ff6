/**
 * The NVMe PCIe controller on the vfio-user server (SPDK lib/nvmf/vfio_user.c's
 * nvmf_vfio_user_ctrlr, in TypeScript): BAR0 registers become Property Get/Set on an admin
 * qpair of the target core, the guest's admin and I/O queues live in guest memory, doorbells
 * are polled in the shared BAR0 page, and completions end with one interrupt per CQ vector and
 * batch.
 *
 * Life cycle, as the core sees it:
 * - client attached: an admin qpair and a Connect (qid 0) to the subsystem listening on this
 *   socket create the core controller; it lives until the client goes (or the core destroys it).
 * - CC.EN 0→1 (Property Set CC): the core sets CSTS.RDY; the transport maps the admin SQ/CQ from
 *   AQA/ASQ/ACQ and starts polling.
 * - Create I/O CQ/SQ (handled here, not by the core): a CQ is transport state; an SQ is a core
 *   qpair plus a Connect with its qid. Delete I/O SQ disconnects that qpair.
 * - CC.EN 1→0, DEVICE_RESET: the transport drops its queues first (so nothing is posted to
 *   memory the host reclaims), then the core resets the controller (NVMe Base 2.0 §3.7.2).
 * - CC.SHN: I/O queues go, the core flushes and reports CSTS.SHST = complete.
 */
import { AdminOpcode, CommandSpecificStatus, FABRICS_OPCODE, GenericStatus, NvmOpcode, Register, makeStatus } from '@nvmu/nvme-spec';
import type { ListenAddress, QPairCloseReason, QPairTransportOps, TransportCore, TransportLogger, TransportOptions } from '@nvmu/nvmf';
import type { DeviceContext, DeviceHooks, DmaRange, PciDeviceSpec } from '../server/device.js';
import { VfioUserErrnoError, DeviceErrno } from '../server/device.js';
import {
  VfuRequest,
  abortCommand,
  connect,
  finishInternal,
  findSubsystemNqn,
  lbaSizeOf,
  propertyGet,
  propertySet,
  queuesGranted,
  type VfuQPair,
  type VfuReq,
} from './core-link.js';
import { GuestMemory, PAGE_SIZE, overlaps } from './guest-memory.js';
import { BAR0, MAX_QUEUE_PAIRS, NVME_PCI_IDS, doorbellIndex, nvmePciDeviceSpec } from './pci-device.js';
import { AdaptivePoller, type ArmResult, type PollerOptions } from './poller.js';

/**
 * How long the doorbell poller keeps spinning after the last command it found (ms): long enough
 * for a host to consume a batch of large completions and resubmit (32 x 128 KiB copied out of
 * its DMA memory is a few hundred µs) without finding the target asleep on a timer; short
 * enough that sporadic I/O costs little. An idle device still backs off and sleeps deeply.
 */
const CONTROLLER_SPIN_MS = 1;
import { PrpOutcome, collectPrps, collectPrpsSlow, segmentsCovered, segmentsToIov, STATUS_DATA_TRANSFER_ERROR } from './prp.js';
import { CompletionQueue, SubmissionQueue, type Doorbell } from './queues.js';

const S_INVALID_OPCODE = makeStatus(0, GenericStatus.InvalidOpcode);
const S_INVALID_FIELD = makeStatus(0, GenericStatus.InvalidField);
const S_INTERNAL = makeStatus(0, GenericStatus.InternalError);
const S_ABORTED_SQ_DELETION = makeStatus(0, GenericStatus.AbortedSqDeletion);
const S_CQ_INVALID = makeStatus(1, CommandSpecificStatus.CompletionQueueInvalid);
const S_INVALID_QID = makeStatus(1, CommandSpecificStatus.InvalidQueueIdentifier);
const S_INVALID_QSIZE = makeStatus(1, CommandSpecificStatus.InvalidQueueSize);
const S_INVALID_IV = makeStatus(1, CommandSpecificStatus.InvalidInterruptVector);
const S_INVALID_QDELETION = makeStatus(1, CommandSpecificStatus.InvalidQueueDeletion);

/** Asynchronous Event DW0 (NVMe Base 2.0 Figure 150): type Error (0h), log page 01h. */
const AER_INVALID_DOORBELL_REGISTER = 0x00 | (0x00 << 8) | (0x01 << 16);
const AER_INVALID_DOORBELL_VALUE = 0x00 | (0x01 << 8) | (0x01 << 16);

/** Commands fetched from one SQ in one sweep of a pass. */
const SQ_BUDGET = 128;
/**
 * Commands one pass (one turn of the event loop) may fetch over all its sweeps and queues:
 * the bound on the work done before the event loop serves anything else (management, other
 * transports). At ~0.2-1 µs per command that is well under a millisecond.
 */
export const PASS_BUDGET = 256;
/**
 * Sweeps of the SQs within one pass while each finds commands: a host on another core that
 * submits while the target works is served in the same turn, without paying the event loop's
 * turn (setImmediate, epoll_wait) per handful of commands.
 */
const PASS_SWEEPS = 4;
/**
 * Completions posted before an interrupt goes out within a pass. One interrupt at the end of a
 * 128-command pass makes a ping-pong: the host sits idle while the target works through the
 * batch, then the target spins while the host takes all 128 completions and submits again.
 * Firing every 32 lets the host (on the other core) consume and resubmit while the target is
 * still working, and the next sweep picks those commands up.
 */
const IRQ_BATCH = 32;
/** Requests of the admin qpair kept for the transport's own commands (Property Get/Set, Identify). */
const ADMIN_RESERVED = 2;

/** Registers served through Property Get/Set (NVMe Base 2.0 Figure 35); 8-byte ones marked. */
const REGISTER_WIDTH = new Map<number, 4 | 8>([
  [Register.CAP, 8],
  [Register.VS, 4],
  [Register.INTMS, 4],
  [Register.INTMC, 4],
  [Register.CC, 4],
  [Register.CSTS, 4],
  [Register.NSSR, 4],
  [Register.AQA, 4],
  [Register.ASQ, 8],
  [Register.ACQ, 8],
  [Register.CMBLOC, 4],
  [Register.CMBSZ, 4],
]);

export interface NvmeControllerConfig {
  readonly core: TransportCore;
  readonly options: TransportOptions;
  /** The listener (socket directory) this controller serves. */
  readonly listenAddress: ListenAddress;
  /** Discovery TRTYPE this transport reports, to find the subsystem bound to the listener. */
  readonly discoveryTrtype: number;
  /** Host NQN and Host ID the transport connects with (a PCIe host has none of its own). */
  readonly hostnqn: string;
  readonly hostid: Uint8Array;
  readonly msixVectors: number;
  /** Poller tuning; `arm` is the controller's own (interrupt mode), not taken from here. */
  readonly poller?: Omit<PollerOptions, 'arm'>;
  /**
   * Interrupt mode (SPDK's vfio-user `interrupt_mode`): BAR0's doorbells are not offered as mmap,
   * so a doorbell write is a REGION_WRITE message that wakes the target; with shadow doorbells
   * the target arms each SQ's EventIdx before it sleeps, and the poller sleeps without timers
   * until a message comes. Default false (the adaptive poller over mmapped doorbells).
   */
  readonly interruptMode?: boolean;
  readonly logger: TransportLogger;
}

/** Counters for tests and `nvmf_get_stats`. */
export interface NvmeControllerStats {
  commands: number;
  /** Polling passes run (commands / passes is the batch a pass finds). */
  passes: number;
  completions: number;
  interrupts: number;
  doorbellMessages: number;
  invalidDoorbells: number;
  slowCommands: number;
  cqFullStalls: number;
  /** Interrupt mode: times the EventIdx re-check found a tail written while arming (the race). */
  armRaces: number;
  /** Interrupt mode: times the controller armed its doorbells and slept until a message. */
  interruptSleeps: number;
}

export class NvmeController {
  readonly spec: PciDeviceSpec;
  readonly hooks: DeviceHooks;
  readonly stats: NvmeControllerStats = {
    commands: 0,
    passes: 0,
    completions: 0,
    interrupts: 0,
    doorbellMessages: 0,
    invalidDoorbells: 0,
    slowCommands: 0,
    cqFullStalls: 0,
    armRaces: 0,
    interruptSleeps: 0,
  };
  private readonly cfg: NvmeControllerConfig;
  private readonly log: TransportLogger;
  private ctx: DeviceContext | undefined;
  private mem: GuestMemory | undefined;
  private readonly poller: AdaptivePoller;
  /** Largest transfer of one command (MDTS × 4 KiB, as the core advertises). */
  private readonly maxTransfer: number;
  /** Interrupt mode: doorbells trapped, EventIdx written only when arming (see `arm`). */
  private readonly interruptMode: boolean;
  /** The barrier between arming and the re-check (a field so a test can act as a racing host there). */
  private readonly fence: () => void = fullFence;

  // ---- the core controller ----
  private adminQp: VfuQPair | undefined;
  private cntlid = -1;
  private subnqn = '';
  /** CAP as the core reports it (MQES, TO, DSTRD = 0). */
  private cap = 0n;
  /** CC as last written (the transitions are the transport's business too). */
  private cc = 0;
  /** INTMS mirror: masks INTx (NVMe Base 2.0 §3.1.3.3). */
  private intms = 0;
  /** Controller Fatal Status the transport adds (admin queue not in guest memory, controller gone). */
  private fatal = false;
  private readonly adminOps: QPairTransportOps<VfuRequest>;
  private adminGuestInflight = 0;
  private warnedNoSubsystem = false;

  // ---- queues ----
  private readonly sqs: (SubmissionQueue | undefined)[] = new Array<SubmissionQueue | undefined>(MAX_QUEUE_PAIRS);
  private readonly cqs: (CompletionQueue | undefined)[] = new Array<CompletionQueue | undefined>(MAX_QUEUE_PAIRS);
  /** Doorbells without an mmapped BAR0 page (the server gave none): written by REGION_WRITE only. */
  private readonly localDoorbells = new Uint32Array(BAR0.doorbellsSize / 4);
  /** Doorbell Buffer Config pages (shadow doorbells, event indexes), or undefined. */
  private dbbuf: { shadow: Uint32Array; eventIdx: Uint32Array; prp1: number; prp2: number } | undefined;
  /** Guest commands in flight (not counting held AERs): the poller spins while any are. */
  private active = 0;
  /** AERs the core holds, oldest first (an event the transport raises completes one). */
  private readonly aers: VfuReq[] = [];
  /** An error event waiting for an AER, and whether error events are masked until log 01h is read. */
  private pendingEvent = -1;
  private errorEventMasked = false;
  /** A DMA_UNMAP waits for in-flight data transfers; fetching pauses meanwhile. */
  private unmapWaiters: (() => void)[] = [];
  /** LBA size by nsid (Identify Namespace), for PRP transfer lengths. */
  private readonly lbaSizes = new Map<number, number>();
  private readonly scratch = Buffer.alloc(4096);
  private irqDirty = false;
  /** One past the highest qid that may hold a queue (bounds the per-pass scans). */
  private qidLimit = 1;
  private readonly firedStamp: Uint32Array;
  private stamp = 0;
  private readonly onCompleteBound = (req: VfuReq): void => {
    this.complete(req);
  };
  private readonly initRequestBound = (): VfuRequest => new VfuRequest(this.maxTransfer);

  constructor(cfg: NvmeControllerConfig) {
    this.cfg = cfg;
    this.log = cfg.logger;
    this.maxTransfer = 4096 * 2 ** mdtsFor(cfg.options.maxIoSize);
    this.firedStamp = new Uint32Array(cfg.msixVectors);
    this.interruptMode = cfg.interruptMode ?? false;
    this.spec = nvmePciDeviceSpec(
      (offset, data, isWrite) => {
        this.bar0Access(offset, data, isWrite);
      },
      cfg.msixVectors,
      { mmapDoorbells: !this.interruptMode },
    );
    // Only the controller arms (interrupt mode): an `arm` given from outside would let the
    // poller sleep on mmapped doorbells that raise no message.
    const { arm: _ownArm, ...pollerOpts }: PollerOptions = cfg.poller ?? {};
    this.poller = new AdaptivePoller(
      () => this.pass(),
      (err) => {
        this.log.error('vfio-user nvme: polling pass failed', { err: String(err) });
      },
      // Spin 1 ms after the last work (not only 64 passes): see PollerOptions.spinMs.
      {
        spinMs: CONTROLLER_SPIN_MS,
        ...pollerOpts,
        ...(this.interruptMode ? { arm: () => this.arm() } : {}),
      },
    );
    this.adminOps = {
      complete: this.onCompleteBound,
      close: (reason) => {
        this.adminClosed(reason);
      },
      initRequest: this.initRequestBound,
    };
    this.hooks = {
      attached: () => {
        this.ensureController();
      },
      dmaMapped: (r) => {
        this.dmaMapped(r);
      },
      dmaUnmapping: (r) => this.dmaUnmapping(r),
      reset: () => {
        this.deviceReset();
      },
      detached: () => {
        this.detach();
      },
      irqStateChanged: () => {
        this.irqDirty = true;
        this.poller.wake();
      },
    };
  }

  /** The server's context for this client (call before `hooks.attached`). */
  bind(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.mem = new GuestMemory(ctx.dma);
  }

  /** Interrupt mode: whether the poller sleeps until a message (armed), running no pass and no timer. */
  get waitingForMessage(): boolean {
    return this.poller.waitingForMessage;
  }

  /** The core controller's id, or -1 while there is none. */
  get controllerId(): number {
    return this.cntlid;
  }

  /**
   * Run one polling pass now (benchmarks and allocation tests drive the controller without the
   * event loop); true when there was work. The adaptive poller calls the same pass.
   */
  pollOnce(): boolean {
    return this.pass();
  }

  /** Stop everything: queues, polling, the core controller (transport close / listener gone). */
  close(): void {
    this.detach();
  }

  // ================= the core controller =================

  /** Make sure a core controller exists (Connect on a new admin qpair); false when none can. */
  private ensureController(): boolean {
    if (this.adminQp?.state === 'active') return true;
    const { core, listenAddress, hostnqn, hostid, options } = this.cfg;
    const lookup = core.createQPair<VfuRequest>(
      { complete: this.onCompleteBound, close: () => undefined, initRequest: this.initRequestBound },
      { depth: 4, listenAddress },
    );
    const subnqn = findSubsystemNqn(lookup, hostnqn, hostid, this.cfg.discoveryTrtype, listenAddress.traddr);
    if (subnqn === undefined) {
      if (this.warnedNoSubsystem) return false;
      this.warnedNoSubsystem = true;
      this.log.warn('vfio-user nvme: no subsystem listens on this socket yet', { traddr: listenAddress.traddr });
      return false;
    }
    const depth = options.maxAdminQueueDepth + ADMIN_RESERVED;
    const qp = core.createQPair<VfuRequest>(this.adminOps, { depth, listenAddress });
    const r = connect(qp, { qid: 0, sqsize: options.maxAdminQueueDepth - 1, cntlid: 0xffff, subnqn, hostnqn, hostid });
    if (r.status !== 0) {
      qp.disconnected();
      this.log.warn('vfio-user nvme: admin Connect failed', { subnqn, status: r.status });
      return false;
    }
    this.adminQp = qp;
    this.warnedNoSubsystem = false;
    this.subnqn = subnqn;
    this.cntlid = r.dw0 & 0xffff;
    this.cap = propertyGet(qp, Register.CAP, true) ?? 0n;
    this.cc = 0;
    this.intms = 0;
    this.fatal = false;
    this.adminGuestInflight = 0;
    this.lbaSizes.clear();
    this.log.info('vfio-user nvme: controller created', { cntlid: this.cntlid, subnqn, traddr: listenAddress.traddr });
    return true;
  }

  /** The core closes the admin qpair (controller destroyed: listener removed, target shutdown). */
  private adminClosed(reason: QPairCloseReason): void {
    const qp = this.adminQp;
    this.teardownQueues();
    this.adminQp = undefined;
    this.cntlid = -1;
    this.fatal = true;
    qp?.disconnected();
    this.log.info('vfio-user nvme: controller closed by the target', { reason });
  }

  private get mqes(): number {
    return Number(this.cap & 0xffffn);
  }

  // ================= BAR0 =================

  private bar0Access(offset: number, data: Uint8Array, isWrite: boolean): void {
    const len = data.byteLength;
    if (offset >= BAR0.doorbellsOffset && offset < BAR0.doorbellsOffset + BAR0.doorbellsSize) {
      this.doorbellAccess(offset - BAR0.doorbellsOffset, data, isWrite);
      return;
    }
    if (len === 1 || len === 2) {
      // Byte and word accesses (a debugger, a firmware peeking at VS): reads come from the
      // containing dword; writes are ignored (NVMe registers are written as dwords, Base 2.0 §3.1.3).
      if (!isWrite) {
        const base = offset & ~3;
        const dword = Buffer.alloc(4);
        this.bar0Access(base, dword, false);
        data.set(dword.subarray(offset - base, offset - base + len));
      }
      return;
    }
    if (len !== 4 && len !== 8) throw new VfioUserErrnoError(DeviceErrno.EINVAL, `BAR0 access of ${len} bytes at ${offset}`);
    const dv = new DataView(data.buffer, data.byteOffset, len);
    if (isWrite) {
      if (len === 8 && REGISTER_WIDTH.get(offset) === 8) this.writeRegister(offset, dv.getBigUint64(0, true), true);
      else {
        this.writeRegister(offset, BigInt(dv.getUint32(0, true)), false);
        if (len === 8) this.writeRegister(offset + 4, BigInt(dv.getUint32(4, true)), false);
      }
      return;
    }
    if (len === 8 && REGISTER_WIDTH.get(offset) === 8) dv.setBigUint64(0, this.readRegister(offset, true), true);
    else {
      dv.setUint32(0, Number(this.readRegister(offset, false)), true);
      if (len === 8) dv.setUint32(4, Number(this.readRegister(offset + 4, false)), true);
    }
  }

  /** Whether `offset` is a register (or the high half of an 8-byte one) the core serves. */
  private static served(offset: number): boolean {
    return REGISTER_WIDTH.has(offset) || REGISTER_WIDTH.get(offset - 4) === 8;
  }

  private readRegister(offset: number, size8: boolean): bigint {
    if (!NvmeController.served(offset)) return 0n; // reserved, PMR, boot partitions: read 0
    // No controller (no subsystem listens here yet): CSTS.CFS; a register write retries.
    if (this.adminQp === undefined) return offset === Register.CSTS ? 2n : 0n;
    const v = propertyGet(this.adminQp, offset, size8) ?? 0n;
    if (offset === Register.CSTS && this.fatal) return v | 2n;
    return v;
  }

  private writeRegister(offset: number, value: bigint, size8: boolean): void {
    // Any register write by message ends a deep idle sleep of the poller (poller.ts).
    if (this.sqs[0] !== undefined) this.poller.wake();
    if (!NvmeController.served(offset)) return; // writes to reserved / read-only space are ignored
    if (!this.ensureController() || this.adminQp === undefined) return;
    const qp = this.adminQp;
    const v32 = Number(value & 0xffffffffn);
    switch (offset) {
      case Register.CC:
        this.writeCc(qp, v32);
        return;
      case Register.INTMS:
        this.intms = (this.intms | v32) >>> 0;
        break;
      case Register.INTMC:
        this.intms = (this.intms & ~v32) >>> 0;
        this.irqDirty = true; // an unmasked INTx with completions pending fires now
        this.poller.wake();
        break;
      default:
        break;
    }
    propertySet(qp, offset, value, size8);
  }

  /** CC (NVMe Base 2.0 §3.1.3.5): enable, disable, shutdown notification. */
  private writeCc(qp: VfuQPair, value: number): void {
    const old = this.cc;
    const wasEn = (old & 1) === 1;
    const en = (value & 1) === 1;
    if (wasEn && !en) {
      // Controller Level Reset: queues go first, so nothing reaches memory the host takes back;
      // then the core resets (CSTS.RDY = 0, AERs aborted into the void, features to defaults).
      this.teardownQueues();
      propertySet(qp, Register.CC, BigInt(value), false);
      this.cc = value;
      this.intms = 0;
      this.fatal = false;
      return;
    }
    const oldShn = (old >>> 14) & 3;
    const shn = (value >>> 14) & 3;
    if (shn !== 0 && oldShn === 0) this.deleteIoQueues(); // the core closes their qpairs too
    propertySet(qp, Register.CC, BigInt(value), false);
    this.cc = value;
    if (!wasEn && en) {
      const csts = Number(propertyGet(qp, Register.CSTS, false) ?? 0n);
      if ((csts & 1) === 1) this.enableAdminQueues(qp);
    }
  }

  /** CC.EN 0→1 and CSTS.RDY: the admin SQ/CQ from AQA, ASQ, ACQ (NVMe Base 2.0 §3.5.1). */
  private enableAdminQueues(qp: VfuQPair): void {
    this.lbaSizes.clear();
    const aqa = Number(propertyGet(qp, Register.AQA, false) ?? 0n);
    const asq = Number(propertyGet(qp, Register.ASQ, true) ?? 0n);
    const acq = Number(propertyGet(qp, Register.ACQ, true) ?? 0n);
    const asqs = (aqa & 0xfff) + 1;
    const acqs = ((aqa >>> 16) & 0xfff) + 1;
    this.zeroDoorbell(0, false);
    this.zeroDoorbell(0, true);
    const cq = new CompletionQueue(0, acqs, acq, true, 0, this.bar0Doorbell(0, true));
    const sq = new SubmissionQueue(0, asqs, asq, cq, qp, this.bar0Doorbell(0, false));
    cq.sqRefs = 1;
    if (asqs < 2 || acqs < 2 || !this.mapQueue(cq, true) || !this.mapQueue(sq, false)) {
      // Nowhere to put the admin queue: CSTS.CFS, as SPDK's fail_ctrlr.
      this.log.warn('vfio-user nvme: admin queues not in guest memory', { asq, acq, asqs, acqs });
      this.fatal = true;
      return;
    }
    this.cqs[0] = cq;
    this.sqs[0] = sq;
    this.poller.wake();
  }

  // ================= doorbells =================

  private doorbellWords(): Uint32Array {
    const bar = this.ctx?.barMemory(0);
    if (bar === undefined) return this.localDoorbells;
    return new Uint32Array(bar.buffer, bar.byteOffset + BAR0.doorbellsOffset, BAR0.doorbellsSize / 4);
  }

  private bar0Doorbell(qid: number, cq: boolean): Doorbell {
    return { words: this.doorbellWords(), index: doorbellIndex(qid, cq) };
  }

  private zeroDoorbell(qid: number, cq: boolean): void {
    this.doorbellWords()[doorbellIndex(qid, cq)] = 0;
    if (this.dbbuf !== undefined && qid > 0) this.dbbuf.shadow[doorbellIndex(qid, cq)] = 0;
  }

  /** A doorbell written (or read) by message: the client did not mmap the doorbell page. */
  private doorbellAccess(offset: number, data: Uint8Array, isWrite: boolean): void {
    if (data.byteLength !== 4 || offset % 4 !== 0) throw new VfioUserErrnoError(DeviceErrno.EINVAL, `doorbell access of ${data.byteLength} bytes at ${offset}`);
    const words = this.doorbellWords();
    const index = offset / 4;
    const dv = new DataView(data.buffer, data.byteOffset, 4);
    if (!isWrite) {
      dv.setUint32(0, words[index] ?? 0, true);
      return;
    }
    this.stats.doorbellMessages++;
    const qid = index >>> 1;
    const isCq = (index & 1) === 1;
    if ((isCq ? this.cqs[qid] : this.sqs[qid]) === undefined) {
      // A doorbell of a queue that does not exist (NVMe Base 2.0 §5.2, Invalid Doorbell Register).
      this.raiseErrorEvent(AER_INVALID_DOORBELL_REGISTER);
      return;
    }
    words[index] = dv.getUint32(0, true);
    this.poller.wake();
  }

  // ================= polling =================

  /** One pass: CQ heads, new SQEs, interrupts. True when there was (or still is) work. */
  private pass(): boolean {
    if (this.ctx === undefined || this.sqs[0] === undefined) {
      // Controller disabled: nothing to poll until CC.EN (which wakes the poller again).
      this.poller.stop();
      return false;
    }
    this.stats.passes++;
    this.flushIrqs();
    let fetched = 0;
    // Interrupts go out every IRQ_BATCH commands (consume) and at the end of the pass, not after
    // each sweep: a sweep that finds a handful of commands must not cost the host a wake-up each.
    for (let sweep = 0; sweep < PASS_SWEEPS && fetched < PASS_BUDGET; sweep++) {
      const n = this.sweep(PASS_BUDGET - fetched);
      if (n === 0) break;
      fetched += n;
    }
    this.flushIrqs();
    return fetched > 0 || this.active > 0;
  }

  /** CQ heads, then new SQEs of every live SQ, at most `budget` commands; how many were fetched. */
  private sweep(budget: number): number {
    const limit = this.qidLimit;
    for (let qid = 0; qid < limit; qid++) {
      const cq = this.cqs[qid];
      if (cq?.state === 'live') this.readCqHead(cq);
    }
    if (this.unmapWaiters.length > 0) return 0;
    let n = 0;
    for (let qid = 0; qid < limit && n < budget; qid++) {
      const sq = this.sqs[qid];
      if (sq?.state === 'live') n += this.pollSq(sq, Math.min(SQ_BUDGET, budget - n));
    }
    return n;
  }

  private readCqHead(cq: CompletionQueue): void {
    const h = cq.head.words[cq.head.index] ?? 0;
    if (h === cq.lastHead) return;
    const advance = h >= cq.lastHead ? h - cq.lastHead : cq.size - (cq.lastHead - h);
    if (h >= cq.size || advance > cq.used()) {
      // Past the queue, or consuming entries never posted: Invalid Doorbell Write Value, once per value.
      if (cq.badHead !== h) {
        cq.badHead = h;
        this.stats.invalidDoorbells++;
        this.raiseErrorEvent(AER_INVALID_DOORBELL_VALUE);
      }
      return;
    }
    cq.lastHead = h;
    // Interrupt mode leaves the EventIdx where it was: the host then writes only the shadow
    // head, not the trapped doorbell (a message) each time it catches up with a polling target.
    if (cq.eventIdx !== undefined && !this.interruptMode) cq.eventIdx.words[cq.eventIdx.index] = h;
  }

  /** Fetch and start up to `budget` new commands of `sq`; how many (1 while a slow-way fetch is in flight). */
  private pollSq(sq: SubmissionQueue, budget: number): number {
    const t = sq.tailDb.words[sq.tailDb.index] ?? 0;
    if (t !== sq.tail) {
      if (t >= sq.size) {
        if (sq.badTail !== t) {
          sq.badTail = t;
          this.stats.invalidDoorbells++;
          this.raiseErrorEvent(AER_INVALID_DOORBELL_VALUE);
        }
      } else sq.tail = t;
    }
    if (sq.head === sq.tail) return 0;
    if (sq.dv === undefined) return this.fetchSlow(sq) ? 1 : 0;
    const n = this.consume(sq, sq.dv, budget);
    // Interrupt mode writes the EventIdx only before it sleeps (arm): while the target polls, the
    // host's tail stays ahead of it and rings the trapped doorbell about once per queue wrap.
    if (sq.eventIdx !== undefined && !this.interruptMode) sq.eventIdx.words[sq.eventIdx.index] = sq.head;
    return n;
  }

  /**
   * Interrupt mode, before the poller sleeps (SPDK vfio_user_sq_rearm / set_sq_eventidx): every
   * doorbell that is not a message must become one. Doorbells in BAR0 always are (not mmapped
   * in this mode). For each SQ on a shadow doorbell, the EventIdx becomes the tail the target
   * has caught up to, so the host's next submission finds it in its window and writes the real
   * doorbell (Linux nvme_dbbuf_need_event); then, after a full fence, the shadow tail is read
   * again: a host that wrote it after the first read but checked the EventIdx before the write
   * would otherwise not ring, and its command would wait for the next message.
   */
  private arm(): ArmResult {
    if (this.ctx === undefined || this.sqs[0] === undefined) return 'armed'; // disabled: CC.EN is a message
    if (this.active > 0 || this.unmapWaiters.length > 0) return 'later';
    const limit = this.qidLimit;
    let shadowArmed = false;
    for (let qid = 0; qid < limit; qid++) {
      const sq = this.sqs[qid];
      if (sq?.state !== 'live') continue; // an unmapped queue resumes on DMA_MAP, a message
      const t = sq.tailDb.words[sq.tailDb.index] ?? 0;
      if (t !== sq.tail && t !== sq.badTail) return 'work'; // an invalid tail was reported once: not work
      // Commands left behind (CQ full, or no request free): the host frees CQ room without a
      // message, so poll on the timer back-off.
      if (sq.head !== sq.tail) return 'later';
      if (sq.eventIdx !== undefined) {
        sq.eventIdx.words[sq.eventIdx.index] = sq.tail;
        shadowArmed = true;
      }
    }
    if (!shadowArmed) {
      this.stats.interruptSleeps++;
      return 'armed';
    }
    this.fence();
    for (let qid = 1; qid < limit; qid++) {
      const sq = this.sqs[qid];
      if (sq?.state !== 'live' || sq.eventIdx === undefined) continue;
      const t = sq.tailDb.words[sq.tailDb.index] ?? 0;
      if (t !== sq.tail && t !== sq.badTail) {
        this.stats.armRaces++;
        return 'work';
      }
    }
    this.stats.interruptSleeps++;
    return 'armed';
  }

  /** Room for one more command: a free request and a CQ slot for its completion. */
  private canFetch(sq: SubmissionQueue): boolean {
    const cq = sq.cq;
    if (cq.state !== 'live') return false;
    if (cq.freeSlots() - cq.reserved <= 0) {
      this.readCqHead(cq);
      if (cq.freeSlots() - cq.reserved <= 0) {
        this.stats.cqFullStalls++;
        return false; // CQ full: wait for the host to move its head (NVMe Base 2.0 §3.3.1.2)
      }
    }
    if (sq.qid === 0 && this.adminGuestInflight >= this.cfg.options.maxAdminQueueDepth) return false;
    return true;
  }

  /**
   * Take up to `budget` SQEs from `src` (the shared ring, or the slow way's fetch buffer, laid
   * out as the ring) and start them. Returns how many.
   */
  private consume(sq: SubmissionQueue, src: DataView, budget: number): number {
    let n = 0;
    while (sq.head !== sq.tail && n < budget && sq.state === 'live') {
      if (!this.canFetch(sq)) break;
      const req = sq.qpair.allocRequest() as VfuReq | undefined;
      if (req === undefined) break;
      copySqe(src, sq.head * 64, req.sqeView);
      sq.head = sq.head + 1 === sq.size ? 0 : sq.head + 1;
      sq.cq.reserved++;
      sq.outstanding++;
      if (sq.qid === 0) this.adminGuestInflight++;
      n++;
      this.stats.commands++;
      this.start(sq, req);
      if (n % IRQ_BATCH === 0) this.flushIrqs();
    }
    return n;
  }

  /** Slow way: DMA_READ the SQEs up to the tail (or the ring's end), then consume them. */
  private fetchSlow(sq: SubmissionQueue): boolean {
    if (sq.fetching || this.ctx === undefined || sq.fetchBuf === undefined || sq.fetchDv === undefined) return sq.fetching;
    const end = sq.tail > sq.head ? sq.tail : sq.size;
    const count = Math.min(end - sq.head, SQ_BUDGET);
    const off = sq.head * 64;
    const buf = sq.fetchBuf;
    const dv = sq.fetchDv;
    sq.fetching = true;
    this.ctx.dma.read(sq.iova + off, buf.subarray(off, off + count * 64)).then(
      () => {
        sq.fetching = false;
        if (sq.state !== 'live') return;
        // At most the entries read: `count` from the head, which only this fetch moves.
        this.consume(sq, dv, count);
        this.flushIrqs();
        this.poller.wake();
      },
      (err: unknown) => {
        sq.fetching = false;
        this.log.warn('vfio-user nvme: SQ fetch by DMA_READ failed', { qid: sq.qid, err: String(err) });
      },
    );
    return true;
  }

  // ================= commands =================

  private start(sq: SubmissionQueue, req: VfuReq): void {
    const td = req.transportData;
    td.kind = 'guest';
    td.sq = sq;
    td.bounce = undefined;
    td.eventDw0 = -1;
    td.counted = true;
    this.active++;
    const qp = sq.qpair as VfuQPair;
    const sqe = req.sqeView;
    const opcode = req.sqeBytes[0] ?? 0;
    let length: number;
    if (sq.qid === 0) {
      switch (opcode) {
        case AdminOpcode.CreateIoCq:
          qp.fail(req, this.createIoCq(sqe));
          return;
        case AdminOpcode.CreateIoSq:
          qp.fail(req, this.createIoSq(sqe));
          return;
        case AdminOpcode.DeleteIoCq:
          qp.fail(req, this.deleteIoCq(sqe));
          return;
        case AdminOpcode.DeleteIoSq:
          qp.fail(req, this.deleteIoSq(sqe));
          return;
        case AdminOpcode.DoorbellBufferConfig:
          qp.fail(req, this.doorbellBufferConfig(sqe));
          return;
        case FABRICS_OPCODE:
          // Fabrics commands do not exist on a PCIe controller (NVMe Base 2.0 §6): the guest
          // must not reach Connect or Property Set through its admin queue.
          qp.fail(req, S_INVALID_OPCODE);
          return;
        case AdminOpcode.AsyncEventRequest:
          td.counted = false;
          this.active--;
          if (this.pendingEvent >= 0) {
            td.eventDw0 = this.pendingEvent;
            this.pendingEvent = -1;
            qp.fail(req, 0);
            return;
          }
          this.aers.push(req);
          break;
        default:
          break;
      }
      length = adminDataLength(sqe, opcode);
    } else {
      if (opcode === FABRICS_OPCODE) {
        qp.fail(req, S_INVALID_OPCODE);
        return;
      }
      length = this.ioDataLength(sqe, opcode);
    }
    if (length === 0 || req.xfer === 'none') {
      req.clearData();
      qp.submit(req);
      return;
    }
    // PSDT (CDW0 bits 15:14): PRPs only (Identify SGLS = 0).
    if (((req.sqeBytes[1] ?? 0) & 0xc0) !== 0 || length > this.maxTransfer) {
      qp.fail(req, S_INVALID_FIELD);
      return;
    }
    const mem = this.mem;
    if (mem === undefined) {
      qp.fail(req, STATUS_DATA_TRANSFER_ERROR);
      return;
    }
    const c2h = req.xfer === 'controller-to-host';
    const n = collectPrps(mem, sqe, length, td.segs);
    if (n === PrpOutcome.slow) {
      this.startSlow(sq, req, readU64(sqe, 24), readU64(sqe, 32), length, c2h);
      return;
    }
    if (n < 0) {
      qp.fail(req, -n);
      return;
    }
    const k = segmentsToIov(mem, td.segs, req.iov, req.iov.length, c2h);
    if (k === 0) {
      this.startSlow(sq, req, readU64(sqe, 24), readU64(sqe, 32), length, c2h);
      return;
    }
    if (k < 0) {
      qp.fail(req, -k);
      return;
    }
    req.iovcnt = k;
    req.length = length;
    qp.submit(req);
  }

  /** Data length of an I/O command from its fields and the namespace's LBA size. */
  private ioDataLength(sqe: DataView, opcode: number): number {
    switch (opcode) {
      case NvmOpcode.Read:
      case NvmOpcode.Write:
      case NvmOpcode.Compare: {
        const lba = this.lbaSize(sqe.getUint32(4, true));
        return lba === undefined ? 0 : ((sqe.getUint32(48, true) & 0xffff) + 1) * lba;
      }
      case NvmOpcode.DatasetManagement:
        return ((sqe.getUint32(40, true) & 0xff) + 1) * 16;
      default:
        return 0;
    }
  }

  private lbaSize(nsid: number): number | undefined {
    const cached = this.lbaSizes.get(nsid);
    if (cached !== undefined) return cached;
    if (this.adminQp === undefined) return undefined;
    const size = lbaSizeOf(this.adminQp, nsid, this.scratch);
    if (size !== undefined) this.lbaSizes.set(nsid, size);
    return size;
  }

  /** Data in RAM without an fd (or a PRP list there): a bounce buffer and DMA_READ/DMA_WRITE. */
  private startSlow(sq: SubmissionQueue, req: VfuReq, prp1: number, prp2: number, length: number, c2h: boolean): void {
    this.stats.slowCommands++;
    const mem = this.mem;
    const qp = sq.qpair as VfuQPair;
    void (async (): Promise<void> => {
      const status = await this.slowPrepare(mem, req, prp1, prp2, length, c2h);
      if (status !== 0) {
        qp.fail(req, status);
        return;
      }
      if (sq.state === 'deleted') {
        qp.fail(req, S_ABORTED_SQ_DELETION);
        return;
      }
      qp.submit(req);
    })().catch((err: unknown) => {
      this.log.warn('vfio-user nvme: slow-path transfer failed', { err: String(err) });
      if (req.state === 'new') qp.fail(req, STATUS_DATA_TRANSFER_ERROR);
    });
  }

  /** Slow path: PRPs (lists by DMA_READ), a bounce buffer, host data fetched into it. Returns a status. */
  private async slowPrepare(mem: GuestMemory | undefined, req: VfuReq, prp1: number, prp2: number, length: number, c2h: boolean): Promise<number> {
    if (mem === undefined) return STATUS_DATA_TRANSFER_ERROR;
    const td = req.transportData;
    const n = await collectPrpsSlow(mem, prp1, prp2, length, td.segs);
    if (n < 0) return -n;
    if (!segmentsCovered(mem, td.segs, c2h)) return STATUS_DATA_TRANSFER_ERROR;
    const bounce = Buffer.alloc(length);
    if (!c2h) {
      let off = 0;
      for (let i = 0; i < td.segs.count; i++) {
        const l = td.segs.len(i);
        await mem.dma.read(td.segs.addr(i), bounce.subarray(off, off + l));
        off += l;
      }
    }
    td.bounce = bounce;
    req.setData(bounce);
    return 0;
  }

  // ================= completions =================

  /** The core's `complete` hook for every qpair of this controller. */
  private complete(req: VfuReq): void {
    const td = req.transportData;
    if (td.kind === 'internal') {
      finishInternal(req);
      return;
    }
    const sq = td.sq;
    const qp = req.qpair;
    if (td.counted) {
      td.counted = false;
      this.active--;
      if (this.active === 0 && this.unmapWaiters.length > 0) this.releaseUnmapWaiters();
    }
    if (sq?.qid === 0) {
      this.adminGuestInflight--;
      const i = this.aers.indexOf(req);
      if (i >= 0) this.aers.splice(i, 1);
    }
    if (sq === undefined || sq.state === 'deleted' || sq.cq.state !== 'live') {
      // The queue went (reset, Delete, unmap): the host no longer waits for this entry.
      td.sq = undefined;
      qp.freeRequest(req);
      return;
    }
    if (td.eventDw0 >= 0) {
      // An event the transport raised, delivered on an AER (NVMe Base 2.0 §5.2).
      req.cqeView.setUint32(0, td.eventDw0, true);
      req.cqeView.setUint16(14, 0, true);
      td.eventDw0 = -1;
    }
    const status = (req.cqeView.getUint16(14, true) >>> 1) & 0x7fff;
    if (sq.qid === 0 && status === 0) this.adminCompleted(req);
    const bounce = td.bounce;
    if (bounce !== undefined) {
      td.bounce = undefined;
      if (status === 0 && req.xfer === 'controller-to-host' && req.dataLength > 0) {
        this.writeBack(sq, req, bounce);
        return;
      }
    }
    this.post(sq, req);
  }

  /** Post-processing of successful admin commands the transport has a stake in. */
  private adminCompleted(req: VfuReq): void {
    const opcode = req.sqeBytes[0] ?? 0;
    const cdw10 = req.sqeView.getUint32(40, true);
    if (opcode === AdminOpcode.Identify && (cdw10 & 0xff) === 0x01) {
      // Identify Controller OACS bit 8: Doorbell Buffer Config is supported (a PCIe-only
      // command the transport implements, as SPDK's cdata_init sets it).
      orDataByte(req, 257, 0x01);
      // VID and SSVID (bytes 1:0 and 3:2) are the PCI function's vendor and subsystem vendor
      // ids (NVMe Base 2.0 §5.17.2.1), as SPDK's vfio-user cdata_init sets them: hosts such as
      // spdk_nvme_identify print them and match quirks on them.
      setDataU16(req, 0, NVME_PCI_IDS.vendorId);
      setDataU16(req, 2, NVME_PCI_IDS.subsystemVendorId);
    } else if (opcode === AdminOpcode.GetLogPage && (cdw10 & 0xff) === 0x01) {
      this.errorEventMasked = false; // reading the Error Information log unmasks error events
    } else if (opcode === AdminOpcode.AsyncEventRequest) {
      const dw0 = req.cqeView.getUint32(0, true);
      if ((dw0 & 7) === 2) this.lbaSizes.clear(); // a namespace notice: sizes may have changed
    }
  }

  /** Slow way, controller-to-host: DMA_WRITE the bounce buffer to the PRP segments, then post. */
  private writeBack(sq: SubmissionQueue, req: VfuReq, bounce: Buffer): void {
    const mem = this.mem;
    const segs = req.transportData.segs;
    void (async (): Promise<void> => {
      if (mem === undefined) throw new Error('guest memory gone');
      let off = 0;
      let left = req.dataLength;
      for (let i = 0; i < segs.count && left > 0; i++) {
        const l = Math.min(segs.len(i), left);
        await mem.dma.write(segs.addr(i), bounce.subarray(off, off + l));
        off += l;
        left -= l;
      }
    })()
      .catch((err: unknown) => {
        req.cqeView.setUint16(14, STATUS_DATA_TRANSFER_ERROR << 1, true);
        this.log.warn('vfio-user nvme: DMA_WRITE of read data failed', { err: String(err) });
      })
      .finally(() => {
        if (sq.state === 'deleted' || sq.cq.state !== 'live') req.qpair.freeRequest(req);
        else this.post(sq, req);
        this.flushIrqs();
      });
  }

  /**
   * Write the CQE into the CQ (NVMe Base 2.0 §4.6): DW0, DW1, SQHD|SQID, then CID|status|phase
   * last, so the host never sees the new phase over a half-written entry.
   */
  private post(sq: SubmissionQueue, req: VfuReq): void {
    const cq = sq.cq;
    const c = req.cqeView;
    const dw3 = (c.getUint16(12, true) | (((c.getUint16(14, true) & 0xfffe) | cq.phase) << 16)) >>> 0;
    const off = cq.tail * 16;
    const dv = cq.dv ?? cq.stagingDv;
    if (dv !== undefined) {
      dv.setUint32(off, c.getUint32(0, true), true);
      dv.setUint32(off + 4, c.getUint32(4, true), true);
      dv.setUint32(off + 8, (sq.head | (sq.qid << 16)) >>> 0, true);
      dv.setUint32(off + 12, dw3, true);
    }
    if (cq.mem === undefined && cq.staging !== undefined && this.ctx !== undefined) {
      cq.writesInFlight++;
      this.ctx.dma.write(cq.iova + off, cq.staging.subarray(off, off + 16)).then(
        () => {
          cq.writesInFlight--;
          this.irqDirty = true;
          this.poller.wake();
        },
        (err: unknown) => {
          cq.writesInFlight--;
          this.log.warn('vfio-user nvme: CQE DMA_WRITE failed', { qid: cq.qid, err: String(err) });
        },
      );
    }
    cq.tail++;
    if (cq.tail === cq.size) {
      cq.tail = 0;
      cq.phase ^= 1;
    }
    cq.reserved--;
    sq.outstanding--;
    cq.irqPending = true;
    this.irqDirty = true;
    this.stats.completions++;
    req.transportData.sq = undefined;
    req.qpair.freeRequest(req);
    this.poller.wake();
  }

  /** One interrupt per vector with new completions (IEN honoured; INTx unless INTMS bit 0). */
  private flushIrqs(): void {
    if (!this.irqDirty) return;
    this.irqDirty = false;
    const ctx = this.ctx;
    if (ctx === undefined) return;
    this.stamp = (this.stamp + 1) >>> 0 || 1;
    const msix = ctx.msixEnabled;
    let intx = false;
    for (let qid = 0; qid < this.qidLimit; qid++) {
      const cq = this.cqs[qid];
      if (cq?.irqPending !== true) continue;
      if (cq.writesInFlight > 0) {
        this.irqDirty = true; // CQEs still on their way by DMA_WRITE
        continue;
      }
      cq.irqPending = false;
      if (!cq.ien) continue;
      if (msix) {
        if (this.firedStamp[cq.iv] === this.stamp) continue;
        this.firedStamp[cq.iv] = this.stamp;
        this.stats.interrupts++;
        ctx.triggerIrq(cq.iv);
      } else if ((this.intms & 1) === 0) intx = true;
      else cq.irqPending = true; // masked: fires on INTMC
    }
    if (intx) {
      this.stats.interrupts++;
      ctx.triggerIrq(0);
    }
  }

  // ================= asynchronous events =================

  /**
   * Report an error event (NVMe Base 2.0 §5.2.1: error events are not maskable by Set Features
   * but are masked until the host reads log page 01h). A held AER is taken from the core by
   * Abort and completed with the event instead; with none held, the next AER gets it.
   */
  private raiseErrorEvent(dw0: number): void {
    if (this.errorEventMasked || this.adminQp === undefined || this.sqs[0] === undefined) return;
    this.errorEventMasked = true;
    const aer = this.aers[0];
    if (aer === undefined) {
      this.pendingEvent = dw0;
      return;
    }
    aer.transportData.eventDw0 = dw0;
    const r = abortCommand(this.adminQp, 0, aer.cid);
    if (r.status !== 0 || (r.dw0 & 1) === 1) {
      aer.transportData.eventDw0 = -1;
      this.pendingEvent = dw0;
    }
  }

  // ================= queue management (admin commands the transport owns) =================

  private maxIoQid(cq: boolean): number {
    if (this.adminQp === undefined) return 0;
    const g = queuesGranted(this.adminQp);
    const n = g === undefined ? this.cfg.options.maxIoQueues : cq ? g.ncqa : g.nsqa;
    return Math.min(n, MAX_QUEUE_PAIRS - 1);
  }

  /** Create I/O Completion Queue (NVMe Base 2.0 §5.4). */
  private createIoCq(sqe: DataView): number {
    const cdw10 = sqe.getUint32(40, true);
    const cdw11 = sqe.getUint32(44, true);
    const qid = cdw10 & 0xffff;
    const qsize = (cdw10 >>> 16) + 1;
    const pc = (cdw11 & 1) === 1;
    const ien = (cdw11 & 2) === 2;
    const iv = cdw11 >>> 16;
    const prp1 = readU64(sqe, 24);
    if (qid === 0 || qid > this.maxIoQid(true) || this.cqs[qid] !== undefined) return S_INVALID_QID;
    if (qsize < 2 || qsize > this.mqes + 1) return S_INVALID_QSIZE;
    if (!pc) return S_INVALID_FIELD; // CAP.CQR = 1: physically contiguous queues required
    if (iv >= this.cfg.msixVectors) return S_INVALID_IV;
    if (prp1 % PAGE_SIZE !== 0) return S_INVALID_FIELD;
    this.zeroDoorbell(qid, true);
    const cq = new CompletionQueue(qid, qsize, prp1, ien, iv, this.ioDoorbell(qid, true));
    if (this.dbbuf !== undefined) cq.eventIdx = { words: this.dbbuf.eventIdx, index: doorbellIndex(qid, true) };
    if (!this.mapQueue(cq, true)) return STATUS_DATA_TRANSFER_ERROR;
    this.cqs[qid] = cq;
    if (qid >= this.qidLimit) this.qidLimit = qid + 1;
    return 0;
  }

  /** Create I/O Submission Queue (NVMe Base 2.0 §5.5): a core qpair and a Connect for its qid. */
  private createIoSq(sqe: DataView): number {
    const cdw10 = sqe.getUint32(40, true);
    const cdw11 = sqe.getUint32(44, true);
    const qid = cdw10 & 0xffff;
    const qsize = (cdw10 >>> 16) + 1;
    const pc = (cdw11 & 1) === 1;
    const cqid = cdw11 >>> 16;
    const prp1 = readU64(sqe, 24);
    if (qid === 0 || qid > this.maxIoQid(false) || this.sqs[qid] !== undefined) return S_INVALID_QID;
    if (qsize < 2 || qsize > this.mqes + 1) return S_INVALID_QSIZE;
    const cq = cqid === 0 ? undefined : this.cqs[cqid];
    if (cq === undefined) return S_CQ_INVALID;
    if (!pc) return S_INVALID_FIELD;
    if (prp1 % PAGE_SIZE !== 0) return S_INVALID_FIELD;
    const holder: { sq: SubmissionQueue | undefined } = { sq: undefined };
    const qp = this.cfg.core.createQPair<VfuRequest>(
      {
        complete: this.onCompleteBound,
        close: () => {
          if (holder.sq !== undefined) this.ioQueueClosed(holder.sq);
        },
        initRequest: this.initRequestBound,
      },
      { depth: qsize, listenAddress: this.cfg.listenAddress },
    );
    const r = connect(qp, { qid, sqsize: qsize - 1, cntlid: this.cntlid, subnqn: this.subnqn, hostnqn: this.cfg.hostnqn, hostid: this.cfg.hostid });
    if (r.status !== 0) {
      qp.disconnected();
      this.log.warn('vfio-user nvme: I/O queue Connect failed', { qid, status: r.status });
      return r.status === 0x0182 ? S_INVALID_QID : S_INTERNAL;
    }
    this.zeroDoorbell(qid, false);
    const sq = new SubmissionQueue(qid, qsize, prp1, cq, qp, this.ioDoorbell(qid, false));
    if (this.dbbuf !== undefined) sq.eventIdx = { words: this.dbbuf.eventIdx, index: doorbellIndex(qid, false) };
    if (!this.mapQueue(sq, false)) {
      qp.disconnected();
      return STATUS_DATA_TRANSFER_ERROR;
    }
    holder.sq = sq;
    cq.sqRefs++;
    this.sqs[qid] = sq;
    if (qid >= this.qidLimit) this.qidLimit = qid + 1;
    this.poller.wake();
    return 0;
  }

  /** Delete I/O Submission Queue (NVMe Base 2.0 §5.7): its commands are aborted (their completions dropped). */
  private deleteIoSq(sqe: DataView): number {
    const qid = sqe.getUint32(40, true) & 0xffff;
    const sq = qid === 0 ? undefined : this.sqs[qid];
    if (sq === undefined) return S_INVALID_QID;
    this.dropSq(sq);
    return 0;
  }

  /** Delete I/O Completion Queue (NVMe Base 2.0 §5.6): not while an SQ still posts to it. */
  private deleteIoCq(sqe: DataView): number {
    const qid = sqe.getUint32(40, true) & 0xffff;
    const cq = qid === 0 ? undefined : this.cqs[qid];
    if (cq === undefined) return S_INVALID_QID;
    if (cq.sqRefs > 0) return S_INVALID_QDELETION;
    cq.state = 'deleted';
    this.cqs[qid] = undefined;
    return 0;
  }

  /**
   * Doorbell Buffer Config (NVMe Base 2.0 §5.8): PRP1 the shadow doorbell page, PRP2 the event
   * index page. I/O queues then take their doorbells from the shadow page (the admin queue keeps
   * BAR0's, as Linux's nvme_dbbuf_init skips qid 0); the controller writes each event index with
   * the entry it has caught up to, so the host rings the real doorbell only when it gets ahead
   * of a controller that might be asleep (Linux nvme_dbbuf_need_event).
   */
  private doorbellBufferConfig(sqe: DataView): number {
    const prp1 = readU64(sqe, 24);
    const prp2 = readU64(sqe, 32);
    if (prp1 === prp2 || prp1 % PAGE_SIZE !== 0 || prp2 % PAGE_SIZE !== 0) return S_INVALID_FIELD;
    const shadowBuf = this.mem?.view(prp1, PAGE_SIZE);
    const eventBuf = this.mem?.view(prp2, PAGE_SIZE);
    if (shadowBuf === undefined || eventBuf === undefined) return S_INVALID_FIELD; // must be shared RAM
    const shadow = new Uint32Array(shadowBuf.buffer, shadowBuf.byteOffset, PAGE_SIZE / 4);
    const eventIdx = new Uint32Array(eventBuf.buffer, eventBuf.byteOffset, PAGE_SIZE / 4);
    const from = this.dbbuf?.shadow ?? this.doorbellWords();
    this.dbbuf = { shadow, eventIdx, prp1, prp2 };
    for (let qid = 1; qid < MAX_QUEUE_PAIRS; qid++) {
      const sq = this.sqs[qid];
      const cq = this.cqs[qid];
      if (sq !== undefined) {
        // Carry the current values over (older Linux does not clear the buffer after a reset).
        shadow[doorbellIndex(qid, false)] = from[doorbellIndex(qid, false)] ?? 0;
        sq.tailDb.words = shadow;
        sq.eventIdx = { words: eventIdx, index: doorbellIndex(qid, false) };
        eventIdx[doorbellIndex(qid, false)] = sq.head;
      }
      if (cq !== undefined) {
        shadow[doorbellIndex(qid, true)] = from[doorbellIndex(qid, true)] ?? 0;
        cq.head.words = shadow;
        cq.eventIdx = { words: eventIdx, index: doorbellIndex(qid, true) };
        eventIdx[doorbellIndex(qid, true)] = cq.lastHead;
      }
    }
    this.poller.wake();
    return 0;
  }

  private ioDoorbell(qid: number, cq: boolean): Doorbell {
    if (this.dbbuf !== undefined) return { words: this.dbbuf.shadow, index: doorbellIndex(qid, cq) };
    return this.bar0Doorbell(qid, cq);
  }

  /** Point a queue at guest memory: shared view, or the slow way when mapped without an fd. */
  private mapQueue(q: CompletionQueue | SubmissionQueue, write: boolean): boolean {
    const mem = this.mem;
    if (mem === undefined) return false;
    const view = mem.view(q.iova, q.bytes);
    if (view !== undefined) q.setMemory(view);
    else if (mem.covers(q.iova, q.bytes, write)) q.setMemory(undefined);
    else return false;
    return true;
  }

  // ================= teardown =================

  /** The core closes an I/O qpair (controller reset, shutdown, teardown). */
  private ioQueueClosed(sq: SubmissionQueue): void {
    if (this.sqs[sq.qid] === sq) this.dropSq(sq);
    else sq.qpair.disconnected();
  }

  private dropSq(sq: SubmissionQueue): void {
    if (sq.state === 'deleted') return;
    sq.state = 'deleted';
    if (this.sqs[sq.qid] === sq) this.sqs[sq.qid] = undefined;
    sq.cq.sqRefs--;
    sq.cq.reserved -= sq.outstanding;
    if (sq.qid !== 0) {
      // The core drops these commands' completions after disconnected(): stop counting them
      // (outstanding is exact for an I/O SQ: no held AERs there).
      this.active -= sq.outstanding;
      sq.qpair.disconnected();
      if (this.active <= 0 && this.unmapWaiters.length > 0) this.releaseUnmapWaiters();
    }
    sq.outstanding = 0;
  }

  private deleteIoQueues(): void {
    for (let qid = 1; qid < MAX_QUEUE_PAIRS; qid++) {
      const sq = this.sqs[qid];
      if (sq !== undefined) this.dropSq(sq);
    }
    for (let qid = 1; qid < MAX_QUEUE_PAIRS; qid++) {
      const cq = this.cqs[qid];
      if (cq !== undefined) cq.state = 'deleted';
      this.cqs[qid] = undefined;
    }
  }

  /** Every queue, the shadow doorbells and the doorbell values go (reset, detach). */
  private teardownQueues(): void {
    this.deleteIoQueues();
    const asq = this.sqs[0];
    if (asq !== undefined) {
      asq.state = 'deleted';
      this.sqs[0] = undefined;
    }
    const acq = this.cqs[0];
    if (acq !== undefined) acq.state = 'deleted';
    this.cqs[0] = undefined;
    this.aers.length = 0;
    this.pendingEvent = -1;
    this.errorEventMasked = false;
    this.dbbuf = undefined;
    this.doorbellWords().fill(0);
    this.localDoorbells.fill(0);
    this.irqDirty = false;
    this.qidLimit = 1;
  }

  /** VFIO_USER_DEVICE_RESET: a controller reset as CC.EN 1→0 (SPDK: disable_ctrlr). */
  private deviceReset(): void {
    this.teardownQueues();
    if (this.adminQp !== undefined && this.cc !== 0) propertySet(this.adminQp, Register.CC, 0n, false);
    this.cc = 0;
    this.intms = 0;
    this.fatal = false;
  }

  /** The client went away: queues, then the core controller (its admin qpair disconnects). */
  private detach(): void {
    if (this.adminQp !== undefined) this.log.info('vfio-user nvme: detached', { cntlid: this.cntlid, ...this.stats });
    this.teardownQueues();
    this.poller.stop();
    const qp = this.adminQp;
    this.adminQp = undefined;
    this.cntlid = -1;
    qp?.disconnected();
    this.releaseUnmapWaiters();
    // The server drops every mapping after this: no cached view may survive into the next client.
    if (this.ctx !== undefined) this.mem = new GuestMemory(this.ctx.dma);
  }

  // ================= DMA mappings =================

  private dmaMapped(_range: DmaRange): void {
    // Queues whose memory went away with an earlier unmap come back when it is mapped again.
    for (let qid = 0; qid < MAX_QUEUE_PAIRS; qid++) {
      for (const q of [this.sqs[qid], this.cqs[qid]]) {
        if (q?.state === 'unmapped' && this.mapQueue(q, q instanceof CompletionQueue)) q.state = 'live';
      }
    }
    this.poller.wake();
  }

  /**
   * A mapping is going: no view into it may be used afterwards (it would fault the process).
   * Queues inside it stop; in-flight transfers (whose iovs may point into it) finish first.
   */
  private dmaUnmapping(range: DmaRange): void | Promise<void> {
    this.mem?.unmapping(range);
    for (let qid = 0; qid < MAX_QUEUE_PAIRS; qid++) {
      for (const q of [this.sqs[qid], this.cqs[qid]]) {
        if (q?.state === 'live' && overlaps(q.iova, q.bytes, range.iova, range.length)) {
          q.state = 'unmapped';
          q.setMemory(undefined);
          // Normal at boot: QEMU re-lays out low memory after SeaBIOS enabled the controller;
          // the next driver resets it (or the memory comes back and the queue resumes).
          this.log.info('vfio-user nvme: queue paused, its memory was unmapped', { qid, cq: q instanceof CompletionQueue });
        }
      }
    }
    const db = this.dbbuf;
    if (db !== undefined && (overlaps(db.prp1, PAGE_SIZE, range.iova, range.length) || overlaps(db.prp2, PAGE_SIZE, range.iova, range.length))) {
      this.dbbuf = undefined;
      const words = this.doorbellWords();
      for (let qid = 1; qid < MAX_QUEUE_PAIRS; qid++) {
        const sq = this.sqs[qid];
        const cq = this.cqs[qid];
        if (sq !== undefined) {
          sq.tailDb.words = words;
          sq.eventIdx = undefined;
        }
        if (cq !== undefined) {
          cq.head.words = words;
          cq.eventIdx = undefined;
        }
      }
    }
    if (this.active <= 0) return;
    return new Promise<void>((resolve) => {
      this.unmapWaiters.push(resolve);
    });
  }

  private releaseUnmapWaiters(): void {
    const w = this.unmapWaiters;
    this.unmapWaiters = [];
    for (const resolve of w) resolve();
    if (this.sqs[0] !== undefined) this.poller.wake();
  }
}

/** Any Atomics read-modify-write is a locked instruction: a full fence for all memory on x86-64 and arm64. */
const fenceCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * A full memory barrier between the EventIdx store and the shadow tail load (SPDK: spdk_mb() in
 * set_sq_eventidx). The shadow pages are mmapped guest memory, not a SharedArrayBuffer, so
 * Atomics cannot be used on them directly; a store followed by a load may otherwise be
 * reordered by the CPU (x86 store buffer).
 */
function fullFence(): void {
  Atomics.add(fenceCell, 0, 0);
}

/**
 * The 64-byte SQE at `off` of the ring into a request's SQE, as sixteen dwords: for so small a
 * copy the JIT-inlined DataView accesses cost less than Buffer.copy's call into C++.
 */
function copySqe(src: DataView, off: number, dst: DataView): void {
  for (let i = 0; i < 64; i += 4) dst.setUint32(i, src.getUint32(off + i, true), true);
}

/** Little-endian u64 at `off` of an SQE (PRP entries; exact below 2^53). */
function readU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x1_0000_0000;
}

/** OR `mask` into the data byte at logical offset `at` of the request's iov. */
function orDataByte(req: VfuReq, at: number, mask: number): void {
  patchDataByte(req, at, (b) => b | mask);
}

/** Write a little-endian u16 at byte `at` of the command's data, across an iov boundary if need be. */
function setDataU16(req: VfuReq, at: number, value: number): void {
  patchDataByte(req, at, () => value & 0xff);
  patchDataByte(req, at + 1, () => value >>> 8);
}

/** Replace byte `at` of the command's data (admin completions only: not on the I/O path). */
function patchDataByte(req: VfuReq, at: number, f: (b: number) => number): void {
  let off = at;
  for (let i = 0; i < req.iovcnt; i++) {
    const v = req.iov[i];
    if (v === undefined) return;
    if (off < v.byteLength) {
      v[off] = f(v[off] ?? 0);
      return;
    }
    off -= v.byteLength;
  }
}

/** Data length of an admin command whose data PRPs describe (SPDK map_admin_cmd_req). */
function adminDataLength(sqe: DataView, opcode: number): number {
  const cdw10 = sqe.getUint32(40, true);
  switch (opcode) {
    case AdminOpcode.Identify:
      return 4096;
    case AdminOpcode.GetLogPage: {
      const numd = ((sqe.getUint32(44, true) & 0xffff) * 0x10000 + (cdw10 >>> 16) + 1) * 4;
      return numd;
    }
    case AdminOpcode.GetFeatures:
    case AdminOpcode.SetFeatures:
      switch (cdw10 & 0xff) {
        case 0x03: // LBA Range Type
          return 4096;
        case 0x0c: // Autonomous Power State Transition
          return 256;
        case 0x0e: // Timestamp
          return 8;
        case 0x16: // Host Behavior Support
          return 512;
        case 0x81: // Host Identifier: 8 bytes, 16 with EXHID
          return (sqe.getUint32(44, true) & 1) === 1 ? 16 : 8;
        default:
          return 0;
      }
    default:
      return 0;
  }
}

/** MDTS as the core computes it (nvmf controller.ts mdtsFor): largest power of two of 4 KiB pages. */
function mdtsFor(maxIoSize: number): number {
  const pages = Math.floor(maxIoSize / 4096);
  if (pages < 2) return 1;
  return Math.min(Math.floor(Math.log2(pages)), 255);
}
