/**
 * Starting and stopping the daemon. By default: one subsystem, one file-backed namespace, NVMe/TCP
 * with discovery on the same listener, set up through SPDK's methods (serve.ts), so `save_config`
 * writes it back; nothing is created on disk before every option has been checked and the listener
 * is up, so a bad NQN, a busy port or a wrong size leaves nothing behind. With `--json FILE`: the
 * file's configuration instead. Either way the JSON-RPC socket opens once the configuration ran.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { FileBdev, type Target, type TransportLogger } from '@nvmu/nvmf';

import { ConfigError, applyConfig } from './config.js';
import { pinoLogger } from './log.js';
import { NEW_IMAGE_SIZE, UsageError, checkOptions, describeSize, type DaemonOptions } from './options.js';
import { defaultConfig, serve, type Services } from './serve.js';

/** File name of the namespace image in the data folder. */
export const IMAGE_NAME = 'nvmu0.img';

export interface RunningDaemon {
  target: Target;
  options: DaemonOptions;
  /** Path of the default namespace's image and its size in bytes (undefined with `--json`). */
  image: string | undefined;
  sizeBytes: number | undefined;
  /** The RPC method table and management endpoints. */
  services: Services;
  /**
   * Stop accepting (the RPC socket is removed first), close every connection, let the I/O in
   * flight finish (bounded), flush and close the images.
   */
  stop(): Promise<void>;
}

/** The size of the image at `path`, or undefined when there is none. */
function existingSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Start the daemon. Throws `UsageError` for bad options (nothing created), else Error. */
export async function startDaemon(options: DaemonOptions, logger: TransportLogger = pinoLogger(options.logLevel)): Promise<RunningDaemon> {
  checkOptions(options);
  const management = { logger, rpcSocket: options.rpcSocket, metrics: options.metrics };
  let image: string | undefined;
  let sizeBytes: number | undefined;
  let services: Services;
  if (options.json !== undefined) {
    services = await serve({ ...management, config: options.json });
  } else {
    const dataDir = resolve(options.dataDir);
    const img = join(dataDir, IMAGE_NAME);
    image = img;
    const have = existingSize(img);
    if (have !== undefined && options.sizeBytes !== undefined && have !== options.sizeBytes) {
      throw new UsageError(
        `--size ${describeSize(options.sizeBytes)} disagrees with the existing image ${img}, which is ${describeSize(have)}; ` +
          'leave --size out to use the image as it is',
      );
    }
    const parts = defaultConfig({ image: img, blockSize: options.blockSize, nqn: options.nqn, traddr: options.traddr, trsvcid: options.trsvcid });
    services = await serve({
      ...management,
      config: async (methods) => {
        try {
          await applyConfig(methods, parts.network, 'default configuration');
        } catch (e) {
          const m = e instanceof ConfigError ? /Unable to listen on (.*?) \(code/.exec(e.message) : null;
          if (m !== null) throw new Error(`cannot listen on ${m[1] ?? ''}`, { cause: e });
          throw e;
        }
        // The listener is up: only now touch the disk.
        if (have === undefined) {
          mkdirSync(dataDir, { recursive: true });
          const b = await FileBdev.open({ name: IMAGE_NAME, path: img, size: options.sizeBytes ?? NEW_IMAGE_SIZE, blockSize: options.blockSize });
          await b.close();
        }
        await applyConfig(methods, parts.storage, 'default configuration');
      },
    });
    const bdev = services.target.getBdev('nvmu0');
    sizeBytes = bdev === undefined ? undefined : bdev.numBlocks * bdev.blockSize;
  }
  const { target } = services;
  logger.info('serving', {
    subsystems: [...target.subsystems()].map((s) => s.nqn),
    listeners: target.listeners().map((l) => `${l.trtype}:${l.traddr}:${l.trsvcid}`),
    rpc: options.rpcSocket,
    ...(image !== undefined && { image, sizeBytes }),
  });
  let stopping: Promise<void> | undefined;
  return {
    target,
    options,
    image,
    sizeBytes,
    services,
    stop: () =>
      (stopping ??= (async () => {
        await services.closeManagement();
        await target.close();
      })()),
  };
}

/** What the daemon prints on stdout once serving: what it serves and the lines to copy. */
export function connectHelp(o: DaemonOptions, target?: Target): string {
  const lines: string[] = [];
  const tcp = target === undefined ? [{ traddr: o.traddr, trsvcid: o.trsvcid }] : target.listeners().filter((l) => l.trtype === 'tcp');
  const subs = target === undefined || o.json === undefined ? [o.nqn] : [...target.subsystems()].map((s) => s.nqn);
  const first = tcp[0];
  const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);
  if (o.json === undefined) {
    lines.push(`nvmu target serving ${o.nqn} on NVMe/TCP ${bracket(o.traddr)}:${o.trsvcid} (data in ${resolve(o.dataDir)})`);
  } else {
    lines.push(`nvmu target serving the configuration in ${o.json}: ${subs.length} subsystem(s) on ${tcp.length} NVMe/TCP listener(s)`);
    for (const s of subs) lines.push(`  ${s}`);
  }
  if (first !== undefined && subs[0] !== undefined) {
    const { traddr, trsvcid } = first;
    lines.push(
      '',
      'Connect from this machine:',
      `  nvme discover -t tcp -a ${traddr} -s ${trsvcid}`,
      `  nvme connect  -t tcp -a ${traddr} -s ${trsvcid} -n ${subs[0]}`,
      'From a QEMU guest with user networking, use -a 10.0.2.2.',
      "With nvmu's own tools (from the workspace):",
      `  pnpm nvmu identify -r 'trtype:tcp traddr:${traddr} trsvcid:${trsvcid} subnqn:${subs[0]}'`,
      `  pnpm perf -r 'trtype:tcp traddr:${traddr} trsvcid:${trsvcid} subnqn:${subs[0]}' -q 32 -o 4096 -w randread -t 5`,
    );
  }
  lines.push(
    '',
    `Manage it with SPDK's JSON-RPC methods on ${o.rpcSocket}:`,
    `  pnpm nvmu rpc -s ${o.rpcSocket} nvmf_get_subsystems     (or SPDK's scripts/rpc.py -s ${o.rpcSocket})`,
    '',
    'Ctrl-C stops it cleanly.',
  );
  return lines.join('\n');
}
