#!/usr/bin/env node
/**
 * The nvmu target of the bench, in its own process (so the bench can pin it to a CPU and read
 * its CPU time and memory apart from nvmu-perf's): @nvmu/nvmf's Target with the NVMe/TCP
 * transport and one 1 GiB null-bdev namespace, listening on 127.0.0.1.
 * argv: port [nqn]. Prints {"port","pid","nqn"} when listening. Each line "stats" on stdin is
 * answered with {"cpuUs","ios","mem"} (process.cpuUsage(), commands the target has taken in,
 * process.memoryUsage()); "stats gc" first runs a full GC when started with --expose-gc (so
 * the retained heap can be compared at the start and end of the soak). Exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { NullBdev, Target } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';
import { BENCH_NQN, type ChildStats } from './protocol.js';

const port = process.argv[2] ?? '0';
const nqn = process.argv[3] ?? BENCH_NQN;
const target = new Target();
await target.addTransport(new TcpTargetTransport({ maxQueueDepth: 256 }));
const sub = target.createSubsystem({ nqn, allowAnyHost: true, serial: 'NVMUBENCH', model: 'nvmu bench' });
const bdev = new NullBdev({ name: 'Null0', blockSize: 512, numBlocks: 1 << 21 });
target.addBdev(bdev);
sub.addNamespace({ bdev, nsid: 1 });
const addr = { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: port } as const;
await target.listen(addr);
await sub.addListener(addr);
sub.start();

/** Commands taken in by every poll group (I/O plus a handful of admin commands per connect). */
function commands(): number {
  let n = 0;
  for (const g of target.getStats().pollGroups) n += g.submitted;
  return n;
}

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd !== 'stats' && cmd !== 'stats gc') return;
  if (cmd === 'stats gc') gc?.();
  const u = process.cpuUsage();
  const stats: ChildStats = { cpuUs: u.user + u.system, ios: commands(), mem: process.memoryUsage() };
  process.stdout.write(`${JSON.stringify(stats)}\n`);
});
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // process.exit() (not a bare return) so that --cpu-prof writes its profile.
  void target.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.on('SIGTERM', stop);
process.stdout.write(`${JSON.stringify({ port: Number(port), pid: process.pid, nqn })}\n`);
