#!/usr/bin/env node
// Serve one NVMe controller over vfio-user for QEMU (`vfio-user-pci`) or any vfio-user client:
// a file-backed namespace, one subsystem, a listener at a socket directory. Development and
// interop harness tool (not published); needs `pnpm build` first (it runs the dist builds).
//
//   node packages/transport-vfio-user/scripts/serve-nvme.mjs --dir /tmp/nvmu-vfu --file /tmp/ns0.img --size 256M
//
// Prints one line `READY <socket path>` on stdout once the socket listens, then serves until
// SIGINT/SIGTERM (closes the target: flushes the file, removes the listener). QEMU then uses
//   -object memory-backend-memfd,id=mem,size=1G,share=on -machine q35,memory-backend=mem
//   -device '{"driver":"vfio-user-pci","socket":{"path":"<dir>/cntrl","type":"unix"}}'
import { parseArgs } from 'node:util';
import { FileBdev, Target } from '@nvmu/nvmf';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    file: { type: 'string' },
    size: { type: 'string', default: '256M' },
    'block-size': { type: 'string', default: '512' },
    nqn: { type: 'string', default: 'nqn.2026-12.io.nvmu:vfio-user' },
    'max-io-queues': { type: 'string', default: '127' },
    verbose: { type: 'boolean', default: false },
  },
});
if (values.dir === undefined || values.file === undefined) {
  process.stderr.write('usage: serve-nvme.mjs --dir <socket directory> --file <image> [--size 256M] [--block-size 512] [--nqn NQN] [--verbose]\n');
  process.exit(2);
}

function bytes(s) {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (m === null) throw new Error(`bad size ${s}`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}

const log = (level) => (msg, fields) => {
  if (level === 'debug' && !values.verbose) return;
  process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields === undefined ? '' : ' ' + JSON.stringify(fields)}\n`);
};
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const target = new Target({ logger });
await target.addTransport(new VfioUserTargetTransport({ maxIoQueues: Number(values['max-io-queues']) }));
const sub = target.createSubsystem({ nqn: values.nqn, allowAnyHost: true, model: 'nvmu vfio-user', serial: 'NVMUVFU0001' });
const bdev = await FileBdev.open({ name: 'ns0', path: values.file, size: bytes(values.size), blockSize: Number(values['block-size']) });
target.addBdev(bdev);
sub.addNamespace({ bdev });
await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: values.dir, trsvcid: '' });
sub.start();
process.stdout.write(`READY ${values.dir}/cntrl\n`);

let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await target.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
