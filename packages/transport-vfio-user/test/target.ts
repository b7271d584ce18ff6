/**
 * The real nvmf core behind a vfio-user target transport: one subsystem (`NQN`, any host) with one
 * 512-byte-block malloc namespace, listening on a vfio-user endpoint in a new temporary folder.
 * What the host tests and the nvme socket tests start; `cleanups` gets the closing steps.
 */
import { MallocBdev, Target, silentLogger, type ListenAddress } from '@nvmu/nvmf';
import type { VfioUserTargetTransport } from '../src/target.js';
import { NQN } from './nvme/harness.js';
import { tempDir } from './server/helpers.js';

export interface VfioUserTargetOptions {
  /** Namespace size in 512-byte blocks. */
  blocks: number;
  /** Identify serial number and model of the subsystem. */
  identity?: { serial: string; model: string };
}

/** Starts the target; resolves with the endpoint folder (the transport ID's traddr). */
export async function startVfioUserTarget(
  transport: VfioUserTargetTransport,
  opts: VfioUserTargetOptions,
  cleanups: (() => Promise<void> | void)[],
): Promise<string> {
  const target = new Target({ logger: silentLogger });
  await target.addTransport(transport);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true, ...opts.identity });
  const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: opts.blocks });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const { dir, cleanup } = tempDir();
  const addr: ListenAddress = { trtype: 'vfio-user', adrfam: 'intra-host', traddr: dir, trsvcid: '' };
  await sub.addListener(addr);
  sub.start();
  cleanups.push(cleanup, () => target.close());
  return dir;
}
