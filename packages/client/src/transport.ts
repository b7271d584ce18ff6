/**
 * The host transport contract: everything @nvmu/client needs from a wire, and nothing else.
 *
 * Modelled on SPDK's `struct spdk_nvme_transport_ops` (lib/nvme/nvme_transport.c): the client
 * owns NVMe semantics (controller bring-up, Connect, Property Get/Set, Identify, queues,
 * keep-alive, AER, reset, shutdown) and is written once; a transport owns bytes (sockets, PDUs,
 * SGL descriptors, doorbells). A new transport is one package and changes no line of the client.
 *
 * ## Registration (how the client finds a transport)
 *
 * The client never imports a transport. A transport's `./host` entry, when imported, puts a
 * {@link HostTransportFactory} into a process-wide `Map<string, HostTransportFactory>` kept on
 * `globalThis` under the well-known symbol `Symbol.for('nvmu.hostTransports')`, keyed by the
 * lower-case `trtype`. The client reads the same map when `connect()` is given a transport ID.
 *
 * A transport registers through this module's own subpath, `@nvmu/client/transport`: it imports
 * nothing, so it loads neither the client's main entry nor anything else, and its registry
 * functions are the only run-time import a transport makes from the client (its `./host` entry
 * only; everything else of the client is imported as types):
 *
 * ```ts
 * import { registerHostTransport } from '@nvmu/client/transport';
 * registerHostTransport(tcpHostTransportFactory);
 * ```
 *
 * The map and its key stay the contract: code that cannot import the client at all can put a
 * factory into `globalThis[Symbol.for('nvmu.hostTransports')]` itself, and
 * {@link registerHostTransport} / {@link getHostTransport} work on the very same map.
 * Registering a trtype again replaces the previous factory (last import wins), as module
 * reloads in tests need.
 *
 * ## Kinds
 *
 * - `'fabrics'` (TCP, RDMA-sim, loopback): each qpair is one connection. The transport only
 *   opens it (TCP: socket + ICReq/ICResp); the client then sends the Fabrics Connect command
 *   (NVMe over Fabrics 1.1 §3.3) through {@link HostQPair.submit} itself, and does all register
 *   access with Property Get/Set (NVMe-oF 1.1 §3.4, §3.5) on the admin qpair.
 * - `'pcie'` (vfio-user): registers are reached with the optional
 *   {@link HostTransport.readRegister32} family, queue memory comes from
 *   {@link HostTransport.allocDmaMemory}, and the client creates I/O queues with Create I/O
 *   CQ/SQ (NVMe Base 2.0 §5.4, §5.5) before opening them with {@link HostTransport.connectQPair}.
 *   Nothing in the fabrics path reads these hooks, so adding pcie changes no fabrics code.
 *
 * ## The per-I/O path
 *
 * {@link HostQPair.submit} takes the client's preallocated 64-byte SQE (its CID already set)
 * and the caller's data buffer as (buffer, offset, length, direction): nothing is allocated per
 * I/O by the client, and a transport must not allocate per I/O either (preallocate per-CID state
 * at qpair creation: the client guarantees CID < queueSize). The completion comes back as a
 * 16-byte CQE through {@link HostQPairHandler.completion}, a method of one object the client
 * hands over once when the qpair is opened.
 */

/** How a transport carries queues; see the module comment. */
export type HostTransportKind = 'fabrics' | 'pcie';

/**
 * Address family of a fabrics transport address (NVMe-oF 1.1 §5.3 Discovery Log Page Entry
 * ADRFAM; SPDK `enum spdk_nvmf_adrfam`, spelled INTRA_HOST there). `intra-host` is for in-process
 * transports; loopback uses it.
 */
export type AddressFamily = 'ipv4' | 'ipv6' | 'ib' | 'fc' | 'intra-host';

/**
 * Where a controller is: SPDK's `struct spdk_nvme_transport_id` plus the host identity keys.
 * Produced by `parseTransportId()` from SPDK's string notation
 * (`trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn...`) or given as an object.
 */
export interface TransportId {
  /** Transport type, lower case: 'tcp', 'rdma-sim', 'loopback', 'vfio-user', ... (registry key). */
  readonly trtype: string;
  /** Address family; transports default it from `traddr` when absent (e.g. TCP: ipv4 or ipv6). */
  readonly adrfam?: AddressFamily | undefined;
  /** Transport address: an IP address (TCP/RDMA), a socket path (vfio-user), a name (loopback). */
  readonly traddr: string;
  /** Transport service id: the TCP port as a decimal string, for example '4420'. */
  readonly trsvcid?: string | undefined;
  /**
   * Subsystem NQN to connect to. Absent means the discovery subsystem
   * (`nqn.2014-08.org.nvmexpress.discovery`), as with SPDK and nvme-cli.
   */
  readonly subnqn?: string | undefined;
  /** Host NQN override for this connection (else the client's default host NQN). */
  readonly hostnqn?: string | undefined;
  /** Host ID override: a UUID string (else the client's default host ID). */
  readonly hostid?: string | undefined;
  /**
   * Every other key of the string notation, key lower-cased, value as written: transport-specific
   * options (for example `hdgst:1`) that the client passes through untouched.
   */
  readonly params?: Readonly<Record<string, string>> | undefined;
}

/** What the client tells a transport when it opens a controller association. */
export interface HostTransportOpenOptions {
  /** The host NQN used in every Connect of this controller (NVMe-oF 1.1 §3.3 Connect data). */
  readonly hostnqn: string;
  /** The 16-byte host identifier used in every Connect (NVMe Base 2.0 §5.27.1.25). */
  readonly hostid: Uint8Array;
  /**
   * Milliseconds a transport may spend establishing a connection (socket connect, ICReq/ICResp)
   * before rejecting. The client applies its own timeouts to NVMe commands.
   */
  readonly connectTimeoutMs: number;
}

/**
 * The registered entry point of a transport: one per trtype, stateless, kept in the registry.
 * SPDK: `spdk_nvme_transport_ops.name/type` + `ctrlr_construct`.
 */
export interface HostTransportFactory {
  /** The trtype this factory serves, lower case; the registry key. */
  readonly trtype: string;
  /** How queues are carried; decides which bring-up the client runs. */
  readonly kind: HostTransportKind;
  /**
   * Opens a controller association for `trid` (nothing is sent yet for fabrics: qpairs come
   * from {@link HostTransport.connectQPair}). Rejects with an Error whose message names the
   * address when the target does not exist or cannot be reached.
   */
  open(trid: TransportId, opts: HostTransportOpenOptions): Promise<HostTransport>;
}

/**
 * One controller association on one transport: the factory for its qpairs and, for the pcie
 * kind, the register and queue-memory access. SPDK: `struct spdk_nvme_ctrlr`'s transport half.
 */
export interface HostTransport {
  /** The factory's kind, repeated here for the bring-up code. */
  readonly kind: HostTransportKind;
  /** The transport ID this association was opened for (as normalised by the transport). */
  readonly trid: TransportId;
  /**
   * Largest data transfer of one command the transport can carry, in bytes, or 0 for "no
   * transport limit" (the controller's MDTS still applies; the client enforces both).
   */
  readonly maxTransferSize: number;
  /**
   * Opens qpair `opts.qid` (0 = admin). Fabrics: establishes the connection and resolves when it
   * can carry a Connect command; the client sends Connect next. Pcie: the client has already
   * created the queues with admin commands in memory from {@link allocDmaMemory}; the transport
   * starts using the doorbells. Rejects if the connection cannot be made.
   */
  connectQPair(opts: HostQPairOptions): Promise<HostQPair>;
  /**
   * Ends the association: closes every qpair still open (their handlers get no `disconnected`
   * call) and frees transport resources. Idempotent.
   */
  close(): Promise<void>;

  // ---- pcie kind only (optional; the fabrics bring-up never calls these) ----

  /** pcie: reads a 32-bit controller register at byte `offset` of BAR0 (NVMe Base 2.0 §3.1.4). */
  readRegister32?(offset: number): Promise<number>;
  /** pcie: reads a 64-bit controller register (CAP, ASQ, ACQ) at byte `offset` of BAR0. */
  readRegister64?(offset: number): Promise<bigint>;
  /** pcie: writes a 32-bit controller register (CC, AQA, ...) at byte `offset` of BAR0. */
  writeRegister32?(offset: number, value: number): Promise<void>;
  /** pcie: writes a 64-bit controller register (ASQ, ACQ) at byte `offset` of BAR0. */
  writeRegister64?(offset: number, value: bigint): Promise<void>;
  /**
   * pcie: memory the controller can reach by DMA, for queues (and, later, data bounce buffers).
   * `align` is a power of two in bytes (queues: the memory page size, CAP.MPSMIN).
   */
  allocDmaMemory?(bytes: number, align: number): Promise<HostDmaMemory>;
  /**
   * pcie: whether I/O completion queue `qid` is created with interrupts enabled (Create I/O CQ
   * IEN, NVMe Base 2.0 §5.4). False for a queue the transport polls, as Linux's poll queues are
   * created, so the controller signals no vector nobody listens to. Absent: true.
   */
  ioInterrupts?(qid: number): boolean;
}

/** pcie: a piece of DMA-reachable memory: the bytes, and the address the controller uses. */
export interface HostDmaMemory {
  /** The memory, as the host sees it. */
  readonly buffer: Uint8Array;
  /** The I/O virtual address the controller uses for `buffer[0]` (PRP entries, ASQ/ACQ). */
  readonly iova: bigint;
  /** Gives the memory back. */
  free(): void;
}

/** Direction of a command's data, seen from the host. */
export type HostDataDirection =
  /** No data (dataLength is 0). */
  | 'none'
  /** Host to controller: writes, Connect data, Set Features with a buffer. */
  | 'h2c'
  /** Controller to host: reads, Identify, Get Log Page. */
  | 'c2h';

/** What the client asks for when opening a qpair. */
export interface HostQPairOptions {
  /** Queue id: 0 for the admin queue, 1.. for I/O queues (the same qid goes in Connect). */
  readonly qid: number;
  /**
   * Number of entries (1's based). The client keeps at most `queueSize - 1` commands
   * outstanding and uses CIDs in `[0, queueSize)` only, so a transport can index per-command
   * state by CID in arrays of this size.
   */
  readonly queueSize: number;
  /**
   * Largest in-capsule data the client would like, in bytes: 8192 for the admin queue
   * (NVMe-oF 1.1 §2.2, admin capsules carry up to 8 KiB), `IOCCSZ * 16 - 64` for I/O queues once
   * Identify Controller is known (NVMe-oF 1.1 §4.1). The transport may grant less.
   */
  readonly maxInCapsuleDataSize: number;
  /** Receives completions and the disconnect event; see {@link HostQPairHandler}. */
  readonly handler: HostQPairHandler;
  /** pcie only: the submission and completion queue memory the client created the queue with. */
  readonly queueMemory?: { readonly sq: HostDmaMemory; readonly cq: HostDmaMemory } | undefined;
}

/**
 * The client's side of a qpair, handed over once at open. Methods are called on this object
 * (`handler.completion(cqe)`), so the transport keeps one reference and allocates nothing.
 */
export interface HostQPairHandler {
  /**
   * One completion queue entry (16 bytes, NVMe Base 2.0 §4.6). The view is valid only during
   * the call (the transport reuses it); the client copies what it needs out synchronously.
   * For `'c2h'` commands the data is in the caller's buffer before this is called.
   * A transport that ends a command without a CQE on the wire (NVMe/TCP C2HData with the
   * SUCCESS flag) synthesises one: status 0, the command's CID, SQID and SQHD as last known.
   * Must never be called from inside {@link HostQPair.submit} (deliver on a later microtask or
   * event-loop turn), so completion callbacks that resubmit do not recurse.
   * Re-entrancy the other way is normal: from inside this call the client may call
   * {@link HostQPair.submit} on this qpair (an application callback resubmitting, possibly
   * reusing the CID just completed) or {@link HostQPair.close}; the transport must tolerate both
   * (finish its per-CID bookkeeping before calling, and check for close after it returns).
   */
  completion(cqe: Uint8Array): void;
  /**
   * The connection dropped (peer closed, socket error, protocol error, transport-level timeout).
   * Called at most once, never after {@link HostQPair.close}. Commands still outstanding will
   * never complete; the client fails them and may reset the controller.
   */
  disconnected(error: Error | undefined): void;
}

/** One queue pair. SPDK: `struct spdk_nvme_qpair`'s transport half. */
export interface HostQPair {
  /** The qid it was opened with. */
  readonly qid: number;
  /** The queue size it was opened with. */
  readonly queueSize: number;
  /**
   * In-capsule data bytes this qpair carries (0 = none): `'h2c'` data up to this length goes in
   * the command capsule, longer data is fetched by the controller (TCP: R2T/H2CData). The client
   * only uses it for information; placing data is the transport's job.
   */
  readonly inCapsuleDataSize: number;
  /**
   * Sends one command. `sqe` is the client's 64-byte SQE with CID (bytes 2..3) set; it and the
   * data buffer stay untouched by the client until this CID's completion is delivered, so the
   * transport may keep references instead of copying. The transport fills the data pointer
   * (DPTR, bytes 24..39) and PSDT (byte 1 bits 7:6) for its wire — an SGL descriptor for fabrics
   * (NVMe-oF 1.1 §2.3), PRPs for pcie — the client leaves them zero. The data is
   * `data[dataOffset, dataOffset + dataLength)`; `data` is ignored when `direction` is 'none'.
   * Must not allocate per call. Throws only on a broken contract (qpair closed, CID out of range,
   * length above {@link HostTransport.maxTransferSize}); wire failures surface as
   * {@link HostQPairHandler.disconnected}.
   */
  submit(
    sqe: Uint8Array,
    data: Uint8Array | undefined,
    dataOffset: number,
    dataLength: number,
    direction: HostDataDirection,
  ): void;
  /**
   * Closes the qpair (after the client sent Disconnect or deleted the queue, or without that on
   * teardown). Outstanding commands get no completion; the handler gets no `disconnected` call.
   * Idempotent.
   */
  close(): Promise<void>;
}

/** The registry's type: trtype (lower case) → factory. */
export type HostTransportRegistry = Map<string, HostTransportFactory>;

/** The registered symbol under which the registry lives on `globalThis`. */
export const HOST_TRANSPORT_REGISTRY_KEY: unique symbol = Symbol.for('nvmu.hostTransports');

interface RegistryHolder {
  [HOST_TRANSPORT_REGISTRY_KEY]?: HostTransportRegistry;
}

/** The process-wide registry (created on first use by whoever comes first). */
export function hostTransportRegistry(): HostTransportRegistry {
  const holder = globalThis as RegistryHolder;
  return (holder[HOST_TRANSPORT_REGISTRY_KEY] ??= new Map<string, HostTransportFactory>());
}

/** Registers (or replaces) the factory for `factory.trtype` (matched case-insensitively). */
export function registerHostTransport(factory: HostTransportFactory): void {
  hostTransportRegistry().set(factory.trtype.toLowerCase(), factory);
}

/** The factory registered for `trtype` (case-insensitive), if any. */
export function getHostTransport(trtype: string): HostTransportFactory | undefined {
  return hostTransportRegistry().get(trtype.toLowerCase());
}

/** Removes the factory for `trtype`; returns whether one was registered. For tests. */
export function unregisterHostTransport(trtype: string): boolean {
  return hostTransportRegistry().delete(trtype.toLowerCase());
}
