/**
 * The transports the daemon can create by SPDK name (`nvmf_create_transport -t TCP`, `-t
 * VFIOUSER`), filled by the daemon at start. Names match as the core's `trtypeKey` does (case,
 * `-` and `_` ignored), so `VFIOUSER` (SPDK), `vfiouser` and `vfio-user` are one transport. A
 * transport SPDK has and this build does not carry can be registered as unavailable, so asking
 * for it fails with a sentence that says so rather than "invalid transport type".
 */
import { trtypeKey, type AddressFamily, type ListenAddress, type TargetTransport } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';

/**
 * The transport options SPDK's `nvmf_create_transport` shares with nvmu (SPDK member names in
 * camelCase). Absent members take the transport's defaults.
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
  /** TCP only: the low-latency (busy-poll) window in µs; see @nvmu/transport-tcp's README. */
  busyPollUs?: number;
  /**
   * VFIOUSER only (SPDK's `disable_mappable_bar0`): BAR0's doorbells are not mmap-able, which
   * nvmu runs as its interrupt mode (`interruptMode` of @nvmu/transport-vfio-user): the target
   * sleeps on doorbell messages when idle.
   */
  disableMappableBar0?: boolean;
}

export type TransportFactory = (params: NvmfTransportParams) => TargetTransport;

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

  private add(e: Entry): void {
    this.entries.push(e);
    this.byKey.set(trtypeKey(e.name), e);
    this.byKey.set(trtypeKey(e.trtype), e);
  }

  /** Make `name` creatable. */
  register(name: string, trtype: string, factory: TransportFactory, adrfam: (traddr: string) => AddressFamily = ipFamily, addressKind: AddressKind = 'ip'): void {
    this.add({ name: name.toUpperCase(), trtype, factory, adrfam, addressKind });
  }

  /** Record a transport SPDK has and this build does not (its requests fail with `reason`). */
  registerUnavailable(name: string, trtype: string, reason: string): void {
    this.add({ name: name.toUpperCase(), trtype, factory: undefined, unavailable: reason, adrfam: () => 'intra-host', addressKind: 'ip' });
  }

  private find(name: string): Entry | undefined {
    return this.byKey.get(trtypeKey(name));
  }

  /** Create a transport; names are case-insensitive, as in SPDK, and nvmu's trtype works too. */
  create(name: string, params: NvmfTransportParams): TargetTransport {
    const e = this.find(name);
    if (e === undefined) throw new TransportUnavailableError(`unknown transport type '${name}' (known: ${this.names().join(', ')})`, false);
    if (e.factory === undefined) throw new TransportUnavailableError(e.unavailable ?? `transport ${e.name} is not available in this build`, true);
    return e.factory(params);
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
  r.register('TCP', 'tcp', (p) => {
    return new TcpTargetTransport({
      maxQueueDepth: p.maxQueueDepth,
      maxAdminQueueDepth: p.maxAqDepth,
      maxIoQueues: p.maxIoQpairsPerCtrlr,
      maxIoSize: p.maxIoSize,
      inCapsuleDataSize: p.inCapsuleDataSize,
      // The TCP transport's I/O unit is the H2C data PDU size it advertises (MAXH2CDATA).
      maxH2CData: p.ioUnitSize,
      numSharedBuffers: p.numSharedBuffers,
      c2hSuccess: p.c2hSuccess,
      busyPollUs: p.busyPollUs,
    });
  });
  r.register(
    'VFIOUSER',
    'vfio-user',
    (p) =>
      // What SPDK's VFIOUSER transport shares with nvmu's; in-capsule data, shared buffers and the
      // I/O unit (equal to max_io_size here: PRPs move whole transfers) have no meaning for PCIe.
      new VfioUserTargetTransport({
        maxQueueDepth: p.maxQueueDepth,
        maxAdminQueueDepth: p.maxAqDepth,
        maxIoQueues: p.maxIoQpairsPerCtrlr,
        maxIoSize: p.maxIoSize,
        interruptMode: p.disableMappableBar0,
      }),
    () => 'intra-host',
    'path',
  );
  return r;
}
