/**
 * An nvmu NVMe/TCP target with a null bdev in its own process, for the overhead bench: so the
 * CPU time of the target and of nvmu-perf can be measured apart. Started with `fork()`;
 * argv: port. Sends {port} when listening; answers 'cpu' with its process.cpuUsage().
 */
import { NullBdev, Target } from '@nvmu/nvmf';
import { TcpTargetTransport } from '@nvmu/transport-tcp/target';

const port = process.argv[2] ?? '4420';
const nqn = 'nqn.2026-11.io.nvmu:perf-bench';
const target = new Target();
await target.addTransport(new TcpTargetTransport({ maxQueueDepth: 256 }));
const sub = target.createSubsystem({ nqn, allowAnyHost: true, serial: 'NVMUPERFBENCH', model: 'nvmu perf bench' });
const bdev = new NullBdev({ name: 'Null0', blockSize: 512, numBlocks: 1 << 21 });
target.addBdev(bdev);
sub.addNamespace({ bdev, nsid: 1 });
const addr = { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: port } as const;
await target.listen(addr);
await sub.addListener(addr);
sub.start();

process.on('message', (msg) => {
  if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (msg === 'stop') {
    void target.close().then(() => process.exit(0));
  }
});
process.send?.({ port: Number(port), nqn });
