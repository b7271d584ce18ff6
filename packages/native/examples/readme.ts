import {
  closeFd,
  eventfdCreate,
  eventfdRead,
  eventfdWrite,
  FdWatcher,
  ftruncate,
  memfdCreate,
  mmap,
  munmap,
  READABLE,
  recvmsg,
  sendmsg,
  socketpair,
} from '../src/index.js';

// "Guest memory": a memfd of 64 KiB, mapped and written by the side that owns it.
const memfd = memfdCreate('guest-ram');
ftruncate(memfd, 64 * 1024);
const guest = mmap(memfd, 0, 64 * 1024);
new TextEncoder().encodeInto('hello from the guest', new Uint8Array(guest, 0x1000));

// Pass the memfd and an interrupt eventfd over a UNIX socket, as vfio-user's DMA_MAP and
// SET_IRQS do. (unixListen / unixConnect / accept give such a socket between processes.)
const [client, server] = socketpair();
const irq = eventfdCreate();
sendmsg(client, [new Uint8Array([1, 2, 3, 4])], [memfd, irq]);

// The other side receives the descriptors with the bytes and maps the memory itself.
const buf = new Uint8Array(64);
const fds = new Int32Array(8);
const n = recvmsg(server, buf, 0, buf.length, fds);
console.log('received', n, 'bytes and', fds.filter((fd) => fd >= 0).length, 'descriptors');
const [guestFd = -1, irqFd = -1] = fds;
const view = mmap(guestFd, 0, 64 * 1024);
console.log(new TextDecoder().decode(new Uint8Array(view, 0x1000, 20)));

// Writes through either mapping are seen through the other: no copies.
new DataView(view).setUint32(0, 0xcafe, true);
console.log(new Uint32Array(guest)[0]?.toString(16));

// Wait for the interrupt without a thread: a uv_poll handle on Node's own loop.
await new Promise<void>((resolve) => {
  const watcher = new FdWatcher(irq, (events) => {
    console.log('interrupt, events', events, 'count', eventfdRead(irq));
    watcher.close();
    resolve();
  });
  watcher.start(READABLE);
  eventfdWrite(irqFd); // the other side raises it through its copy of the eventfd
});

// Release now rather than at garbage collection; the buffer is detached.
munmap(view);
munmap(guest);
console.log('after munmap', view.byteLength);
for (const fd of [memfd, irq, guestFd, irqFd, client, server]) closeFd(fd);
