#!/usr/bin/env node
// Serve one NVMe controller over vfio-user for QEMU (`vfio-user-pci`) or any vfio-user client:
// a file-backed namespace (nsid 1), one subsystem, a listener at a socket directory.
// Development and interop harness tool; `pnpm build` copies it to dist/bin/serve-file.js
// (tools/interop's vfio-user target test runs that path).
//
//   node dist/bin/serve-file.js --socket-dir /tmp/nvmu-vfu --file /tmp/ns0.img --size-mib 256
//
// --interrupt-mode: doorbells trapped (no mmap), the target sleeps on messages when idle.
// The file is created at the given size when missing and kept as it is otherwise. Prints one
// line `READY <socket path>` on stdout once the socket listens, then serves until SIGINT or
// SIGTERM, which close the target (the file is flushed) and exit 0. QEMU then uses
//   -object memory-backend-memfd,id=mem,size=1G,share=on -machine q35,memory-backend=mem
//   -device '{"driver":"vfio-user-pci","socket":{"path":"<dir>/cntrl","type":"unix"}}'
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FileBdev, Target } from '@nvmu/nvmf';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';

const { values } = parseArgs({
  options: {
    'socket-dir': { type: 'string' },
    dir: { type: 'string' },
    file: { type: 'string' },
    'size-mib': { type: 'string' },
    size: { type: 'string' },
    'block-size': { type: 'string', default: '512' },
    serial: { type: 'string', default: 'NVMUVFU0001' },
    nqn: { type: 'string', default: 'nqn.2026-12.io.nvmu:vfio-user' },
    'max-io-queues': { type: 'string', default: '127' },
    'interrupt-mode': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const dir = values['socket-dir'] ?? values.dir;
if (dir === undefined || values.file === undefined) {
  process.stderr.write(
    'usage: serve-file.js --socket-dir <dir> --file <image> [--size-mib 256 | --size 256M] [--block-size 512] [--serial SN] [--nqn NQN] [--interrupt-mode] [--verbose]\n',
  );
  process.exit(2);
}

function bytes(s) {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (m === null) throw new Error(`bad size ${s}`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}
const size = values['size-mib'] !== undefined ? Number(values['size-mib']) * 1024 * 1024 : bytes(values.size ?? '256M');

const log = (level) => (msg, fields) => {
  if (level === 'debug' && !values.verbose) return;
  process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields === undefined ? '' : ' ' + JSON.stringify(fields)}\n`);
};
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const target = new Target({ logger });
await target.addTransport(new VfioUserTargetTransport({ maxIoQueues: Number(values['max-io-queues']), interruptMode: values['interrupt-mode'] }));
const sub = target.createSubsystem({ nqn: values.nqn, allowAnyHost: true, model: 'nvmu vfio-user', serial: values.serial });
const bdev = await FileBdev.open({
  name: 'ns0',
  path: values.file,
  blockSize: Number(values['block-size']),
  ...(existsSync(values.file) ? {} : { size }),
});
target.addBdev(bdev);
sub.addNamespace({ bdev });
await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: dir, trsvcid: '' });
sub.start();
process.stdout.write(`READY ${dir}/cntrl\n`);

let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await target.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
