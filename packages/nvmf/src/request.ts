/**
 * The `Request`: one NVMe-oF command on its way through the target, from the moment a transport
 * takes it from its qpair's pool until the transport gives it back.
 *
 * Requests are allocated once, when the core creates a qpair (one per queue entry), and reused
 * for every command on that qpair: the hot path allocates nothing. A transport imports this file
 * as TYPES ONLY; the objects themselves (and their methods) reach it through
 * `QPair.allocRequest()`.
 *
 * Life of a request (the `state` field), modelled on SPDK's `spdk_nvmf_tcp_req_state`:
 *
 * ```
 *  free ──allocRequest()──▶ new ──(transport reads SQE, and for host-to-controller data
 *                                  fetches it, e.g. R2T/H2CData)──▶ qpair.submit(req)
 *        ──▶ executing ──(core fills CQE and, for controller-to-host, the data)──▶ completing
 *        ──(transport sends data + CQE)──▶ qpair.freeRequest(req) ──▶ free
 *
 *  executing ──(Asynchronous Event Request)──▶ held ──(event)──▶ completing
 * ```
 *
 * Buffers: the 64-byte SQE and 16-byte CQE live in per-request Buffers (`sqeBytes`,
 * `cqeBytes`). Data is described by `iov[0 .. iovcnt)`, views the TRANSPORT provides (an
 * in-capsule data slice, a pooled per-request buffer, or for vfio-user views of guest memory);
 * the core reads from them (host-to-controller) or fills them (controller-to-host) and never
 * keeps a reference after completion.
 */

import { CqeView, FABRICS_OPCODE, sqeCid, SqeView } from '@nvmu/nvme-spec';

/**
 * Where a request is in its life. A string-literal union, not booleans (STYLE.md).
 *
 * - `'free'`       in the qpair's pool; no field is meaningful.
 * - `'new'`        returned by `allocRequest()`; the transport is filling `sqeBytes` and, for
 *                  host-to-controller commands, receiving the data into `iov`.
 * - `'executing'`  handed to the core by `qpair.submit(req)`; the core (or a block device)
 *                  owns it. The transport must not touch its buffers.
 * - `'held'`       the core keeps it without a deadline: an Asynchronous Event Request waiting
 *                  for an event (NVMe Base 2.0 §5.2). It completes on an event, on abort of the
 *                  qpair, or on controller teardown (then with status Aborted - SQ Deletion).
 * - `'completing'` the core filled `cqeBytes` (and for controller-to-host the data) and called
 *                  the transport's `complete(req)` hook; the transport is sending it. The
 *                  transport calls `qpair.freeRequest(req)` when it no longer needs it.
 */
export type RequestState = 'free' | 'new' | 'executing' | 'held' | 'completing';

/**
 * Data transfer direction of a command (NVMe Base 2.0 Figure 28: bits 1:0 of the opcode; for a
 * Fabrics command, bits 1:0 of FCTYPE, NVMe-oF 1.1 §6).
 */
export type DataDirection = 'none' | 'host-to-controller' | 'controller-to-host';

/** Byte sizes of the fixed command structures (NVMe Base 2.0 §4.2, §4.6). */
export const SQE_SIZE = 64;
export const CQE_SIZE = 16;

/** How many iovecs a request can carry; a transport describing more must coalesce. */
export const MAX_IOVCNT = 32;


/**
 * One pooled command. Fields are public so a transport touches them directly (no getters on the
 * hot path); the comments say who writes each one and when.
 *
 * `TData` is the transport's own per-request state (for TCP: a pooled data buffer, the R2T
 * offset, the PDU being built). The transport fills `transportData` once per pooled request in
 * its `initRequest` hook when the qpair is created, and reuses it.
 */
export class Request<TData = unknown> {
  /** The qpair this request belongs to (its pool). Never changes. */
  readonly qpair: QPair<TData>;
  /** Index of this request in its qpair's pool, 0 .. pool size - 1. Handy as a transport tag. */
  readonly index: number;

  /**
   * The 64-byte submission queue entry. Written by the TRANSPORT (copy the SQE from the command
   * capsule, or from the guest's SQ) before `submit`. Read by the core.
   */
  readonly sqeBytes: Buffer;
  /**
   * The 16-byte completion queue entry. Written by the CORE before `complete(req)`: DW0, DW1,
   * SQHD, SQID, CID and the status field (phase bit 0; a PCIe-style transport sets the phase).
   */
  readonly cqeBytes: Buffer;
  /**
   * @nvmu/nvme-spec view over `sqeBytes` (opcode, cid, nsid, sgl1*, cdw10..15, slba, nlb, fua...).
   * Reusable and allocation free; a transport may read SGL fields through it.
   */
  readonly sqe: SqeView;
  /** @nvmu/nvme-spec view over `cqeBytes` (dw0, dw1, sqhd, sqid, cid, status). */
  readonly cqe: CqeView;
  /** DataView over `sqeBytes` (little-endian reads of SQE fields without allocation). */
  readonly sqeView: DataView;
  /** DataView over `cqeBytes`. */
  readonly cqeView: DataView;

  /**
   * Data buffers, valid in `iov[0 .. iovcnt)`. Provided by the TRANSPORT before `submit`
   * (preallocated array of length MAX_IOVCNT; replace its elements, do not replace the array).
   * Host-to-controller: the transport has filled them. Controller-to-host: the core fills them.
   */
  readonly iov: Uint8Array[];
  /** Number of valid entries in `iov`. Set by the transport; 0 when the command has no data. */
  iovcnt = 0;
  /**
   * Total data length in bytes the host described for this command (from the SGL / PRPs),
   * set by the TRANSPORT; must equal the sum of the iov lengths. The core checks it against
   * what the command needs (e.g. NLB × block size) and fails the command if it is too short.
   */
  length = 0;

  /** Where the request is in its life; see `RequestState`. */
  state: RequestState = 'free';

  /** The transport's own per-request state; see the class comment. */
  transportData: TData;

  /**
   * Set by the CORE before `complete(req)` for controller-to-host commands: how many bytes of
   * `iov` hold data to return (may be less than `length`, e.g. a short Identify or log read).
   * A transport sends exactly this many bytes.
   */
  dataLength = 0;

  /**
   * Built by the core only (a transport gets requests from `qpair.allocRequest()`).
   * `sqeBytes`/`cqeBytes` may be slices of one slab per qpair; default: own buffers.
   */
  constructor(
    qpair: QPair<TData>,
    index: number,
    transportData: TData,
    sqeBytes: Buffer = Buffer.alloc(SQE_SIZE),
    cqeBytes: Buffer = Buffer.alloc(CQE_SIZE),
  ) {
    this.qpair = qpair;
    this.index = index;
    this.transportData = transportData;
    this.sqeBytes = sqeBytes;
    this.cqeBytes = cqeBytes;
    this.sqe = new SqeView(sqeBytes);
    this.cqe = new CqeView(cqeBytes);
    this.sqeView = new DataView(this.sqeBytes.buffer, this.sqeBytes.byteOffset, SQE_SIZE);
    this.cqeView = new DataView(this.cqeBytes.buffer, this.cqeBytes.byteOffset, CQE_SIZE);
    this.iov = new Array<Uint8Array>(MAX_IOVCNT);
    const empty = new Uint8Array(0);
    for (let i = 0; i < MAX_IOVCNT; i++) this.iov[i] = empty;
  }

  /** SQE byte 0: the opcode. */
  get opcode(): number {
    return this.sqeBytes[0] ?? 0;
  }

  /** SQE bytes 2-3: the command identifier the CQE echoes. */
  get cid(): number {
    return sqeCid(this.sqeView, 0);
  }

  /** For a Fabrics command (opcode 7Fh), SQE byte 4: FCTYPE (NVMe-oF 1.1 §6.1). */
  get fctype(): number {
    return this.sqeBytes[4] ?? 0;
  }

  /**
   * Data direction of the command in `sqeBytes`, from the opcode's (or, for Fabrics commands,
   * FCTYPE's) low two bits: 00b none, 01b host-to-controller, 10b controller-to-host. A
   * transport reads this after copying the SQE to decide whether to fetch data (R2T) first.
   */
  get xfer(): DataDirection {
    const op = this.sqeBytes[0] ?? 0;
    const bits = (op === FABRICS_OPCODE ? (this.sqeBytes[4] ?? 0) : op) & 3;
    // 11b (bidirectional) is not used by any command this target supports; treat as none so the
    // core fails the command with Invalid Opcode rather than the transport guessing.
    return bits === 1 ? 'host-to-controller' : bits === 2 ? 'controller-to-host' : 'none';
  }

  /**
   * Convenience for the common single-buffer case: `iov[0] = buf`, `iovcnt = 1`,
   * `length = buf.byteLength` (or `iovcnt = 0`, `length = 0` for an empty buffer).
   */
  setData(buf: Uint8Array): void {
    if (buf.byteLength === 0) {
      this.iovcnt = 0;
      this.length = 0;
      return;
    }
    this.iov[0] = buf;
    this.iovcnt = 1;
    this.length = buf.byteLength;
  }

  /** No data: `iovcnt = 0`, `length = 0`. */
  clearData(): void {
    this.iovcnt = 0;
    this.length = 0;
  }
}

/** Address family of a listen address (NVMe-oF 1.1 §5.3 Discovery Log Page Entry, ADRFAM). */
export type AddressFamily = 'ipv4' | 'ipv6' | 'ib' | 'fc' | 'intra-host';

/**
 * Where a transport listens (SPDK's `spdk_nvme_transport_id` subset). Plain data, compared by
 * value (all four fields).
 */
export interface ListenAddress {
  /** Transport type name, equal to the owning transport's `trtype` (e.g. 'tcp', 'loopback'). */
  readonly trtype: string;
  /** Address family. */
  readonly adrfam: AddressFamily;
  /** Transport address: an IP address for TCP (may be a wildcard '0.0.0.0' / '::'), a path, a name. */
  readonly traddr: string;
  /** Transport service id: the TCP port as a decimal string ('4420'), or '' where none applies. */
  readonly trsvcid: string;
}

/** Life of a qpair as the core sees it. */
export type QPairState =
  | 'connecting' // created, no successful Connect yet: only a Fabrics Connect is accepted
  | 'active' // Connect succeeded: bound to a controller, qid known
  | 'closing' // the core asked the transport to close, or the transport reported disconnected
  | 'closed'; // disconnected and every request returned

/**
 * A queue pair as the core gives it to a transport (created by `TransportCore.createQPair`).
 * The methods are the run-time entry points into the core.
 */
export interface QPair<TData = unknown> {
  /** Queue id: 0 admin, >= 1 I/O; -1 until Connect succeeds. */
  readonly qid: number;
  /** Queue size as a 0's based value from Connect (SQSIZE); -1 until Connect succeeds. */
  readonly sqsize: number;
  /** Controller id after Connect; -1 before. */
  readonly cntlid: number;
  /**
   * The most requests the pool may hold (`QPairCreateOptions.depth`); before Connect it may
   * hold fewer (`preConnectDepth`), after Connect SQSIZE + 1.
   */
  readonly depth: number;
  /** Life cycle state; see `QPairState`. */
  readonly state: QPairState;
  /** Whether the host disabled SQ flow control in Connect (CATTR bit 2): then SQHD is FFFFh. */
  readonly sqFlowControlDisabled: boolean;
  /** The listener this qpair came in on. */
  readonly listenAddress: ListenAddress;
  /** The host's address if the transport gave one. */
  readonly peerAddress: ListenAddress | undefined;
  /** The local address the connection is bound to if the transport gave one. */
  readonly localAddress: ListenAddress | undefined;
  /** Host NQN from Connect; '' before. */
  readonly hostnqn: string;
  /** Subsystem NQN from Connect; '' before. */
  readonly subnqn: string;

  /**
   * Take a free request from the pool and mark it `'new'`; `undefined` when all `depth`
   * requests are in use (the host overran the queue: a transport treats it as a protocol error).
   * No allocation.
   */
  allocRequest(): Request<TData> | undefined;
  /**
   * Hand a request to the core: the SQE is in `req.sqeBytes` and, for host-to-controller
   * commands, all `req.length` bytes of data are in `req.iov`. The core executes it (maybe
   * asynchronously) and calls `ops.complete(req)` exactly once. Not re-entrant with respect to
   * `complete`: `complete` may be called before `submit` returns.
   */
  submit(req: Request<TData>): void;
  /**
   * Complete `req` without executing it, with the given status (the 15-bit Status Field value:
   * SCT in bits 10:8, SC in bits 7:0; e.g. 0x0002 Invalid Field, 0x000F/0x0011 SGL errors).
   * For transports that find a command unusable before it reaches the core (bad SGL,
   * data too large to fetch). Calls `ops.complete(req)` like `submit` does.
   */
  fail(req: Request<TData>, status: number): void;
  /**
   * Return a request to the pool after its completion was sent (state back to `'free'`).
   * Freeing a request that is already free throws: it means a command completed twice.
   */
  freeRequest(req: Request<TData>): void;
  /**
   * The wire is gone (peer closed, error, or after `ops.close`). The core stops using the qpair:
   * it drops held requests (AERs), lets in-flight bdev I/O finish without calling `complete`,
   * and for an admin qpair tears down the controller (unless keep-alive is still pending on a
   * persistent model; this core tears down). Idempotent.
   */
  disconnected(): void;
}

