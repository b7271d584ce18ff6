/**
 * Starting and stopping the daemon. By default: one subsystem, one file-backed namespace, NVMe/TCP
 * with discovery on the same listener, set up through SPDK's methods (serve.ts), so `save_config`
 * writes it back; nothing is created on disk before every option has been checked and the listener
 * is up, so a bad NQN, a busy port or a wrong size leaves nothing behind. With `--json FILE`: the
 * file's configuration instead. Either way the JSON-RPC socket opens once the configuration ran.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

import { FileBdev, type Target, type TransportLogger } from '@nvmu/nvmf';

import { ConfigError, applyConfig } from './config.js';
import { pinoLogger } from './log.js';
import { NEW_IMAGE_SIZE, UsageError, checkOptions, describeSize, vfioUserDir, type DaemonOptions } from './options.js';
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
    const vfu = vfioUserDir(options);
    const parts = defaultConfig({
      image: img,
      blockSize: options.blockSize,
      nqn: options.nqn,
      traddr: options.traddr,
      trsvcid: options.trsvcid,
      vfioUser: vfu === undefined ? undefined : resolve(vfu),
    });
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
    listeners: target.listeners().map((l) => (l.trsvcid === '' ? `${l.trtype}:${l.traddr}` : `${l.trtype}:${l.traddr}:${l.trsvcid}`)),
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

/** The QEMU command line that attaches the vfio-user endpoint at `dir` (guest RAM shared: the server maps it). */
export function qemuLine(dir: string, memory = '1G'): string {
  const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { path: join(dir, 'cntrl'), type: 'unix' } });
  return `qemu-system-x86_64 -machine q35,memory-backend=mem -m ${memory} -object memory-backend-memfd,id=mem,size=${memory},share=on -device '${device}' -nographic`;
}

/**
 * How a user runs the workspace's scripts from another shell: `pnpm` when their PATH has one,
 * else `npx -y pnpm@10`, as the README's quick start does. PATH entries that only the process
 * running the daemon sees (npx's cache, node_modules/.bin) do not count.
 */
export function pnpmCommand(env: NodeJS.ProcessEnv = process.env): string {
  for (const d of (env.PATH ?? '').split(delimiter)) {
    if (d === '' || d.includes('/_npx/') || d.includes('node_modules')) continue;
    try {
      accessSync(join(d, 'pnpm'), constants.X_OK);
      return 'pnpm';
    } catch {
      // not here
    }
  }
  return 'npx -y pnpm@10';
}

/** What the daemon prints on stdout once serving: what it serves and the lines to copy. */
export function connectHelp(o: DaemonOptions, target?: Target, pnpm = pnpmCommand()): string {
  const lines: string[] = [];
  const tcp = target === undefined ? [{ traddr: o.traddr, trsvcid: o.trsvcid }] : target.listeners().filter((l) => l.trtype === 'tcp');
  const defaultVfu = vfioUserDir(o);
  const vfu =
    target === undefined
      ? defaultVfu === undefined || o.json !== undefined ? [] : [resolve(defaultVfu)]
      : target.listeners().filter((l) => l.trtype === 'vfio-user').map((l) => l.traddr);
  const subs = target === undefined || o.json === undefined ? [o.nqn] : [...target.subsystems()].map((s) => s.nqn);
  const first = tcp[0];
  const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);
  if (o.json === undefined) {
    lines.push(`nvmu target serving ${o.nqn} (data in ${resolve(o.dataDir)})`);
  } else {
    lines.push(`nvmu target serving the configuration in ${o.json}: ${subs.length} subsystem(s)`);
    for (const s of subs) lines.push(`  ${s}`);
  }
  for (const l of tcp) lines.push(`  NVMe/TCP   ${bracket(l.traddr)}:${l.trsvcid}`);
  for (const d of vfu) lines.push(`  vfio-user  ${join(d, 'cntrl')}`);
  const sub = subs[0];
  if (first !== undefined && sub !== undefined) {
    const { traddr, trsvcid } = first;
    // nvme-cli needs root: sudo for everyone else (root may have no sudo at all).
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    lines.push(
      '',
      'Connect the Linux host on this machine (nvme-cli):',
      `  ${sudo}nvme discover -t tcp -a ${traddr} -s ${trsvcid}`,
      `  ${sudo}nvme connect  -t tcp -a ${traddr} -s ${trsvcid} -n ${sub}`,
      'From a QEMU guest with user networking, use -a 10.0.2.2.',
    );
  }
  const firstVfu = vfu[0];
  if (firstVfu !== undefined) {
    lines.push(
      '',
      'Give a VM the namespace as a PCI NVMe controller (QEMU >= 10.1 with vfio-user-pci; guest RAM',
      'shared with the target; add your disk or -kernel; one VM at a time):',
      `  ${qemuLine(firstVfu)}`,
    );
  }
  if ((first !== undefined && sub !== undefined) || firstVfu !== undefined) {
    lines.push('', "With nvmu's own tools (from the workspace):");
    if (first !== undefined && sub !== undefined) {
      const trid = `trtype:tcp traddr:${first.traddr} trsvcid:${first.trsvcid} subnqn:${sub}`;
      lines.push(`  ${pnpm} nvmu identify -r '${trid}'`, `  ${pnpm} perf -r '${trid}' -q 32 -o 4096 -w randread -t 5`);
    }
    if (firstVfu !== undefined) {
      const trid = `trtype:vfiouser traddr:${firstVfu}`;
      lines.push(`  ${pnpm} nvmu identify -r '${trid}'`, `  ${pnpm} perf -r '${trid}' -q 32 -o 4096 -w randread -t 5`);
    }
  }
  lines.push(
    '',
    `Manage it with SPDK's JSON-RPC methods on ${o.rpcSocket} (SPDK's scripts/rpc.py -s works too):`,
    `  ${pnpm} nvmu rpc -s ${o.rpcSocket} nvmf_get_subsystems`,
    '',
    'Ctrl-C stops it cleanly.',
  );
  return lines.join('\n');
}
