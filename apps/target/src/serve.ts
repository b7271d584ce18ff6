/**
 * What the daemon serves and how it is managed: the target, the transports it may create, the
 * JSON-RPC socket and the optional Prometheus endpoint. Its configuration is always a list of
 * SPDK methods: the default one (below), or the `--json` file's; either way it runs through the
 * same method table the RPC socket serves, so what starts can be saved and loaded back.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DISCOVERY_NQN, FileBdev, Target, type TransportLogger } from '@nvmu/nvmf';
import { applyConfig, loadConfigFile } from './config.js';
import { createContext, createRpcMethods, RpcServer, type RpcContext, type RpcMethods, type SpdkConfig } from './rpc/index.js';
import { createMetricsRegistry, serveMetrics } from './stats.js';
import { defaultTransports, type TransportRegistry } from './transports.js';

/**
 * The run folder for sockets: `$NVMU_RUN_DIR`, else `$XDG_RUNTIME_DIR/nvmu`, else
 * `<tmpdir>/nvmu-<uid>` (the fallback where no session runtime folder exists, e.g. as root
 * without a login session).
 */
export function defaultRunDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NVMU_RUN_DIR !== undefined && env.NVMU_RUN_DIR !== '') return env.NVMU_RUN_DIR;
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') return join(env.XDG_RUNTIME_DIR, 'nvmu');
  return join(tmpdir(), `nvmu-${process.getuid?.() ?? 'user'}`);
}

/** The JSON-RPC socket's default path: `nvmu.sock` in the run folder. */
export function defaultRpcSocket(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultRunDir(env), 'nvmu.sock');
}

/** What the default configuration is made of. */
export interface DefaultSetup {
  /** The namespace image (created, sparse, when missing). */
  image: string;
  sizeBytes: number;
  blockSize: 512 | 4096;
  nqn: string;
  traddr: string;
  trsvcid: string;
}

/** The default configuration as an SPDK JSON config: one file bdev, TCP, one subsystem, discovery. */
export function defaultConfig(d: DefaultSetup): SpdkConfig {
  const adrfam = d.traddr.includes(':') ? 'IPv6' : 'IPv4';
  const listen_address = { trtype: 'TCP', adrfam, traddr: d.traddr, trsvcid: d.trsvcid };
  return {
    subsystems: [
      { subsystem: 'bdev', config: [{ method: 'bdev_aio_create', params: { name: 'nvmu0', filename: d.image, block_size: d.blockSize } }] },
      {
        subsystem: 'nvmf',
        config: [
          { method: 'nvmf_create_transport', params: { trtype: 'TCP' } },
          { method: 'nvmf_create_subsystem', params: { nqn: d.nqn, allow_any_host: true, serial_number: 'NVMU0001', model_number: 'nvmu' } },
          { method: 'nvmf_subsystem_add_ns', params: { nqn: d.nqn, namespace: { bdev_name: 'nvmu0', nsid: 1 } } },
          { method: 'nvmf_subsystem_add_listener', params: { nqn: DISCOVERY_NQN, listen_address } },
          { method: 'nvmf_subsystem_add_listener', params: { nqn: d.nqn, listen_address } },
        ],
      },
    ],
  };
}

/** Create the sparse image of the default namespace when it does not exist (an existing one keeps its size). */
export async function ensureImage(path: string, sizeBytes: number, blockSize: 512 | 4096): Promise<void> {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const b = await FileBdev.open({ name: 'nvmu0', path, size: sizeBytes, blockSize });
  await b.close();
}

export interface ServeOptions {
  logger: TransportLogger;
  /** Run this config (`--json`): a file path, or a parsed config. */
  config: string | SpdkConfig;
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
  try {
    const n = typeof opts.config === 'string' ? await loadConfigFile(methods, opts.config) : await applyConfig(methods, opts.config, 'default configuration');
    opts.logger.debug('configuration applied', { methods: n, source: typeof opts.config === 'string' ? opts.config : 'default' });
    if (opts.rpcSocket !== undefined) {
      mkdirSync(dirname(opts.rpcSocket), { recursive: true, mode: 0o700 });
      rpc = new RpcServer({ path: opts.rpcSocket, methods, logger: opts.logger });
      await rpc.listen();
    }
    if (opts.metrics !== undefined) {
      metrics = await serveMetrics(createMetricsRegistry(context), opts.metrics.host, opts.metrics.port);
      opts.logger.info('metrics: listening', { url: `http://${opts.metrics.host}:${opts.metrics.port}/metrics` });
    }
  } catch (e) {
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
