/**
 * Test fixture: an in-process @nvmu/nvmf target with one subsystem (malloc namespaces) reachable
 * over the loopback transport, discovery included; the loopback host transport registered.
 */
import { Readable } from 'node:stream';
import '@nvmu/transport-loopback/host';
import { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { MallocBdev, Target } from '@nvmu/nvmf';

export interface TestTarget {
  readonly target: Target;
  /** Transport ID of the NVM subsystem. */
  readonly trid: string;
  /** Transport ID of the discovery subsystem at the same address. */
  readonly discoveryTrid: string;
  readonly traddr: string;
  readonly nqn: string;
  close(): Promise<void>;
}

let counter = 0;

export async function startTarget(opts: { blockSize?: 512 | 4096; numBlocks?: number; namespaces?: number } = {}): Promise<TestTarget> {
  const n = ++counter;
  const traddr = `cli-test-${process.pid}-${n}`;
  const nqn = `nqn.2026-11.io.nvmu:cli-test-${n}`;
  const target = new Target();
  await target.addTransport(new LoopbackTargetTransport());
  const sub = target.createSubsystem({ nqn, allowAnyHost: true, serial: 'NVMUCLI0001', model: 'nvmu cli test' });
  for (let i = 0; i < (opts.namespaces ?? 1); i++) {
    const bdev = new MallocBdev({ name: `Malloc${i}`, blockSize: opts.blockSize ?? 512, numBlocks: opts.numBlocks ?? 2048 });
    target.addBdev(bdev);
    sub.addNamespace({ bdev, nsid: i + 1 });
  }
  const addr = { trtype: 'loopback', adrfam: 'intra-host', traddr, trsvcid: '' } as const;
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();
  return {
    target,
    traddr,
    nqn,
    trid: `trtype:loopback traddr:${traddr} subnqn:${nqn}`,
    discoveryTrid: `trtype:loopback traddr:${traddr}`,
    close: () => target.close(),
  };
}

/** Streams that collect what a command writes. */
export function streams(stdinData?: Uint8Array) {
  const out: (string | Uint8Array)[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (s: string | Uint8Array) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      stdin: Readable.from(stdinData === undefined ? [] : [stdinData]),
    },
    out: () => out.map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('latin1'))).join(''),
    outBytes: () => Buffer.concat(out.map((x) => (typeof x === 'string' ? Buffer.from(x) : Buffer.from(x)))),
    err: () => err.join(''),
  };
}
