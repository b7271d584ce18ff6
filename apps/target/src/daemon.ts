/**
 * Starting and stopping the default target: one subsystem, one file-backed namespace, NVMe/TCP
 * with discovery on the same listener. Nothing is created on disk before every option has been
 * checked and the listener is up, so a bad NQN, a busy port or a wrong size leaves nothing behind.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { FileBdev, Target, type TransportLogger } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';

import { jsonLogger } from './log.js';
import { NEW_IMAGE_SIZE, UsageError, checkOptions, describeSize, type DaemonOptions } from './options.js';

/** File name of the namespace image in the data folder. */
export const IMAGE_NAME = 'nvmu0.img';

export interface RunningDaemon {
  target: Target;
  options: DaemonOptions;
  /** Path of the namespace image and its size in bytes. */
  image: string;
  sizeBytes: number;
  /** Stop accepting, close every connection (completing what is in flight), flush and close images. */
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

/** Start the default target. Throws `UsageError` for bad options (nothing created), else Error. */
export async function startDaemon(options: DaemonOptions, logger: TransportLogger = jsonLogger(options.logLevel)): Promise<RunningDaemon> {
  checkOptions(options);
  const dataDir = resolve(options.dataDir);
  const image = join(dataDir, IMAGE_NAME);
  const have = existingSize(image);
  if (have !== undefined && options.sizeBytes !== undefined && have !== options.sizeBytes) {
    throw new UsageError(
      `--size ${describeSize(options.sizeBytes)} disagrees with the existing image ${image}, which is ${describeSize(have)}; ` +
        'leave --size out to use the image as it is',
    );
  }
  const target = new Target({ logger });
  try {
    await target.addTransport(new TcpTargetTransport());
    const adrfam = options.traddr.includes(':') ? 'ipv6' : 'ipv4';
    const addr = { trtype: 'tcp', adrfam, traddr: options.traddr, trsvcid: options.trsvcid } as const;
    try {
      await target.listen(addr);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : (e as Error).message;
      throw new Error(`cannot listen on ${options.traddr}:${options.trsvcid}: ${why}`, { cause: e });
    }
    // The listener is up: only now touch the disk.
    mkdirSync(dataDir, { recursive: true });
    const bdev = await FileBdev.open({
      name: 'nvmu0',
      path: image,
      size: have === undefined ? (options.sizeBytes ?? NEW_IMAGE_SIZE) : undefined,
      blockSize: options.blockSize,
    });
    target.addBdev(bdev);
    const sub = target.createSubsystem({ nqn: options.nqn, allowAnyHost: true, model: 'nvmu', serial: 'NVMU0001' });
    sub.addNamespace({ bdev });
    await sub.addListener(addr);
    sub.start();
    const sizeBytes = bdev.numBlocks * bdev.blockSize;
    logger.info('serving', { nqn: options.nqn, image, sizeBytes, created: have === undefined, traddr: options.traddr, trsvcid: options.trsvcid });
    let stopping: Promise<void> | undefined;
    return { target, options, image, sizeBytes, stop: () => (stopping ??= target.close()) };
  } catch (e) {
    await target.close();
    throw e;
  }
}

/** What the daemon prints on stdout once serving: how to connect. */
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
    'Ctrl-C stops it cleanly.',
  ].join('\n');
}
