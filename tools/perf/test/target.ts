/**
 * Test fixture: an in-process @nvmu/nvmf target with one subsystem reachable over the loopback
 * transport, and the loopback host transport registered with the client.
 */
import '@nvmu/transport-loopback/host';
import { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { type Bdev, ErrorBdev, MallocBdev, NullBdev, Target } from '@nvmu/nvmf';

export interface TestTarget {
  readonly target: Target;
  readonly trid: string;
  readonly nqn: string;
  readonly bdevs: readonly Bdev[];
  close(): Promise<void>;
}

let counter = 0;

export interface TestTargetOptions {
  readonly kind?: 'malloc' | 'null' | 'error';
  readonly blockSize?: 512 | 4096;
  readonly numBlocks?: number;
  readonly namespaces?: number;
}

export async function startTarget(opts: TestTargetOptions = {}): Promise<TestTarget> {
  const n = ++counter;
  const traddr = `perf-test-${process.pid}-${n}`;
  const nqn = `nqn.2026-11.io.nvmu:perf-test-${n}`;
  const target = new Target();
  await target.addTransport(new LoopbackTargetTransport());
  const sub = target.createSubsystem({ nqn, allowAnyHost: true });
  const bdevs: Bdev[] = [];
  for (let i = 0; i < (opts.namespaces ?? 1); i++) {
    const blockSize = opts.blockSize ?? 512;
    const numBlocks = opts.numBlocks ?? 2048;
    let bdev: Bdev;
    if (opts.kind === 'null') bdev = new NullBdev({ name: `Null${i}`, blockSize, numBlocks });
    else if (opts.kind === 'error') bdev = new ErrorBdev(new MallocBdev({ name: `Malloc${i}`, blockSize, numBlocks }));
    else bdev = new MallocBdev({ name: `Malloc${i}`, blockSize, numBlocks });
    target.addBdev(bdev);
    sub.addNamespace({ bdev, nsid: i + 1 });
    bdevs.push(bdev);
  }
  await sub.addListener({ trtype: 'loopback', adrfam: 'intra-host', traddr, trsvcid: '' });
  sub.start();
  return {
    target,
    nqn,
    bdevs,
    trid: `trtype:loopback traddr:${traddr} subnqn:${nqn}`,
    close: () => target.close(),
  };
}

/** The randrw run with --verify the transport tests share: 60 % reads of 8 KiB, QD 16, two qpairs, 1000 I/O. */
export const RANDRW_VERIFY = {
  workload: 'randrw',
  readPercent: 60,
  ioSize: 8192,
  queueDepth: 16,
  qpairsPerNamespace: 2,
  verify: true,
  timeSeconds: 120,
  ioCount: 1000,
} as const;
