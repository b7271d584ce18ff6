/**
 * The transports the daemon can create by SPDK name (`nvmf_create_transport -t TCP`, `-t
 * VFIOUSER`), filled by the daemon at start. Names match as the core's `trtypeKey` does (case,
 * `-` and `_` ignored), so `VFIOUSER` (SPDK), `vfiouser` and `vfio-user` are one transport. A
 * transport SPDK has and this build does not carry can be registered as unavailable, so asking
 * for it fails with a sentence that says so rather than "invalid transport type".
 */
import { trtypeKey, type AddressFamily, type ListenAddress, type TargetTransport, type TransportParams, type TransportParamValue } from '@nvmu/nvmf';
import { TcpTargetTransport, type TcpTargetTransportOptions } from '@nvmu/transport-tcp/target';
import { VfioUserTargetTransport, type VfioUserTargetTransportOptions } from '@nvmu/transport-vfio-user/target';

/**
 * The transport options SPDK's `nvmf_create_transport` shares with nvmu (SPDK member names in
 * camelCase). Absent members take the transport's defaults. A transport's own settings are not
 * here: it declares them as its `params` (@nvmu/nvmf's `TransportParams`), and they reach its
 * factory as {@link TransportOwnOptions}.
 */
export interface NvmfTransportParams {
  maxQueueDepth?: number;
  maxIoQpairsPerCtrlr?: number;
  inCapsuleDataSize?: number;
  maxIoSize?: number;
  ioUnitSize?: number;
  maxAqDepth?: number;
  numSharedBuffers?: number;
  /** TCP only. */
  c2hSuccess?: boolean;
}

/**
 * The transport's own parameters a request gave, by the constructor option each sets
 * (`busy_poll_us: 50` → `{ busyPollUs: 50 }`), for the factory to pass on.
 */
export type TransportOwnOptions<O = Record<string, unknown>> = Readonly<Partial<O>>;

export type TransportFactory<O = Record<string, unknown>> = (params: NvmfTransportParams, own: TransportOwnOptions<O>) => TargetTransport;

/** How a transport's own parameter is decoded (the JSON-RPC decoder's field). */
export interface TransportParamField {
  readonly type: 'uint' | 'boolean';
  readonly max?: number;
}

/**
 * How a transport's listeners are addressed: `ip` (an address and a port: TCP, RDMA) or `path`
 * (a socket directory on this host, no port: VFIOUSER, whose listener is the directory and its
 * `cntrl` socket, as in SPDK's lib/nvmf/vfio_user.c).
 */
export type AddressKind = 'ip' | 'path';

interface Entry {
  /** SPDK's name (TCP, VFIOUSER, RDMA). */
  readonly name: string;
  /** nvmu's trtype of the transport it creates ('tcp'). */
  readonly trtype: string;
  /** The address family of a listener when the request gives none, from its traddr. */
  readonly adrfam: (traddr: string) => AddressFamily;
  readonly addressKind: AddressKind;
  readonly factory: TransportFactory | undefined;
  /** The transport's own `nvmf_create_transport` parameters (its class's `params`). */
  readonly params: TransportParams;
  /** Why `factory` is missing. */
  readonly unavailable?: string;
}

/** Thrown by {@link TransportRegistry.create} for a name nobody registered or one this build lacks. */
export class TransportUnavailableError extends Error {
  override readonly name = 'TransportUnavailableError';
  constructor(
    message: string,
    /** True when the name is known (SPDK has it) but this build cannot create it. */
    readonly known: boolean,
  ) {
    super(message);
  }
}

export class TransportRegistry {
  /** By `trtypeKey` of the SPDK name and of nvmu's trtype. */
  private readonly byKey = new Map<string, Entry>();
  private readonly entries: Entry[] = [];

  /** Every registered transport's own parameters, by JSON name: one decoder field each. */
  private readonly ownFields = new Map<string, TransportParamField>();

  private add(e: Entry): void {
    for (const [key, p] of Object.entries(e.params)) {
      const had = this.ownFields.get(key);
      if (had !== undefined && (had.type !== p.type || had.max !== p.max)) throw new Error(`transport ${e.name}: parameter ${key} is declared otherwise by another transport`);
      this.ownFields.set(key, p.max === undefined ? { type: p.type } : { type: p.type, max: p.max });
    }
    this.entries.push(e);
    this.byKey.set(trtypeKey(e.name), e);
    this.byKey.set(trtypeKey(e.trtype), e);
  }

  /**
   * Make `name` creatable. `params` are the transport's own `nvmf_create_transport` parameters
   * (its class's static `params`): a request's values for them reach `factory` as its `own`.
   */
  register<O>(
    name: string,
    trtype: string,
    factory: TransportFactory<O>,
    adrfam: (traddr: string) => AddressFamily = ipFamily,
    addressKind: AddressKind = 'ip',
    params: TransportParams<O, never> = {},
  ): void {
    // The one place the own options lose their type: `create` builds them from `params` alone.
    this.add({ name: name.toUpperCase(), trtype, factory: factory as TransportFactory, params: params as TransportParams, adrfam, addressKind });
  }

  /** Record a transport SPDK has and this build does not (its requests fail with `reason`). */
  registerUnavailable(name: string, trtype: string, reason: string): void {
    this.add({ name: name.toUpperCase(), trtype, factory: undefined, params: {}, unavailable: reason, adrfam: () => 'intra-host', addressKind: 'ip' });
  }

  /**
   * The own parameters of every registered transport, as decoder fields by JSON name: what
   * `nvmf_create_transport` accepts beyond SPDK's common members (a parameter of another
   * transport than the one created is accepted and ignored, as it always was).
   */
  ownParamFields(): ReadonlyMap<string, TransportParamField> {
    return this.ownFields;
  }

  private find(name: string): Entry | undefined {
    return this.byKey.get(trtypeKey(name));
  }

  /**
   * Create a transport; names are case-insensitive, as in SPDK, and nvmu's trtype works too.
   * `given` holds the transport's own parameters by JSON name (others' are ignored).
   */
  create(name: string, params: NvmfTransportParams, given: Readonly<Record<string, TransportParamValue | undefined>> = {}): TargetTransport {
    const e = this.find(name);
    if (e === undefined) throw new TransportUnavailableError(`unknown transport type '${name}' (known: ${this.names().join(', ')})`, false);
    if (e.factory === undefined) throw new TransportUnavailableError(e.unavailable ?? `transport ${e.name} is not available in this build`, true);
    const own: Record<string, TransportParamValue> = {};
    for (const [key, p] of Object.entries(e.params)) {
      const v = given[key];
      if (v !== undefined) own[p.option] = v;
    }
    return e.factory(params, own);
  }

  /** The SPDK name of nvmu's `trtype` ('tcp' → 'TCP', 'vfio-user' → 'VFIOUSER'); the trtype upper-cased if unknown. */
  spdkName(trtype: string): string {
    return this.find(trtype)?.name ?? trtype.toUpperCase();
  }

  /** nvmu's trtype for an SPDK name (or any spelling of it), or undefined. */
  trtypeOf(name: string): string | undefined {
    return this.find(name)?.trtype;
  }

  /** How listeners of transport `name` are addressed ('ip' if unknown). */
  addressKind(name: string): AddressKind {
    return this.find(name)?.addressKind ?? 'ip';
  }

  defaultAdrfam(name: string, traddr: string): AddressFamily {
    return (this.find(name)?.adrfam ?? ipFamily)(traddr);
  }

  /** The SPDK names, in registration order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }
}

/**
 * A listener of a `path` transport is its directory alone: whatever adrfam and trsvcid a request
 * carries (SPDK's rpc.py sends none, older ones `-s 0`; SPDK itself fills IPv4), nvmu keeps
 * INTRA_HOST and an empty trsvcid, so adding and removing match however they were spelled.
 */
export function pathListener(trtype: string, traddr: string): ListenAddress {
  return { trtype, adrfam: 'intra-host', traddr, trsvcid: '' };
}

function ipFamily(traddr: string): AddressFamily {
  return traddr.includes(':') ? 'ipv6' : 'ipv4';
}

/** The registry of this build: TCP and VFIOUSER. */
export function defaultTransports(): TransportRegistry {
  const r = new TransportRegistry();
  r.register<TcpTargetTransportOptions>(
    'TCP',
    'tcp',
    (p, own) =>
      new TcpTargetTransport({
      maxQueueDepth: p.maxQueueDepth,
      maxAdminQueueDepth: p.maxAqDepth,
      maxIoQueues: p.maxIoQpairsPerCtrlr,
      maxIoSize: p.maxIoSize,
      inCapsuleDataSize: p.inCapsuleDataSize,
      // The TCP transport's I/O unit is the H2C data PDU size it advertises (MAXH2CDATA).
      maxH2CData: p.ioUnitSize,
      numSharedBuffers: p.numSharedBuffers,
      c2hSuccess: p.c2hSuccess,
      ...own,
    }),
    ipFamily,
    'ip',
    TcpTargetTransport.params,
  );
  r.register<VfioUserTargetTransportOptions>(
    'VFIOUSER',
    'vfio-user',
    (p, own) =>
      // What SPDK's VFIOUSER transport shares with nvmu's; in-capsule data, shared buffers and the
      // I/O unit (equal to max_io_size here: PRPs move whole transfers) have no meaning for PCIe.
      new VfioUserTargetTransport({
        maxQueueDepth: p.maxQueueDepth,
        maxAdminQueueDepth: p.maxAqDepth,
        maxIoQueues: p.maxIoQpairsPerCtrlr,
        maxIoSize: p.maxIoSize,
        ...own,
      }),
    () => 'intra-host',
    'path',
    VfioUserTargetTransport.params,
  );
  return r;
}
