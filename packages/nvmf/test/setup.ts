/** Shared fixture: a target with the test transport, one started subsystem with a malloc namespace. */
import { MallocBdev, Target, type Subsystem, type SubsystemOptions } from '../src/index.js';
import { LOOP_ADDR, TestHost, TestTransport } from './harness.js';

export const NQN = 'nqn.2026-11.io.nvmu:core-test';

export interface Fixture {
  target: Target;
  tr: TestTransport;
  sub: Subsystem;
  bdev: MallocBdev;
  host: TestHost;
}

export async function fixture(opts: Partial<SubsystemOptions> = {}, blockSize = 512, numBlocks = 4096): Promise<Fixture> {
  const target = new Target();
  const tr = new TestTransport();
  await target.addTransport(tr);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true, ...opts });
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize, numBlocks });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  await sub.addListener(LOOP_ADDR);
  sub.start();
  return { target, tr, sub, bdev, host: new TestHost(tr, NQN) };
}
