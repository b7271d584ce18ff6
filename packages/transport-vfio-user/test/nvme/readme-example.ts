import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MallocBdev, Target } from '@nvmu/nvmf';
import { VfioUserTargetTransport } from '../../src/target.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmu-vfu-'));
const target = new Target();
const transport = new VfioUserTargetTransport({ maxIoQueues: 4 });
await target.addTransport(transport);
const sub = target.createSubsystem({ nqn: 'nqn.2026-12.io.nvmu:vm0', allowAnyHost: true });
const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 2048 });
target.addBdev(bdev);
sub.addNamespace({ bdev });
// The listener is a socket directory; QEMU connects to <dir>/cntrl.
await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: join(dir, 'vm0'), trsvcid: '' });
sub.start();
console.log('identify:', JSON.stringify(transport.identifyFields()));
console.log('socket:', 'vm0/cntrl');
await target.close();
rmSync(dir, { recursive: true });
