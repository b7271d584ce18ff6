/**
 * One loopback connection: the host's {@link HostQPair} and the target's
 * {@link QPairTransportOps} in one object, with no wire between them. Like Linux's nvme-loop
 * (drivers/nvme/target/loop.c), commands go straight from the host queue into the target core,
 * and data is never copied: the core reads and writes the host's own buffers.
 *
 * Per-I/O path: `submit` takes a pooled `Request` from the core's qpair, copies the 64-byte SQE
 * into it and points `iov[0]` at the host's buffer; `complete` puts the request on a
 * preallocated ring; one `setImmediate` per batch hands the CQEs to the host and returns the
 * requests to the pool. Completions are never delivered from inside `submit` (the
 * HostQPairHandler contract), and delivering on a later event-loop turn keeps a host that
 * resubmits from its completion callback from starving timers (keep-alive) when the block
 * device completes synchronously.
 */
import type { HostDataDirection, HostQPair, HostQPairHandler } from '@nvmu/client';
import { Psdt, SglSubtype, SqeField } from '@nvmu/nvme-spec';
import type { QPair, QPairCloseReason, QPairTransportOps, Request } from '@nvmu/nvmf';

/** The connection's life; a string-literal union (STYLE.md). */
export type LoopbackConnectionState =
  /** Carrying commands. */
  | 'open'
  /** The target asked to close: pending completions are delivered, then the host is told. */
  | 'closing'
  /** Gone: nothing more is delivered in either direction. */
  | 'closed';

/** Why the host side sees a loopback connection go down. */
export class LoopbackDisconnectedError extends Error {
  override readonly name = 'LoopbackDisconnectedError';
  readonly code = 'ERR_NVMU_LOOPBACK_DISCONNECTED';
  constructor(
    message: string,
    /** The target core's close reason, or 'dropped' for a simulated wire failure. */
    readonly reason: QPairCloseReason | 'dropped',
  ) {
    super(message);
  }
}

// Loopback describes the data with an SGL Data Block descriptor of subtype Offset (NVMe Base 2.0
// §4.3.2, Figure 117), offset 0: it is all there when the command arrives, as with in-capsule
// data on a fabric.

/** @internal Created by the target transport for every host qpair. */
export class LoopbackConnection implements HostQPair {
  readonly qid: number;
  readonly queueSize: number;
  readonly inCapsuleDataSize: number;
  state: LoopbackConnectionState = 'open';

  /** The core's qpair; set right after construction by the target transport. */
  qpair!: QPair<undefined>;
  /** The hooks given to the core for this qpair. */
  readonly ops: QPairTransportOps<undefined>;

  private readonly handler: HostQPairHandler;
  private readonly maxTransferSize: number;
  // Completed requests waiting for delivery, oldest first (a ring over a preallocated array).
  private readonly ring: (Request<undefined> | undefined)[];
  private ringHead = 0;
  private ringCount = 0;
  private flushScheduled = false;
  private closeReason: QPairCloseReason | undefined;
  private readonly flushBound: () => void;
  private readonly onGone: (c: LoopbackConnection) => void;

  constructor(
    opts: { qid: number; queueSize: number; inCapsuleDataSize: number; maxTransferSize: number; depth: number; handler: HostQPairHandler },
    onGone: (c: LoopbackConnection) => void,
  ) {
    this.qid = opts.qid;
    this.queueSize = opts.queueSize;
    this.inCapsuleDataSize = opts.inCapsuleDataSize;
    this.maxTransferSize = opts.maxTransferSize;
    this.handler = opts.handler;
    this.ring = new Array<Request<undefined> | undefined>(opts.depth).fill(undefined);
    this.flushBound = () => {
      this.flush();
    };
    this.onGone = onGone;
    this.ops = {
      complete: (req) => {
        this.complete(req);
      },
      close: (reason) => {
        this.closeByTarget(reason);
      },
    };
  }

  // ---- host side (HostQPair) ----

  submit(sqe: Uint8Array, data: Uint8Array | undefined, dataOffset: number, dataLength: number, direction: HostDataDirection): void {
    if (this.state !== 'open') {
      // Closing: the target is hanging up, as a wire that is closing loses what is sent now;
      // the host learns of it from `disconnected` and fails the command. Closed: the host was
      // told already (or closed it itself), so using it is a broken contract.
      if (this.state === 'closing') return;
      throw new Error(`loopback qpair ${this.qid} is closed`);
    }
    if (dataLength > this.maxTransferSize) throw new RangeError(`data length ${dataLength} above the transport's ${this.maxTransferSize}`);
    const req = this.qpair.allocRequest();
    if (req === undefined) {
      // The host overran its queue: on a wire this is a protocol error that ends the connection.
      this.drop(new LoopbackDisconnectedError(`loopback qpair ${this.qid}: host overran the queue`, 'dropped'));
      return;
    }
    const s = req.sqeBytes;
    s.set(sqe, 0); // throws if the host passed more than 64 bytes
    const v = req.sqe;
    v.psdt = Psdt.SglMptrContiguous;
    s.fill(0, SqeField.DPTR, SqeField.DPTR + 16); // SGL1: a Data Block at address (offset) 0
    v.sgl1Subtype = SglSubtype.Offset;
    if (direction !== 'none' && dataLength > 0 && data !== undefined) {
      v.sgl1Length = dataLength;
      // Zero copy: the core reads from / writes into the host's buffer. A view is made only when
      // the caller passed a window of a larger buffer.
      req.iov[0] = dataOffset === 0 && dataLength === data.byteLength ? data : data.subarray(dataOffset, dataOffset + dataLength);
      req.iovcnt = 1;
      req.length = dataLength;
    } else {
      req.clearData();
    }
    this.qpair.submit(req);
  }

  /** Host closes the qpair: no completion and no `disconnected` call follow. */
  close(): Promise<void> {
    if (this.state !== 'closed') this.finish(undefined);
    return Promise.resolve();
  }

  // ---- target side (QPairTransportOps) ----

  /**
   * The core wants the qpair closed (QPairTransportOps.close): deliver what is queued (for
   * example the Disconnect command's CQE), then tell the host and the core.
   */
  private closeByTarget(reason: QPairCloseReason): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.closeReason = reason;
    this.scheduleFlush();
  }

  private complete(req: Request<undefined>): void {
    if (this.state === 'closed') {
      this.qpair.freeRequest(req);
      return;
    }
    // c2h data already sits in the host's buffer (iov[0] is that buffer).
    const ring = this.ring;
    ring[(this.ringHead + this.ringCount) % ring.length] = req;
    this.ringCount++;
    this.scheduleFlush();
  }

  /** Simulates the wire failing: the host sees `disconnected(error)`, the core `disconnected()`. */
  drop(error: Error): void {
    if (this.state === 'closed') return;
    this.finish(error);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    const ring = this.ring;
    // Deliver only what is queued now; completions caused by resubmissions from the handler
    // wait for the next turn.
    let n = this.ringCount;
    while (n-- > 0 && !this.isClosed()) {
      const i = this.ringHead;
      const req = ring[i];
      if (req === undefined) break;
      this.handler.completion(req.cqeBytes);
      // The handler may have closed the qpair (finish() emptied the ring).
      if (this.isClosed()) return;
      ring[i] = undefined;
      this.ringHead = (i + 1) % ring.length;
      this.ringCount--;
      this.qpair.freeRequest(req);
    }
    if (this.isClosed()) return;
    if (this.state === 'closing' && this.ringCount === 0) {
      this.finish(new LoopbackDisconnectedError(`loopback qpair ${this.qid} closed by the target (${this.closeReason ?? 'unknown'})`, this.closeReason ?? 'dropped'));
    } else if (this.ringCount > 0) {
      this.scheduleFlush();
    }
  }

  // A method, so that TypeScript does not narrow `state` across handler calls that change it.
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Ends the connection; `error` undefined means the host closed it (no handler call). */
  private finish(error: Error | undefined): void {
    this.state = 'closed';
    for (let i = 0; i < this.ring.length; i++) this.ring[i] = undefined;
    this.ringCount = 0;
    this.onGone(this);
    if (error !== undefined) this.handler.disconnected(error);
    this.qpair.disconnected();
  }
}
