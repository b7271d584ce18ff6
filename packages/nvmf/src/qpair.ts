/**
 * The core's side of a queue pair: the request pool, submission (SQHD accounting, dispatch) and
 * completion (CQE fill, hand back to the transport). Implements the `QPair` contract of
 * request.ts. Which controller a qpair belongs to is an `owner` (the Controller) set by Connect.
 */
import { clearCqe, setCqeCompletion, sqeCid } from '@nvmu/nvme-spec';
import type { QPairCloseReason, QPairTransportOps, TargetTransport } from './transport.js';
import { CQE_SIZE, Request, SQE_SIZE, type ListenAddress, type QPair, type QPairState } from './request.js';
import { IoCounters } from './io-stats.js';
import type { Namespace } from './namespace.js';
import { PENDING, CommandStatus } from './status.js';

/** What a qpair tells its controller (implemented by Controller; declared here to keep the module graph acyclic). */
export interface QPairOwner {
  /** The qpair's wire is gone. */
  qpairDisconnected(qp: CoreQPair): void;
  /** A command completed with a non-zero status (for the Error Information log). */
  recordError(qp: CoreQPair, req: CoreRequest, status: number): void;
}

/** Runs one submitted command: returns a status, or PENDING and completes it later. */
export type Dispatch = (qp: CoreQPair, req: CoreRequest) => number;

/** A Request with the core's per-command scratch fields (not part of the transport contract). */
export class CoreRequest<TData = unknown> extends Request<TData> {
  /** The qpair, typed as the core's implementation. */
  readonly core: CoreQPair<TData>;
  /** Namespace of an I/O in flight (for in-flight accounting), else undefined. */
  ns: Namespace | undefined = undefined;
  /** Bytes a Read, Write or Compare moves (NLB × block size). */
  dataBytes = 0;
  /** Flush: block devices still flushing. */
  flushesLeft = 0;
  /** Dataset Management: ranges in `ownData`, and the next one to deallocate. */
  rangeCount = 0;
  nextRange = 0;
  /** Write Zeroes with FUA (or no volatile write cache): flush once the zeroes are written. */
  flushAfterWrite = false;
  /** Status carried between asynchronous steps. */
  pendingStatus = 0;
  /** True while counted in a subsystem's in-flight I/O (for pause). */
  subsysCounted = false;
  /** Who counted this I/O in (the subsystem), to count it out on completion. */
  ioOwner: { ioDone(req: CoreRequest): void } | undefined = undefined;
  /** A buffer the core allocated for this command: DSM's range list, Compare's read data. Not used by Read/Write. */
  ownData: Buffer | undefined = undefined;

  constructor(qpair: CoreQPair<TData>, index: number, transportData: TData, sqeBytes: Buffer, cqeBytes: Buffer) {
    super(qpair, index, transportData, sqeBytes, cqeBytes);
    this.core = qpair;
  }
}

/**
 * Shared by a target's qpairs: lets a management timer that sleeps while no I/O runs (the
 * latency sampler) learn that I/O started. `waiting` is what the I/O path tests; `started` runs
 * only on the first I/O command after a quiet spell, and only while something waits.
 */
export interface IoActivity {
  waiting: boolean;
  started(): void;
}

export interface CoreQPairInit<TData> {
  ops: QPairTransportOps<TData>;
  /** Told when an I/O command arrives at an idle qpair while `waiting` (see `Target.onNextIo`). Default: nobody. */
  activity?: IoActivity | undefined;
  transport: TargetTransport;
  depth: number;
  /** Requests made before Connect; the pool grows to SQSIZE + 1 (at most `depth`) at Connect. Default `depth`. */
  preConnectDepth?: number | undefined;
  listenAddress: ListenAddress;
  peerAddress: ListenAddress | undefined;
  localAddress: ListenAddress | undefined;
  dispatch: Dispatch;
  onClosed: (qp: CoreQPair) => void;
}

export class CoreQPair<TData = unknown> implements QPair<TData> {
  qid = -1;
  sqsize = -1;
  cntlid = -1;
  state: QPairState = 'connecting';
  sqFlowControlDisabled = false;
  hostnqn = '';
  subnqn = '';
  readonly depth: number;
  readonly listenAddress: ListenAddress;
  readonly peerAddress: ListenAddress | undefined;
  readonly localAddress: ListenAddress | undefined;
  readonly transport: TargetTransport;
  readonly ops: QPairTransportOps<TData>;
  /** The controller after Connect. */
  owner: QPairOwner | undefined = undefined;
  /** Requests the core executes now (submitted, not yet completed). */
  outstanding = 0;
  /** Submitted commands since creation (statistics). */
  submitted = 0;
  /** I/O command counts of this qpair (statistics; updated in place, nothing allocated per I/O). */
  readonly io = new IoCounters();
  /** Every request, by index; grows once at Connect (see `grow`). */
  readonly pool: CoreRequest<TData>[];
  private readonly free: CoreRequest<TData>[];
  private sqhd = 0;
  private readonly dispatch: Dispatch;
  private readonly onClosed: (qp: CoreQPair) => void;
  private readonly activity: IoActivity | undefined;
  /** `submitted` when `sampleInflight` last ran: were there commands since? */
  private submittedAtSample = 0;

  constructor(init: CoreQPairInit<TData>) {
    if (!Number.isInteger(init.depth) || init.depth < 1 || init.depth > 65536) throw new RangeError(`qpair depth ${init.depth} out of range`);
    this.depth = init.depth;
    this.transport = init.transport;
    this.listenAddress = init.listenAddress;
    this.peerAddress = init.peerAddress;
    this.localAddress = init.localAddress;
    this.dispatch = init.dispatch;
    this.onClosed = init.onClosed;
    this.activity = init.activity;
    this.ops = init.ops;
    const first = Math.min(init.depth, Math.max(1, init.preConnectDepth ?? init.depth));
    this.pool = [];
    this.free = [];
    this.grow(first);
  }

  /**
   * Add requests until the pool holds `n` (at most `depth`). Called at creation and once more
   * when Connect says the queue size, so a connection that never connects holds only its
   * pre-Connect requests. Allocates: never on the I/O path.
   */
  private grow(n: number): void {
    const from = this.pool.length;
    const to = Math.min(n, this.depth);
    if (to <= from) return;
    // One slab each for SQEs and CQEs: two allocations per growth instead of two per request.
    const sqes = Buffer.alloc(SQE_SIZE * (to - from));
    const cqes = Buffer.alloc(CQE_SIZE * (to - from));
    const added: CoreRequest<TData>[] = [];
    for (let i = from; i < to; i++) {
      const k = i - from;
      const req = new CoreRequest<TData>(
        this,
        i,
        undefined as TData,
        sqes.subarray(k * SQE_SIZE, (k + 1) * SQE_SIZE),
        cqes.subarray(k * CQE_SIZE, (k + 1) * CQE_SIZE),
      );
      if (this.ops.initRequest !== undefined) req.transportData = this.ops.initRequest(req);
      this.pool.push(req);
      added.push(req);
    }
    // `free` is a stack: the lowest index is taken first.
    for (const r of added.reverse()) this.free.push(r);
  }

  /** Requests in the pool now (grows from `preConnectDepth` to SQSIZE + 1 at Connect). */
  get poolSize(): number {
    return this.pool.length;
  }

  allocRequest(): CoreRequest<TData> | undefined {
    const req = this.free.pop();
    if (req === undefined) return undefined;
    req.state = 'new';
    req.iovcnt = 0;
    req.length = 0;
    req.dataLength = 0;
    return req;
  }

  submit(req: Request<TData>): void {
    const r = this.pool[req.index];
    if (r !== req || r.state !== 'new') throw new Error(`submit of a request in state ${req.state} (or of another qpair)`);
    r.state = 'executing';
    clearCqe(r.cqeView, 0);
    r.ns = undefined;
    r.subsysCounted = false;
    r.dataLength = 0;
    // The SQ head moves past this entry as soon as the core consumes it (NVMe Base 2.0 §4.6 SQHD).
    this.sqhd = this.sqsize < 0 ? (this.sqhd + 1) & 0xffff : this.sqhd >= this.sqsize ? 0 : this.sqhd + 1;
    // The first I/O after a quiet spell wakes a sleeping sampler: one test per I/O, nothing more.
    if (this.outstanding === 0 && this.qid > 0 && this.activity?.waiting === true) this.activity.started();
    this.outstanding++;
    this.submitted++;
    // Latency is sampled, one I/O in LATENCY_SAMPLE_EVERY: the clock read costs more than the counting.
    if (this.state === 'closing' || this.state === 'closed') {
      this.complete(r, CommandStatus.AbortedSqDeletion);
      return;
    }
    let status: number;
    try {
      status = this.dispatch(this, r);
    } catch {
      // A bug in a command handler must not take the qpair down: fail the command instead.
      status = CommandStatus.InternalError;
    }
    if (status !== PENDING) this.complete(r, status);
  }

  fail(req: Request<TData>, status: number): void {
    const r = this.pool[req.index];
    if (r !== req || r.state !== 'new') throw new Error(`fail of a request in state ${req.state} (or of another qpair)`);
    r.state = 'executing';
    clearCqe(r.cqeView, 0);
    r.ns = undefined;
    r.subsysCounted = false;
    r.dataLength = 0;
    this.outstanding++;
    this.complete(r, status);
  }

  freeRequest(req: Request<TData>): void {
    const r = this.pool[req.index];
    if (r !== req) throw new Error('freeRequest of a request of another qpair');
    // Freed twice means completed twice (or a transport bug): the request may already serve
    // another command, so this is an error, never ignored.
    if (r.state === 'free') throw new Error(`freeRequest of request ${r.index} (qid ${this.qid}), which is already free: a double free`);
    r.state = 'free';
    this.free.push(r);
  }

  disconnected(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const owner = this.owner;
    this.owner = undefined;
    owner?.qpairDisconnected(this);
    this.onClosed(this);
  }

  // ---- core-internal ----

  /**
   * Finish a request: fill the CQE (NVMe Base 2.0 §4.6: DW2 SQHD/SQID, DW3 CID/status) and hand it
   * to the transport. DW0/DW1 were written by the command. After `disconnected()` the request
   * silently returns to the pool. Completing a request twice throws.
   */
  complete(req: CoreRequest<TData>, status: number): void {
    if (req.state !== 'executing' && req.state !== 'held') {
      // A second completion of one command: the first already went to the transport (or the
      // request went back to the pool), so this one must not reach the wire.
      throw new Error(`complete of request ${req.index} (qid ${this.qid}) in state ${req.state}: a double completion`);
    }
    this.outstanding--;
    if (this.qid > 0) this.count(req, status);
    if (this.state === 'closed') {
      req.state = 'free';
      this.free.push(req);
      return;
    }
    const sqhd = this.sqFlowControlDisabled ? 0xffff : this.sqhd;
    setCqeCompletion(req.cqeView, 0, sqhd, this.qid < 0 ? 0 : this.qid, sqeCid(req.sqeView, 0), status);
    if (status !== 0) this.owner?.recordError(this, req, status);
    req.state = 'completing';
    this.ops.complete(req);
  }

  /**
   * Add `dtUs` microseconds of the commands in flight now to the latency sum (Little's law: the
   * integral of the commands in flight over time is the sum of their latencies). Called by a
   * management timer, never per I/O: the I/O path reads no clock. Returns true when this is an
   * I/O qpair with commands in flight or submitted since the previous call.
   */
  sampleInflight(dtUs: number): boolean {
    if (this.qid <= 0) return false;
    if (this.outstanding > 0) this.io.latencyUs += this.outstanding * dtUs;
    const busy = this.outstanding > 0 || this.submitted !== this.submittedAtSample;
    this.submittedAtSample = this.submitted;
    return busy;
  }

  /** Statistics of one completed I/O command (NVM Command Set 1.0 opcodes 02h Read, 01h Write). */
  private count(req: CoreRequest<TData>, status: number): void {
    const op = req.opcode;
    if (op === 0x7f) return; // a Fabrics command (Connect of this I/O queue) is not I/O
    const io = this.io;
    if (op === 0x02) {
      io.readOps++;
      if (status === 0) io.readBytes += req.length;
    } else if (op === 0x01) {
      io.writeOps++;
      if (status === 0) io.writeBytes += req.length;
    } else {
      io.otherOps++;
    }
    if (status !== 0) io.errors++;
  }

  /** Mark a request as held by the core (AER) without completing it. */
  hold(req: CoreRequest<TData>): void {
    req.state = 'held';
  }

  /** Bind to a controller after a successful Connect. */
  bind(owner: QPairOwner, qid: number, sqsize: number, cntlid: number, hostnqn: string, subnqn: string, sqFlowControlDisabled: boolean): void {
    this.owner = owner;
    this.qid = qid;
    this.sqsize = sqsize;
    this.cntlid = cntlid;
    this.hostnqn = hostnqn;
    this.subnqn = subnqn;
    this.sqFlowControlDisabled = sqFlowControlDisabled;
    this.sqhd = this.sqhd % (sqsize + 1);
    this.state = 'active';
    // The queue size is known now: the pool takes its working size (NVMe-oF 1.1 §3.3 SQSIZE).
    this.grow(sqsize + 1);
  }

  /** Ask the transport to close this qpair. */
  close(reason: QPairCloseReason): void {
    if (this.state === 'closed') return;
    if (this.state !== 'closing') this.state = 'closing';
    this.ops.close(reason);
  }
}
