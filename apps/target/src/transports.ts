/**
 * The transports the daemon can create by SPDK name (`nvmf_create_transport -t TCP`), filled by
 * the daemon at start. A transport that this build does not carry (vfio-user, until its package
 * lands) is registered as unavailable, so asking for it fails with a sentence that says so rather
 * than "invalid transport type"; wiring it later is one `register` call.
 */
import type { AddressFamily, TargetTransport } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';

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
}

export type TransportFactory = (params: NvmfTransportParams) => TargetTransport;

interface Entry {
  /** SPDK's name (TCP, VFIOUSER, RDMA). */
  readonly name: string;
  /** nvmu's trtype of the transport it creates ('tcp'). */
  readonly trtype: string;
  /** The address family of a listener when the request gives none, from its traddr. */
  readonly adrfam: (traddr: string) => AddressFamily;
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
  private readonly byName = new Map<string, Entry>();

  /** Make `name` creatable. */
  register(name: string, trtype: string, factory: TransportFactory, adrfam: (traddr: string) => AddressFamily = ipFamily): void {
    this.byName.set(name.toUpperCase(), { name: name.toUpperCase(), trtype, factory, adrfam });
  }

  /** Record a transport SPDK has and this build does not (its requests fail with `reason`). */
  registerUnavailable(name: string, trtype: string, reason: string): void {
    this.byName.set(name.toUpperCase(), { name: name.toUpperCase(), trtype, factory: undefined, unavailable: reason, adrfam: () => 'intra-host' });
  }

  /** Create a transport; names are case-insensitive, as in SPDK. */
  create(name: string, params: NvmfTransportParams): TargetTransport {
    const e = this.byName.get(name.toUpperCase());
    if (e === undefined) throw new TransportUnavailableError(`unknown transport type '${name}' (known: ${this.names().join(', ')})`, false);
    if (e.factory === undefined) throw new TransportUnavailableError(e.unavailable ?? `transport ${e.name} is not available in this build`, true);
    return e.factory(params);
  }

  /** The SPDK name of nvmu's `trtype` ('tcp' → 'TCP'); the trtype upper-cased if unknown. */
  spdkName(trtype: string): string {
    for (const e of this.byName.values()) if (e.trtype === trtype) return e.name;
    return trtype.toUpperCase();
  }

  /** nvmu's trtype for an SPDK name, or undefined. */
  trtypeOf(name: string): string | undefined {
    return this.byName.get(name.toUpperCase())?.trtype;
  }

  defaultAdrfam(name: string, traddr: string): AddressFamily {
    return (this.byName.get(name.toUpperCase())?.adrfam ?? ipFamily)(traddr);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

function ipFamily(traddr: string): AddressFamily {
  return traddr.includes(':') ? 'ipv6' : 'ipv4';
}

/** The registry of this build: TCP, and vfio-user named but not yet available. */
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
    });
  });
  r.registerUnavailable('VFIOUSER', 'vfio-user', 'transport VFIOUSER is not available in this build');
  return r;
}
