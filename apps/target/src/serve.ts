/**
 * What the daemon serves and how it is managed: the target, the transports it may create, the
 * JSON-RPC socket and the optional Prometheus endpoint. Its configuration is always a list of
 * SPDK methods: the default one (below), or the `--json` file's; either way it runs through the
 * same method table the RPC socket serves, so what starts can be saved and loaded back.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { DISCOVERY_NQN, Target, type TransportLogger } from '@nvmu/nvmf';
import { applyConfig, loadConfigFile } from './config.js';
import { createContext, createRpcMethods, RpcServer, type ConfigEntry, type RpcContext, type RpcMethods, type SpdkConfig } from './rpc/index.js';
import { createMetricsRegistry, serveMetrics, startLatencySampler } from './stats.js';
import { defaultTransports, type TransportRegistry } from './transports.js';

/** What the default configuration is made of. */
export interface DefaultSetup {
  /** The namespace image (must exist when the storage part runs). */
  image: string;
  blockSize: 512 | 4096;
  nqn: string;
  traddr: string;
  trsvcid: string;
  /** Socket directory of a vfio-user listener of the same subsystem; undefined: none. */
  vfioUser?: string | undefined;
}

/**
 * The default configuration as SPDK JSON configs, in two parts so nothing touches the disk before
 * the listeners are up: `network` (TCP, the subsystem, its listener and discovery's, then the
 * VFIOUSER transport and the subsystem's vfio-user listener, as SPDK users add one: the socket
 * directory as traddr, no trsvcid) then `storage` (the image as an AIO bdev, its namespace).
 * One subsystem on both transports: the file is one namespace (a bdev belongs to one
 * subsystem, as in SPDK), which a VM sees as a PCI NVMe controller and hosts reach over TCP.
 */
export function defaultConfig(d: DefaultSetup): { network: SpdkConfig; storage: SpdkConfig } {
  const adrfam = d.traddr.includes(':') ? 'IPv6' : 'IPv4';
  const listen_address = { trtype: 'TCP', adrfam, traddr: d.traddr, trsvcid: d.trsvcid };
  const vfioUser: ConfigEntry[] =
    d.vfioUser === undefined
      ? []
      : [
          { method: 'nvmf_create_transport', params: { trtype: 'VFIOUSER' } },
          { method: 'nvmf_subsystem_add_listener', params: { nqn: d.nqn, listen_address: { trtype: 'VFIOUSER', traddr: d.vfioUser } } },
        ];
  return {
    network: {
      subsystems: [
        {
          subsystem: 'nvmf',
          config: [
            { method: 'nvmf_create_transport', params: { trtype: 'TCP' } },
            { method: 'nvmf_create_subsystem', params: { nqn: d.nqn, allow_any_host: true, serial_number: 'NVMU0001', model_number: 'nvmu' } },
            { method: 'nvmf_subsystem_add_listener', params: { nqn: DISCOVERY_NQN, listen_address } },
            { method: 'nvmf_subsystem_add_listener', params: { nqn: d.nqn, listen_address } },
            ...vfioUser,
          ],
        },
      ],
    },
    storage: {
      subsystems: [
        { subsystem: 'bdev', config: [{ method: 'bdev_aio_create', params: { name: 'nvmu0', filename: d.image, block_size: d.blockSize } }] },
        { subsystem: 'nvmf', config: [{ method: 'nvmf_subsystem_add_ns', params: { nqn: d.nqn, namespace: { bdev_name: 'nvmu0', nsid: 1 } } }] },
      ],
    },
  };
}

export interface ServeOptions {
  logger: TransportLogger;
  /** Run this config: a file path (`--json`), a parsed config, or a function that calls the methods itself. */
  config: string | SpdkConfig | ((methods: RpcMethods) => Promise<void>);
  /** JSON-RPC socket path; undefined: no RPC socket. */
  rpcSocket: string | undefined;
  /** Prometheus endpoint, host and port; undefined: none. */
  metrics?: { host: string; port: number } | undefined;
  /** The transports that can be created (default: this build's). */
  transports?: TransportRegistry;
}

export interface Services {
  readonly target: Target;
  readonly context: RpcContext;
  readonly methods: RpcMethods;
  readonly rpc: RpcServer | undefined;
  readonly metrics: Server | undefined;
  /** Close the RPC socket (removing its file) and the metrics endpoint. The target stays. */
  closeManagement(): Promise<void>;
}

/** Build the target from `opts.config`, then open the RPC socket and metrics endpoint. */
export async function serve(opts: ServeOptions): Promise<Services> {
  const target = new Target({ logger: opts.logger });
  const context = createContext(target, opts.transports ?? defaultTransports(), opts.logger);
  const methods = createRpcMethods(context);
  let rpc: RpcServer | undefined;
  let metrics: Server | undefined;
  let stopSampler = (): void => undefined;
  try {
    if (typeof opts.config === 'string') await loadConfigFile(methods, opts.config);
    else if (typeof opts.config === 'function') await opts.config(methods);
    else await applyConfig(methods, opts.config, 'configuration');
    if (opts.rpcSocket !== undefined) {
      mkdirSync(dirname(opts.rpcSocket), { recursive: true, mode: 0o700 });
      rpc = new RpcServer({ path: opts.rpcSocket, methods, logger: opts.logger });
      await rpc.listen();
    }
    stopSampler = startLatencySampler(target);
    if (opts.metrics !== undefined) {
      metrics = await serveMetrics(createMetricsRegistry(context), opts.metrics.host, opts.metrics.port);
      opts.logger.info('metrics: listening', { url: `http://${opts.metrics.host}:${opts.metrics.port}/metrics` });
    }
  } catch (e) {
    stopSampler();
    await rpc?.close();
    if (metrics !== undefined) {
      const server = metrics;
      await new Promise<void>((r) => {
        server.close(() => {
          r();
        });
      });
    }
    await target.close();
    throw e;
  }
  const m = metrics;
  return {
    target,
    context,
    methods,
    rpc,
    metrics,
    closeManagement: async () => {
      stopSampler();
      await rpc?.close();
      if (m !== undefined) {
        await new Promise<void>((r) => {
          m.close(() => {
            r();
          });
        });
      }
    },
  };
}
