/**
 * The vfio-user NVMe controller's own cost: 4 KiB reads from an SQ in shared "guest" RAM to CQEs
 * and an interrupt per batch, through the target core to a null or malloc bdev, in one process
 * (a Buffer stands in for the memfd-shared guest RAM; the guest side is this loop). Passes are
 * driven with pollOnce(), so the figures are the controller + core, not the event loop's timers.
 *
 *   pnpm --filter @nvmu/transport-vfio-user build && pnpm --filter @nvmu/transport-vfio-user bench
 */
import { MallocBdev, NullBdev, Target, type Bdev } from '@nvmu/nvmf';
import { NvmeController, VfioUserTargetTransport, BAR0, type ServedDevice } from '../dist/target.js';
import type { DeviceContext, DmaRange } from '../dist/server.js';

const RAM = 8 << 20;
const QSIZE = 256;

async function controllerOver(bdev: Bdev): Promise<{ dev: NvmeController; ram: Buffer; bar: Buffer; close: () => Promise<void> }> {
  const ram = Buffer.alloc(RAM);
  const bar = Buffer.alloc(BAR0.size);
  const ctx: DeviceContext = {
    dma: {
      view: (iova, length) => (iova + length <= RAM ? new Uint8Array(ram.buffer, ram.byteOffset + iova, length) : undefined),
      covers: (iova, length) => iova + length <= RAM,
      read: (iova, dst) => {
        dst.set(ram.subarray(iova, iova + dst.byteLength));
        return Promise.resolve();
      },
      write: (iova, src) => {
        ram.set(src, iova);
        return Promise.resolve();
      },
      ranges: (): DmaRange[] => [{ iova: 0, length: RAM, readable: true, writable: true, shared: true }],
    },
    barMemory: (i) => (i === 0 ? bar : undefined),
    triggerIrq: () => undefined,
    msixEnabled: true,
    attached: true,
  };
  let served: ServedDevice | undefined;
  const target = new Target();
  await target.addTransport(new VfioUserTargetTransport({ serverFactory: (_dir, d) => ((served = d), Promise.resolve({ close: () => Promise.resolve() })) }));
  const sub = target.createSubsystem({ nqn: 'nqn.2026-12.io.nvmu:bench', allowAnyHost: true });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: '/tmp/nvmu-bench', trsvcid: '' });
  sub.start();
  if (!(served instanceof NvmeController)) throw new Error('no controller');
  const dev = served;
  dev.bind(ctx);
  dev.hooks.attached?.();
  return { dev, ram, bar, close: () => target.close() };
}

/** Register write through BAR0's handler (as a REGION_WRITE would arrive). */
function reg(dev: NvmeController, off: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  dev.spec.bars[0]?.access(off, b, true);
}

/** Admin command at slot `i` of the admin SQ (at 0x10000, CQ at 0x11000); returns its status. */
function admin(dev: NvmeController, ram: Buffer, bar: Buffer, i: number, fill: (o: number) => void): number {
  const o = 0x10000 + i * 64;
  ram.fill(0, o, o + 64);
  fill(o);
  bar.writeUInt32LE(i + 1, 0x1000);
  while (dev.pollOnce());
  return ram.readUInt16LE(0x11000 + i * 16 + 14) >>> 1;
}

async function run(name: string, bdev: Bdev, qd: number, ios: number): Promise<void> {
  const { dev, ram, bar, close } = await controllerOver(bdev);
  reg(dev, 0x24, (31 << 16) | 31);
  reg(dev, 0x28, 0x10000);
  reg(dev, 0x30, 0x11000);
  reg(dev, 0x14, 1 | (6 << 16) | (4 << 20));
  const sqAddr = 0x20000;
  const cqAddr = 0x40000;
  const data = 0x80000;
  const s1 = admin(dev, ram, bar, 0, (o) => {
    ram[o] = 0x05;
    ram.writeUInt32LE(cqAddr, o + 24);
    ram.writeUInt32LE(((QSIZE - 1) << 16) | 1, o + 40);
    ram.writeUInt32LE((1 << 16) | 3, o + 44);
  });
  const s2 = admin(dev, ram, bar, 1, (o) => {
    ram[o] = 0x01;
    ram.writeUInt32LE(sqAddr, o + 24);
    ram.writeUInt32LE(((QSIZE - 1) << 16) | 1, o + 40);
    ram.writeUInt32LE((1 << 16) | 1, o + 44);
  });
  if (s1 !== 0 || s2 !== 0) throw new Error(`queue creation failed: ${s1} ${s2}`);
  for (let i = 0; i < QSIZE; i++) {
    const o = sqAddr + i * 64;
    ram[o] = 0x02;
    ram.writeUInt16LE(i, o + 2);
    ram.writeUInt32LE(1, o + 4);
    ram.writeUInt32LE(data + (i % 64) * 4096, o + 24);
    ram.writeUInt32LE(Math.floor(Math.random() * 1000) * 8, o + 40);
    ram.writeUInt32LE(7, o + 48);
  }
  let tail = 0;
  let head = 0;
  let phase = 1;
  let done = 0;
  const t0 = process.hrtime.bigint();
  while (done < ios) {
    for (let k = 0; k < qd; k++) tail = tail + 1 === QSIZE ? 0 : tail + 1;
    bar.writeUInt32LE(tail, 0x1000 + 8);
    while (dev.pollOnce());
    for (;;) {
      const dw3 = ram.readUInt32LE(cqAddr + head * 16 + 12);
      if (((dw3 >>> 16) & 1) !== phase) break;
      if (dw3 >>> 17 !== 0) throw new Error(`I/O failed: status ${dw3 >>> 17}`);
      done++;
      head = head + 1 === QSIZE ? 0 : head + 1;
      if (head === 0) phase ^= 1;
    }
    bar.writeUInt32LE(head, 0x1000 + 12);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  // Latency from Little's law: queue depth / throughput.
  console.log(`${name.padEnd(8)} QD ${String(qd).padStart(3)}: ${(done / s / 1e6).toFixed(2)} M IOPS, ${((s / done) * 1e6 * qd).toFixed(2)} µs latency`);
  await close();
}

for (const [name, make] of [
  ['null', () => new NullBdev({ name: 'n0', blockSize: 512, numBlocks: 1 << 20 })],
  ['malloc', () => new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 8192 })],
] as const) {
  await run(name, make(), 128, 200_000); // warm-up
  await run(name, make(), 128, 1_000_000);
  await run(name, make(), 1, 300_000);
}
