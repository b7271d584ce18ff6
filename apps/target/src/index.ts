/**
 * The nvmu target daemon: by default one subsystem with a file-backed namespace over NVMe/TCP
 * (with the discovery subsystem on the same listener), managed over a JSON-RPC socket with SPDK's
 * methods; or whatever an SPDK JSON config (`--json`) sets up. The vfio-user endpoint arrives with
 * the vfio-user transport.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Target, TransportLogger } from '@nvmu/nvmf';
import { pinoLogger } from './logger.js';
import { defaultConfig, defaultRpcSocket, ensureImage, serve, type Services } from './serve.js';

export { defaultRpcSocket, defaultRunDir, defaultConfig, serve, type Services, type ServeOptions } from './serve.js';
export { ConfigError, applyConfig, loadConfigFile } from './config.js';
export { pinoLogger, createPino, type LoggerOptions, type LogLevelName } from './logger.js';
export { RpcError, RpcCode, RpcMethods, RpcServer, saveConfig, type JsonValue, type SpdkConfig } from './rpc/index.js';
export { TransportRegistry, defaultTransports, type NvmfTransportParams, type TransportFactory } from './transports.js';

export interface DaemonOptions {
  /** Folder for namespace images; data survives restarts. */
  dataDir: string;
  /** NVMe/TCP listen address and port. */
  traddr: string;
  trsvcid: string;
  /** Subsystem NQN. */
  nqn: string;
  /** Size of a new namespace image in bytes (an existing image keeps its size). */
  sizeBytes: number;
  blockSize: 512 | 4096;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** JSON-RPC socket path (`-r`); default `nvmu.sock` in the run folder. */
  rpcSocket: string;
  /** SPDK JSON config to start from (`--json`) instead of the default setup. */
  json: string | undefined;
  /** Serve Prometheus metrics at http://HOST:PORT/metrics (`--metrics HOST:PORT`). */
  metrics: { host: string; port: number } | undefined;
}

export const DEFAULTS: DaemonOptions = {
  dataDir: process.env.NVMU_DATA_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'nvmu'),
  traddr: '127.0.0.1',
  trsvcid: '4420',
  nqn: 'nqn.2026-01.io.nvmu:cnode1',
  sizeBytes: 1 << 30,
  blockSize: 512,
  logLevel: 'info',
  rpcSocket: defaultRpcSocket(),
  json: undefined,
  metrics: undefined,
};

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** One JSON object a line on stderr (pino), whatever stderr is: structured logs a collector can read. */
export function jsonLogger(min: DaemonOptions['logLevel']): TransportLogger {
  return pinoLogger(min, { pretty: false });
}

export function parseDaemonArgs(argv: readonly string[]): DaemonOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string', short: 'l' },
      nqn: { type: 'string', short: 'n' },
      size: { type: 'string' },
      'block-size': { type: 'string' },
      'log-level': { type: 'string' },
      'rpc-socket': { type: 'string', short: 'r' },
      json: { type: 'string', short: 'c' },
      metrics: { type: 'string' },
    },
    strict: true,
  });
  const opts = { ...DEFAULTS };
  if (values['data-dir'] !== undefined) opts.dataDir = values['data-dir'];
  if (values.listen !== undefined) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(values.listen);
    if (m === null) throw new Error(`--listen ${values.listen}: expected ADDRESS:PORT, e.g. 127.0.0.1:4420 or [::1]:4420`);
    opts.traddr = m[1] ?? '';
    opts.trsvcid = m[2] ?? '';
  }
  if (values.nqn !== undefined) opts.nqn = values.nqn;
  if (values.size !== undefined) {
    const m = /^(\d+)([KMGT]?)i?B?$/i.exec(values.size);
    if (m === null) throw new Error(`--size ${values.size}: expected bytes with an optional K/M/G/T suffix`);
    const unit = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[(m[2] ?? '').toUpperCase()] ?? 1;
    opts.sizeBytes = Number(m[1]) * unit;
  }
  if (values['block-size'] !== undefined) {
    const bs = Number(values['block-size']);
    if (bs !== 512 && bs !== 4096) throw new Error(`--block-size ${values['block-size']}: 512 or 4096`);
    opts.blockSize = bs;
  }
  if (values['log-level'] !== undefined) {
    const l = values['log-level'];
    if (!(LEVELS as readonly string[]).includes(l)) throw new Error(`--log-level ${l}: one of ${LEVELS.join(', ')}`);
    opts.logLevel = l as DaemonOptions['logLevel'];
  }
  if (values['rpc-socket'] !== undefined) {
    if (values['rpc-socket'] === '') throw new Error('-r/--rpc-socket: expected a socket path');
    opts.rpcSocket = values['rpc-socket'];
  }
  if (values.json !== undefined) opts.json = values.json;
  if (values.metrics !== undefined) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(values.metrics);
    if (m === null || Number(m[2]) > 65535) throw new Error(`--metrics ${values.metrics}: expected HOST:PORT, e.g. 127.0.0.1:9464`);
    opts.metrics = { host: m[1] ?? '', port: Number(m[2]) };
  }
  return opts;
}

export interface RunningDaemon {
  target: Target;
  options: DaemonOptions;
  /** The target, its RPC method table and management endpoints. */
  services: Services;
  /** Stop accepting, close every connection (completing what is in flight), flush and close images, remove the RPC socket. */
  stop(): Promise<void>;
}

/** The image of the default namespace. */
export function defaultImage(options: DaemonOptions): string {
  return join(resolve(options.dataDir), 'nvmu0.img');
}

/**
 * Start the target: the `--json` config if given, else the default one (one subsystem, one
 * file-backed namespace, NVMe/TCP with discovery); then the RPC socket.
 */
export async function startDaemon(options: DaemonOptions, logger: TransportLogger = pinoLogger(options.logLevel)): Promise<RunningDaemon> {
  let config: Parameters<typeof serve>[0]['config'];
  if (options.json !== undefined) {
    config = options.json;
  } else {
    const image = defaultImage(options);
    await ensureImage(image, options.sizeBytes, options.blockSize);
    config = defaultConfig({ image, sizeBytes: options.sizeBytes, blockSize: options.blockSize, nqn: options.nqn, traddr: options.traddr, trsvcid: options.trsvcid });
  }
  const services = await serve({ logger, config, rpcSocket: options.rpcSocket, metrics: options.metrics });
  const { target } = services;
  logger.info('serving', {
    subsystems: [...target.subsystems()].map((s) => s.nqn),
    listeners: target.listeners().map((l) => `${l.trtype}:${l.traddr}:${l.trsvcid}`),
    rpc: options.rpcSocket,
  });
  let stopping: Promise<void> | undefined;
  return {
    target,
    options,
    services,
    stop: () =>
      (stopping ??= (async () => {
        await services.closeManagement();
        await target.close();
      })()),
  };
}

export function connectHelp(o: DaemonOptions): string {
  const a = o.traddr.includes(':') ? `[${o.traddr}]` : o.traddr;
  return [
    `nvmu target serving ${o.nqn} on NVMe/TCP ${a}:${o.trsvcid} (data in ${resolve(o.dataDir)})`,
    '',
    'Connect from this machine:',
    `  nvme discover -t tcp -a ${o.traddr} -s ${o.trsvcid}`,
    `  nvme connect  -t tcp -a ${o.traddr} -s ${o.trsvcid} -n ${o.nqn}`,
    'From a QEMU guest with user networking, use -a 10.0.2.2.',
    `With nvmu's own tools: nvmu identify -r 'trtype:tcp traddr:${o.traddr} trsvcid:${o.trsvcid} subnqn:${o.nqn}'`,
    '',
    `Manage it over JSON-RPC (SPDK's methods) at ${o.rpcSocket}:`,
    `  nvmu rpc -s ${o.rpcSocket} nvmf_get_subsystems`,
    '',
    'Ctrl-C stops it cleanly.',
  ].join('\n');
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let options: DaemonOptions;
  try {
    options = parseDaemonArgs(argv);
  } catch (e) {
    console.error(`nvmu-target: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const daemon = await startDaemon(options);
  const shutdown = (signal: string): void => {
    console.error(`nvmu-target: ${signal}, shutting down`);
    daemon.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`nvmu-target: shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => { shutdown('SIGINT'); });
  process.once('SIGTERM', () => { shutdown('SIGTERM'); });
  // The banner last: whoever waits for it may signal at once.
  console.log(connectHelp(options));
}
