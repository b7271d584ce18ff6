import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FdWatcher, READABLE, closeFd, eventfdCreate, eventfdRead, mmap, recvmsg, sendmsg, unixConnect } from '@nvmu/native';
import { Command, IrqSetFlags, PciIrq, decodeMessage, encodeMessage, makeRequest, type MessageBody, type VfioUserMessage } from '@nvmu/vfio-user-codec';
import { VfioUserServer, type PciDeviceSpec } from '../../src/server.js';

// A device described as data: BAR0 has registers at [0, 0x1000) and a shared page at 0x1000
// (doorbells a client maps), plus 4 MSI-X vectors whose table and PBA live in BAR4.
const regs = new Uint32Array(1024);
const device: PciDeviceSpec = {
  vendorId: 0x1b36, deviceId: 0x0010, subsystemVendorId: 0x1af4, subsystemId: 0x1100, revisionId: 0,
  classCode: 0x010802,
  bars: [
    {
      index: 0, size: 0x4000, is64Bit: true, mmapAreas: [{ offset: 0x1000, size: 0x1000 }],
      access: (offset, data, isWrite) => {
        const view = new DataView(data.buffer, data.byteOffset, data.length);
        if (isWrite) regs[offset >> 2] = view.getUint32(0, true);
        else view.setUint32(0, regs[offset >> 2] ?? 0, true);
      },
    },
    { index: 4, size: 0x2000, access: () => undefined },
  ],
  msix: { vectors: 4, tableBar: 4, tableOffset: 0, pbaBar: 4, pbaOffset: 0x1000 },
  pcie: true, powerManagement: true,
};

const dir = mkdtempSync(join(tmpdir(), 'vfu-example-'));
const server = VfioUserServer.listen(dir, {
  device,
  hooks: { attached: () => { console.log('client attached'); }, detached: () => { console.log('client detached'); } },
});
console.log(`listening at ${server.socketPath?.slice(dir.length + 1)}`);

// The client side, as QEMU's vfio-user-pci does it (here with the codec and @nvmu/native).
const sock = unixConnect(server.socketPath ?? '');
const fdsIn = new Int32Array(8);
let nextId = 0;
function request(command: number, body: MessageBody, fds: number[] = []): Promise<{ msg: VfioUserMessage; fds: number[] }> {
  sendmsg(sock, [encodeMessage(makeRequest(nextId++, command, body))], fds);
  return new Promise((resolve) => {
    const watcher = new FdWatcher(sock, () => {
      const buf = Buffer.alloc(4096);
      const n = recvmsg(sock, buf, 0, buf.length, fdsIn);
      if (n <= 0) return;
      watcher.close();
      resolve({ msg: decodeMessage(buf, 0, n), fds: [...fdsIn].filter((fd) => fd >= 0) });
    });
    watcher.start(READABLE);
  });
}

const version = await request(Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: { max_msg_fds: 16, max_data_xfer_size: 1048576 } } });
console.log('server capabilities', JSON.stringify(version.msg.body.kind === 'version' ? version.msg.body.data : null));

// BAR0's region info carries the sparse-mmap areas and the fd to map them.
const info = await request(Command.DEVICE_GET_REGION_INFO, { kind: 'region-info-request', argsz: 64, flags: 0, index: 0, capOffset: 0, size: 0n, offset: 0n });
const [barFd = -1] = info.fds;
const doorbells = new Uint32Array(mmap(barFd, 0x1000, 0x1000, { writable: true }));
closeFd(barFd);
doorbells[1] = 7; // what the guest writes to a mapped doorbell, the device sees in barMemory(0)
const bar0 = server.context.barMemory(0);
console.log('device sees doorbell', bar0 === undefined ? -1 : new DataView(bar0.buffer).getUint32(0x1004, true));

// A register write by message reaches the device's access handler.
await request(Command.REGION_WRITE, { kind: 'region-data', offset: 0x14n, region: 0, data: new Uint8Array([1, 0, 0, 0]) });
console.log('register 0x14 =', regs[5]);

// MSI-X: the client hands over an eventfd per vector and enables MSI-X in config space
// (Message Control at 0x52); the device raises vector 0 and the eventfd counts it.
const efd = eventfdCreate();
await request(Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_EVENTFD, index: PciIrq.MSIX, start: 0, count: 1, data: null }, [efd]);
await request(Command.REGION_WRITE, { kind: 'region-data', offset: 0x52n, region: 7, data: new Uint8Array([0x03, 0x80]) });
server.context.triggerIrq(0);
console.log('interrupts on vector 0:', eventfdRead(efd));

closeFd(efd);
closeFd(sock);
await server.close();
rmSync(dir, { recursive: true });
