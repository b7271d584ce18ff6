/**
 * The whole contract between the target core and a transport (NVMe/TCP, loopback, vfio-user,
 * RDMA-sim). Modelled on SPDK's `struct spdk_nvmf_transport_ops`
 * (include/spdk/nvmf_transport.h) and Linux's `struct nvmet_fabrics_ops`.
 *
 * Direction of use:
 * - A transport package IMPLEMENTS `TargetTransport` and `QPairTransportOps`, importing this
 *   file (and request.ts) as types only (`import type`). The core never names a transport.
 * - The core hands the transport everything it needs at run time: a `TransportCore` in
 *   `attach()`, from which the transport creates one `QPair` per connection (queue); the qpair
 *   hands out pooled `Request` objects and accepts them back.
 *
 * A connection's life, seen from the transport:
 * ```
 *  accept a connection (or vfio-user: admin queue created at CC.EN / Create I/O SQ)
 *    qp = core.createQPair(ops, { depth, listenAddress, peerAddress, localAddress })
 *  for each command capsule:
 *    req = qp.allocRequest()              // undefined only if the host overran its queue
 *    copy the 64-byte SQE into req.sqeBytes
 *    point req.iov/iovcnt/length at the data buffers (in-capsule data, a pooled buffer, guest memory)
 *    if req.xfer === 'host-to-controller' and the data is not there yet: fetch it (R2T ...)
 *    qp.submit(req)
 *  core calls ops.complete(req)          // CQE in req.cqeBytes; c2h data in req.iov, req.dataLength bytes
 *    send data + CQE, then qp.freeRequest(req)
 *  core calls ops.close(reason)          // keep-alive timeout, Disconnect, controller teardown
 *    stop reading, flush pending completions, close the wire, then qp.disconnected()
 *  the wire closes by itself:
 *    qp.disconnected()                    // the core aborts what it holds; no more complete() calls
 * ```
 */

import { inCapsuleIdentifyFields, type FabricsIdentifyFields } from '@nvmu/nvme-spec';
import type { ListenAddress, QPair, Request } from './request.js';

// QPair, ListenAddress and their helper types live in request.ts because a Request and its QPair
// refer to each other (one file keeps the module graph free of cycles); re-exported here so this
// file reads as the whole contract.
export type { AddressFamily, ListenAddress, QPair, QPairState } from './request.js';

/** Transport options the core reads to size pools and fill Identify/CAP (SPDK `spdk_nvmf_transport_opts`). */
export interface TransportOptions {
  /** Maximum entries of an I/O queue; CAP.MQES = this - 1 (NVMe Base 2.0 §3.1.3.1). */
  readonly maxQueueDepth: number;
  /** Maximum entries of the admin queue (Linux asks for 32). */
  readonly maxAdminQueueDepth: number;
  /** Maximum I/O queues per controller the transport will serve (Set Features Number of Queues). */
  readonly maxIoQueues: number;
  /** Largest data transfer of one command in bytes; Identify MDTS derives from it. */
  readonly maxIoSize: number;
  /** In-capsule data bytes the transport accepts on I/O queues (IOCCSZ = (64 + this) / 16). */
  readonly inCapsuleDataSize: number;
  /** Unit in which the transport moves data (e.g. TCP's MAXH2CDATA / buffer granularity). */
  readonly ioUnitSize: number;
}

/** The value of a transport's own parameter: JSON's integer or boolean. */
export type TransportParamValue = number | boolean;

/**
 * One transport-specific parameter of `nvmf_create_transport`: what a management layer needs to
 * decode it, hand it to the transport's constructor and read it back, without knowing the
 * transport. `O` is the transport's constructor options, `T` the transport.
 */
export interface TransportParam<O = Record<string, unknown>, T = TargetTransport> {
  /** JSON type: a non-negative integer ('uint') or a boolean. */
  readonly type: 'uint' | 'boolean';
  /** 'uint': the largest value accepted. */
  readonly max?: number;
  /** The constructor option it sets (`busy_poll_us` → `busyPollUs`). */
  readonly option: keyof O & string;
  /** The value when the parameter is not given; `save_config` leaves out a parameter at it. */
  readonly default: TransportParamValue;
  /** The value `transport` runs with (what `save_config` writes). */
  value(transport: T): TransportParamValue;
}

/**
 * A transport's own `nvmf_create_transport` parameters, keyed by their JSON names (snake_case,
 * as SPDK spells its transport options). A transport declares them once, as a constant the
 * package exports (for creating one) and as {@link TargetTransport.params} (for reading one
 * back): a new setting is one entry here plus its constructor option.
 *
 * ```ts
 * static readonly params: TransportParams<TcpTargetTransportOptions, TcpTargetTransport> = {
 *   busy_poll_us: { type: 'uint', max: 10000, option: 'busyPollUs', default: 0, value: (t) => t.busyPollWindowUs },
 * };
 * ```
 */
export type TransportParams<O = Record<string, unknown>, T = TargetTransport> = Readonly<Record<string, TransportParam<O, T>>>;

/**
 * Identify Controller fields that depend on the transport (nvme-spec's `FabricsIdentifyFields`; NVMe-oF 1.1 §4.1 Figure 23 / NVMe
 * Base 2.0 Figure 275). The core writes them verbatim into Identify Controller.
 */
export interface TransportIdentifyFields extends FabricsIdentifyFields {
  /**
   * Optional: true for a PCIe-style transport (vfio-user) whose host
   * must use PRPs only. Identify SGLS then reads exactly `sgls` (normally 0) instead of `sgls`
   * with bits 1:0 = 01b, so a Linux nvme-pci guest never builds SGLs.
   */
  readonly prpOnly?: boolean;
}

/**
 * What a transport reports for one listener in a Discovery Log Page entry
 * (NVMe-oF 1.1 §5.3 Figure 35). The core fills SUBTYPE, PORTID, CNTLID (FFFFh), ASQSZ (32),
 * SUBNQN, and lays out the 1024-byte entry.
 */
export interface DiscoveryEntryFields {
  /** TRTYPE code: 1 RDMA, 2 FC, 3 TCP, FEh intra-host (loopback). */
  readonly trtype: number;
  /** ADRFAM code: 1 IPv4, 2 IPv6, 3 IB, 4 FC, FEh intra-host. */
  readonly adrfam: number;
  /** TREQ: bits 1:0 secure channel (00b not specified); keep 0 for TCP until TLS exists (INTEROP.md). */
  readonly treq: number;
  /** The address the host should use: a wildcard replaced by the local address of `via`. ASCII, <= 256 bytes. */
  readonly traddr: string;
  /** Service id (port) as ASCII, <= 32 bytes. */
  readonly trsvcid: string;
  /** TSAS, transport specific address subtype: up to 256 bytes (for TCP byte 0 is SECTYPE). */
  readonly tsas: Uint8Array;
}

/** Why the core asks a transport to close a qpair (for logs; the transport's action is the same). */
export type QPairCloseReason =
  | 'disconnect' // Fabrics Disconnect on an I/O queue (NVMe-oF 1.1 §3.6) - close after sending its CQE
  | 'keep-alive-timeout' // KATO expired (NVMe Base 2.0 §3.9): the controller is torn down
  | 'controller-reset' // CC.EN 1 -> 0 or shutdown: I/O queues are deleted (NVMe Base 2.0 §3.7.2)
  | 'controller-destroyed' // controller freed (admin queue gone, subsystem removed)
  | 'connect-failed' // a Connect on this qpair failed fatally; close after sending the CQE
  | 'target-shutdown'; // Target.close()

/**
 * Hooks a transport gives the core for one qpair (per connection). Only `complete` and `close`
 * are required.
 */
export interface QPairTransportOps<TData = unknown> {
  /**
   * The core finished `req`: `req.cqeBytes` holds the completion (CID, SQID, SQHD, status,
   * DW0/DW1); for controller-to-host commands `req.iov` holds `req.dataLength` bytes of data.
   * Called from any turn of the event loop (bdev I/O completes asynchronously). The transport
   * sends the data and the CQE, then calls `qpair.freeRequest(req)`. Never called after
   * `qpair.disconnected()` returned.
   */
  complete(req: Request<TData>): void;
  /**
   * The core wants this qpair closed (see `QPairCloseReason`). The transport sends what it has
   * queued (e.g. the CQE of the Disconnect command), closes the wire, and calls
   * `qpair.disconnected()`. May be called more than once; the second call is a no-op for the
   * transport.
   */
  close(reason: QPairCloseReason): void;
  /**
   * Optional: called once per pooled request when the qpair is created, to give each request its
   * transport state (returned value is stored in `req.transportData`).
   */
  initRequest?(req: Request<TData>): TData;
  /**
   * Optional: a Connect on this qpair succeeded; `qpair.qid`, `qpair.sqsize` and
   * `qpair.cntlid` are now set. Called before the Connect's own `complete`.
   */
  connected?(qpair: QPair<TData>): void;
}

/** What the transport tells the core about a new qpair. */
export interface QPairCreateOptions {
  /**
   * Largest pool: the most requests the qpair may have. Use the largest queue this connection
   * may carry, normally `max(options.maxQueueDepth, options.maxAdminQueueDepth)`, since a TCP
   * connection does not know whether it is an admin or I/O queue until Connect. Connect fails
   * (Invalid Parameter, SQSIZE) when it asks for more than this.
   */
  readonly depth: number;
  /**
   * Requests the core makes at once, before Connect (default `depth`: all of them). With fewer,
   * the pool grows to the queue's SQSIZE + 1 (at most `depth`) when Connect succeeds, calling
   * `initRequest` for the new ones before `connected`; a connection that never connects then
   * holds only these. One is enough for a fabrics transport (only Connect is valid first).
   */
  readonly preConnectDepth?: number;
  /** The listener the connection came in on (used for host access checks and discovery). */
  readonly listenAddress: ListenAddress;
  /** The host's address, for logs and `nvmf_get_subsystems`-style listings. */
  readonly peerAddress?: ListenAddress;
  /**
   * The address the connection is actually bound to locally (TCP: socket.localAddress /
   * localPort). Discovery reports it in place of a wildcard listen address.
   */
  readonly localAddress?: ListenAddress;
}

/** Minimal structured logger the core hands transports so all logs go to one place. */
export interface TransportLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What the core gives a transport in `attach()`. One per attached transport. */
export interface TransportCore {
  /** Create a qpair for a new connection with a preallocated request pool (see `QPairCreateOptions`). */
  createQPair<TData = unknown>(ops: QPairTransportOps<TData>, opts: QPairCreateOptions): QPair<TData>;
  /** Where the transport should log. */
  readonly logger: TransportLogger;
}

/**
 * A target-side transport. One object per transport instance, added to a `Target` with
 * `target.addTransport(t)`; listeners then reach it by its `trtype`.
 */
export interface TargetTransport {
  /** Transport type name, e.g. 'tcp', 'loopback', 'vfio-user'. Unique within a target. */
  readonly trtype: string;
  /** Sizes the core reads for CAP, MDTS, Connect checks and pool sizes. */
  readonly options: TransportOptions;
  /**
   * Optional: the transport's own settings beyond {@link options}, as parameters of SPDK's
   * `nvmf_create_transport` (see {@link TransportParams}). The core never reads them; a
   * management layer (the daemon's JSON-RPC and config file) takes them on create and writes back
   * the values this transport runs with in `save_config` / `nvmf_get_transports`.
   */
  readonly params?: TransportParams;
  /**
   * Start hook: the core hands the transport its `TransportCore`. Called once by
   * `target.addTransport`, before any `listen`.
   */
  attach(core: TransportCore): void | Promise<void>;
  /** Start accepting connections on `addr` (`addr.trtype === this.trtype`). Rejects if it cannot bind. */
  listen(addr: ListenAddress): Promise<void>;
  /**
   * Stop accepting on `addr`. Existing qpairs stay up (as in SPDK); the core closes them when a
   * subsystem or listener removal requires it.
   */
  stopListen(addr: ListenAddress): Promise<void>;
  /**
   * Transport-specific Identify Controller fields (IOCCSZ, IORCSZ, ICDOFF, SGLS, MSDBD, FCATT).
   * Optional: without it the core uses the fields of a transport that carries
   * `options.inCapsuleDataSize` bytes of in-capsule data described by an SGL Data Block
   * (nvme-spec's `inCapsuleIdentifyFields`; see {@link transportIdentifyFields}), which is what
   * a fabrics transport reports; a transport that differs (vfio-user: PRPs only) overrides it.
   */
  identifyFields?(): TransportIdentifyFields;
  /**
   * Discovery Log Page entry fields for listener `addr`, as seen by a host connected through
   * `via` (the discovery controller's admin qpair): replace a wildcard `traddr` with the local
   * address of `via` where the transport knows it. Undefined: no entry, as the host that came
   * through `via` cannot reach `addr` (a socket on this host seen from the network).
   */
  discoveryEntry(addr: ListenAddress, via: QPair | undefined): DiscoveryEntryFields | undefined;
  /** Stop listening everywhere and close every qpair (each ends with `qpair.disconnected()`). */
  close(): Promise<void>;
}

/**
 * The Identify Controller fields the core writes for transport `t`: its own
 * {@link TargetTransport.identifyFields} if it has one, else the in-capsule default for its
 * `options.inCapsuleDataSize` (IOCCSZ = (64 + that) / 16, IORCSZ 1, ICDOFF 0, SGLS with
 * Address-as-Offset, MSDBD 1, FCATT 0: NVMe-oF 1.1 §4.1). The one definition of that default,
 * shared by every fabrics transport.
 */
export function transportIdentifyFields(t: Pick<TargetTransport, 'options' | 'identifyFields'>): TransportIdentifyFields {
  return t.identifyFields?.() ?? inCapsuleIdentifyFields(t.options.inCapsuleDataSize);
}
