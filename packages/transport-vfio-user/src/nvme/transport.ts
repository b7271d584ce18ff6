/**
 * The vfio-user target transport for @nvmu/nvmf (SPDK lib/nvmf/vfio_user.c's
 * spdk_nvmf_transport_ops): each listener is a socket directory whose `cntrl` socket serves one
 * emulated NVMe PCI controller (SPDK: one controller per endpoint); the controller belongs to
 * the subsystem that has that listener.
 *
 * The vfio-user server itself (socket, protocol, config space, DMA table, IRQs) comes from a
 * `DeviceServerFactory`, so the NVMe layer runs over the real socket server or, in tests, over
 * an in-process fake of the server's `DeviceContext`.
 */
import { randomUUID } from 'node:crypto';
import { hostNqnFromUuid, parseUuid } from '@nvmu/nvme-spec';
import type {
  DiscoveryEntryFields,
  ListenAddress,
  QPair,
  TargetTransport,
  TransportCore,
  TransportIdentifyFields,
  TransportOptions,
  TransportParams,
} from '@nvmu/nvmf';
import type { DeviceContext, DeviceHooks, PciDeviceSpec } from '../server/device.js';
import type { VfioUserLogger } from '../server/log.js';
import { VfioUserServer } from '../server/server.js';
import { NvmeController, type NvmeControllerStats } from './controller.js';
import { MAX_QUEUE_PAIRS, msixVectorsFor } from './pci-device.js';
import type { PollerOptions } from './poller.js';

/** The trtype of this transport in listen addresses (SPDK: VFIOUSER). */
export const VFIO_USER_TRTYPE = 'vfio-user';

/**
 * Discovery Log Page TRTYPE reported for vfio-user listeners: FEh, intra-host (NVMe-oF 1.1
 * Figure 35). NVMe-oF has no vfio-user code; SPDK's listener_discover leaves the entry empty.
 * A vfio-user socket is only reachable on this host, which is what FEh says.
 */
export const VFIO_USER_DISCOVERY_TRTYPE = 0xfe;
/** ADRFAM FEh, intra-host. */
export const VFIO_USER_DISCOVERY_ADRFAM = 0xfe;

/** What an emulated device gives the server: its description, its hooks, and a place for the context. */
export interface ServedDevice {
  readonly spec: PciDeviceSpec;
  readonly hooks: DeviceHooks;
  /** Receives the server's context for the connected client, before `hooks.attached`. */
  bind(ctx: DeviceContext): void;
}

/** A running endpoint of the server layer. */
export interface DeviceEndpoint {
  /** Stop accepting, drop the client, remove the socket. */
  close(): Promise<void>;
}

/** Starts a vfio-user server for `device` in directory `dir` (socket `<dir>/cntrl`). */
export type DeviceServerFactory = (dir: string, device: ServedDevice, log: VfioUserLogger) => Promise<DeviceEndpoint>;

/** The package's own server (src/server/): one `VfioUserServer` per listener directory. */
export const vfioUserServerFactory: DeviceServerFactory = (dir, device, log) => {
  const server = VfioUserServer.listen(dir, {
    device: device.spec,
    hooks: (ctx) => {
      device.bind(ctx);
      return device.hooks;
    },
    log,
  });
  return Promise.resolve({ close: () => server.close() });
};

/** Options (SPDK `nvmf_create_transport -t VFIOUSER` equivalents). */
export interface VfioUserTargetTransportOptions {
  /** Entries of an I/O queue (CAP.MQES + 1). Default 256 (SPDK). */
  readonly maxQueueDepth?: number;
  /** Admin queue entries the controller serves at once. Default 32. */
  readonly maxAdminQueueDepth?: number;
  /** I/O queue pairs per controller (Set Features Number of Queues). Default 127 (SPDK: 128 qpairs). */
  readonly maxIoQueues?: number;
  /** Largest transfer of one command (MDTS). Default 128 KiB. */
  readonly maxIoSize?: number;
  /** Host NQN the transport connects to the subsystem with. Default a uuid NQN, new per transport. */
  readonly hostnqn?: string;
  /** Adaptive doorbell polling (interrupt mode is `interruptMode`, not a poller option). */
  readonly poller?: Omit<PollerOptions, 'arm'>;
  /**
   * Interrupt mode (SPDK: the app's `--interrupt-mode` with vfio-user, which implies
   * `disable_mappable_bar0`): BAR0's doorbells are not mmap-able, so each doorbell write the
   * host makes is a message that wakes the target; with shadow doorbells (Doorbell Buffer
   * Config) the target arms the EventIdx before it sleeps, so while it polls the host writes
   * only the shadow page. An idle controller costs no CPU and the first command after an idle
   * period is served at once; a host without shadow doorbells pays one message per doorbell.
   * Default false (doorbells mmapped, adaptive polling with a deep sleep).
   */
  readonly interruptMode?: boolean;
  /** The server layer. Default: the package's `VfioUserServer` (tests pass an in-process fake). */
  readonly serverFactory?: DeviceServerFactory;
}

interface Endpoint {
  readonly addr: ListenAddress;
  readonly controller: NvmeController;
  readonly server: DeviceEndpoint;
}

export class VfioUserTargetTransport implements TargetTransport {
  /**
   * The vfio-user transport's own `nvmf_create_transport` parameters (see @nvmu/nvmf's
   * `TransportParams`); the daemon takes them on create and writes them back in `save_config`.
   * `disable_mappable_bar0` is SPDK's name: BAR0's doorbells not mmap-able, which nvmu runs as
   * its interrupt mode.
   */
  static readonly params: TransportParams<VfioUserTargetTransportOptions, VfioUserTargetTransport> = {
    disable_mappable_bar0: { type: 'boolean', option: 'interruptMode', default: false, value: (t) => t.interruptMode },
  };
  readonly trtype = VFIO_USER_TRTYPE;
  readonly options: TransportOptions;
  readonly params = VfioUserTargetTransport.params;
  private core: TransportCore | undefined;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly hostnqn: string;
  private readonly hostid: Uint8Array;
  private readonly poller: Omit<PollerOptions, 'arm'> | undefined;
  /** Whether controllers run in interrupt mode (doorbells trapped, no timers while idle). */
  readonly interruptMode: boolean;
  private readonly serverFactory: DeviceServerFactory;

  constructor(opts: VfioUserTargetTransportOptions = {}) {
    const maxIoQueues = opts.maxIoQueues ?? 127;
    if (!Number.isInteger(maxIoQueues) || maxIoQueues < 1 || maxIoQueues > MAX_QUEUE_PAIRS - 1) {
      throw new RangeError(`vfio-user transport: maxIoQueues ${maxIoQueues} out of range 1..${MAX_QUEUE_PAIRS - 1}`);
    }
    const maxIoSize = opts.maxIoSize ?? 128 * 1024;
    this.options = {
      maxQueueDepth: opts.maxQueueDepth ?? 256,
      maxAdminQueueDepth: opts.maxAdminQueueDepth ?? 32,
      maxIoQueues,
      maxIoSize,
      inCapsuleDataSize: 0,
      ioUnitSize: maxIoSize,
    };
    const uuid = randomUUID();
    this.hostnqn = opts.hostnqn ?? hostNqnFromUuid(uuid);
    this.hostid = parseUuid(uuid);
    this.poller = opts.poller;
    this.interruptMode = opts.interruptMode ?? false;
    this.serverFactory = opts.serverFactory ?? vfioUserServerFactory;
  }

  attach(core: TransportCore): void {
    this.core = core;
  }

  /** Serve a controller on `<addr.traddr>/cntrl`. */
  async listen(addr: ListenAddress): Promise<void> {
    const core = this.core;
    if (core === undefined) throw new Error('vfio-user transport: listen before attach');
    if (this.endpoints.has(addr.traddr)) return;
    const controller = new NvmeController({
      core,
      options: this.options,
      listenAddress: addr,
      discoveryTrtype: VFIO_USER_DISCOVERY_TRTYPE,
      hostnqn: this.hostnqn,
      hostid: this.hostid,
      msixVectors: msixVectorsFor(this.options.maxIoQueues),
      logger: core.logger,
      interruptMode: this.interruptMode,
      ...(this.poller === undefined ? {} : { poller: this.poller }),
    });
    const log: VfioUserLogger = (level, message) => {
      core.logger[level](`vfio-user ${addr.traddr}: ${message}`);
    };
    const server = await this.serverFactory(addr.traddr, controller, log);
    this.endpoints.set(addr.traddr, { addr, controller, server });
  }

  async stopListen(addr: ListenAddress): Promise<void> {
    const ep = this.endpoints.get(addr.traddr);
    if (ep === undefined) return;
    this.endpoints.delete(addr.traddr);
    ep.controller.close();
    await ep.server.close();
  }

  /** PCIe-style: PRPs only (SGLS 0), no in-capsule data; the fabrics sizes are the minimum. */
  identifyFields(): TransportIdentifyFields {
    return { ioccsz: 4, iorcsz: 1, icdoff: 0, sgls: 0, msdbd: 0, fcatt: 0, prpOnly: true };
  }

  /**
   * An entry only for a discovery controller on this transport (the controller's own lookup of
   * its subsystem): a host that discovers over the network cannot use a socket on this host, so
   * it gets no entry, as Linux nvmet lists only the port a host came through.
   */
  discoveryEntry(addr: ListenAddress, via: QPair | undefined): DiscoveryEntryFields | undefined {
    if (via !== undefined && via.listenAddress.trtype !== VFIO_USER_TRTYPE) return undefined;
    return {
      trtype: VFIO_USER_DISCOVERY_TRTYPE,
      adrfam: VFIO_USER_DISCOVERY_ADRFAM,
      treq: 0,
      traddr: addr.traddr,
      trsvcid: '',
      tsas: new Uint8Array(256),
    };
  }

  /** Counters of the controller on listener `traddr`. */
  stats(traddr: string): NvmeControllerStats | undefined {
    return this.endpoints.get(traddr)?.controller.stats;
  }

  async close(): Promise<void> {
    const eps = [...this.endpoints.values()];
    this.endpoints.clear();
    for (const ep of eps) {
      ep.controller.close();
      await ep.server.close();
    }
  }
}
