/**
 * Unit-test harness of the NVMe layer: an in-process stand-in for the vfio-user server's
 * DeviceContext (guest RAM as a plain Buffer, DMA_READ/DMA_WRITE simulated asynchronously, a
 * recorded triggerIrq) and a small guest driver that does what Linux's nvme-pci does through
 * BAR0 and its queues.
 */
import { MallocBdev, Target, silentLogger, type ListenAddress } from '@nvmu/nvmf';
import type { DeviceContext, DmaRange, DmaSpace } from '../../src/server/device.js';
import { VfioUserErrnoError } from '../../src/server/device.js';
import { BAR0, NvmeController, VfioUserTargetTransport, type ServedDevice, type VfioUserTargetTransportOptions } from '../../src/target.js';

export const NQN = 'nqn.2026-12.io.nvmu:vfu-test';

interface Mapping {
  iova: number;
  length: number;
  shared: boolean;
  writable: boolean;
  /** Where in `ram` the mapping starts (default: at `iova`); an alias of low RAM at a high IOVA sets it. */
  ramOffset?: number;
}

/** Guest RAM at IOVA 0 .. size, one mapping unless a test changes them. */
export class FakeDma implements DmaSpace {
  readonly ram: Buffer;
  mappings: Mapping[];
  dmaReads = 0;
  dmaWrites = 0;

  constructor(size: number, shared = true) {
    this.ram = Buffer.alloc(size);
    this.mappings = [{ iova: 0, length: size, shared, writable: true }];
  }

  private find(iova: number, length: number): Mapping | undefined {
    return this.mappings.find((m) => iova >= m.iova && iova + length <= m.iova + m.length);
  }

  view(iova: number, length: number): Uint8Array | undefined {
    const m = this.find(iova, length);
    if (m?.shared !== true) return undefined;
    return new Uint8Array(this.ram.buffer, this.ram.byteOffset + (m.ramOffset ?? m.iova) + (iova - m.iova), length);
  }

  covers(iova: number, length: number, write: boolean): boolean {
    const m = this.find(iova, length);
    return m !== undefined && (!write || m.writable);
  }

  async read(iova: number, dst: Uint8Array): Promise<void> {
    await Promise.resolve();
    if (!this.covers(iova, dst.byteLength, false)) throw new VfioUserErrnoError(14);
    this.dmaReads++;
    dst.set(this.ram.subarray(iova, iova + dst.byteLength));
  }

  async write(iova: number, src: Uint8Array): Promise<void> {
    await Promise.resolve();
    if (!this.covers(iova, src.byteLength, true)) throw new VfioUserErrnoError(14);
    this.dmaWrites++;
    this.ram.set(src, iova);
  }

  ranges(): readonly DmaRange[] {
    return this.mappings.map((m) => ({ iova: m.iova, length: m.length, readable: true, writable: m.writable, shared: m.shared }));
  }
}

export class FakeContext implements DeviceContext {
  readonly dma: FakeDma;
  readonly bar0 = Buffer.alloc(BAR0.size);
  readonly irqs: number[] = [];
  msixEnabled = true;
  attached = true;
  /** barMemory(0) returns undefined (a server without the mmap area). */
  noBarMemory = false;

  constructor(dma: FakeDma) {
    this.dma = dma;
  }

  barMemory(index: number): Uint8Array | undefined {
    return index === 0 && !this.noBarMemory ? this.bar0 : undefined;
  }

  triggerIrq(vector: number): void {
    this.irqs.push(vector);
  }
}

export interface Cqe {
  dw0: number;
  sqhd: number;
  sqid: number;
  cid: number;
  /** 15-bit status (SCT << 8 | SC, plus DNR/More). */
  status: number;
  phase: number;
}

interface Queue {
  qid: number;
  size: number;
  sqAddr: number;
  cqAddr: number;
  tail: number;
  head: number;
  phase: number;
}

/** Enough of nvme-pci to drive the controller: registers, queues, commands. */
export class Guest {
  readonly ctx: FakeContext;
  readonly dev: NvmeController;
  private nextPage: number;
  private cid = 1;
  readonly queues = new Map<number, Queue>();
  /** Ring doorbells with messages (REGION_WRITE) instead of the mmapped page. */
  doorbellsByMessage = false;

  constructor(ctx: FakeContext, dev: NvmeController) {
    this.ctx = ctx;
    this.dev = dev;
    this.nextPage = 0x10000;
  }

  /** A fresh, zeroed, page-aligned buffer in guest RAM. */
  alloc(bytes: number): number {
    const addr = this.nextPage;
    this.nextPage += Math.ceil(bytes / 4096) * 4096;
    if (this.nextPage > this.ctx.dma.ram.byteLength) throw new Error('guest RAM exhausted');
    this.ctx.dma.ram.fill(0, addr, addr + bytes);
    return addr;
  }

  private bar0(): (offset: number, data: Uint8Array, isWrite: boolean) => void {
    const bar = this.dev.spec.bars.find((b) => b.index === 0);
    if (bar === undefined) throw new Error('no BAR0');
    return bar.access;
  }

  read32(off: number): number {
    const b = Buffer.alloc(4);
    this.bar0()(off, b, false);
    return b.readUInt32LE(0);
  }

  read64(off: number): bigint {
    const b = Buffer.alloc(8);
    this.bar0()(off, b, false);
    return b.readBigUInt64LE(0);
  }

  write32(off: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    this.bar0()(off, b, true);
  }

  write64(off: number, v: number): void {
    // lo_hi_writeq, as Linux writes ASQ/ACQ.
    this.write32(off, v % 0x1_0000_0000);
    this.write32(off + 4, Math.floor(v / 0x1_0000_0000));
  }

  doorbell(qid: number, cq: boolean, value: number): void {
    const off = BAR0.doorbellsOffset + (2 * qid + (cq ? 1 : 0)) * 4;
    if (this.doorbellsByMessage) this.write32(off, value);
    else this.ctx.bar0.writeUInt32LE(value, off);
  }

  /** CC.EN = 1 with an admin queue of `depth` entries; resolves with CSTS. */
  enable(depth = 32): number {
    const sqAddr = this.alloc(depth * 64);
    const cqAddr = this.alloc(depth * 16);
    this.write32(0x24, ((depth - 1) << 16) | (depth - 1));
    this.write64(0x28, sqAddr);
    this.write64(0x30, cqAddr);
    this.queues.set(0, { qid: 0, size: depth, sqAddr, cqAddr, tail: 0, head: 0, phase: 1 });
    this.write32(0x14, 1 | (6 << 16) | (4 << 20));
    return this.read32(0x1c);
  }

  disable(): number {
    this.write32(0x14, 0);
    this.queues.clear();
    return this.read32(0x1c);
  }

  /** Put an SQE on queue `qid` and ring (unless ring is false). Returns its CID. */
  submit(qid: number, fill: (sqe: DataView) => void, ring = true): number {
    const q = this.queues.get(qid);
    if (q === undefined) throw new Error(`no queue ${qid}`);
    const cid = this.cid++ & 0xffff;
    const off = q.sqAddr + q.tail * 64;
    const ram = this.ctx.dma.ram;
    ram.fill(0, off, off + 64);
    const dv = new DataView(ram.buffer, ram.byteOffset + off, 64);
    fill(dv);
    dv.setUint16(2, cid, true);
    q.tail = (q.tail + 1) % q.size;
    if (ring) this.doorbell(qid, false, q.tail);
    return cid;
  }

  /** The CQE at the head of `qid`'s CQ if its phase says it is new. */
  peek(qid: number): Cqe | undefined {
    const q = this.queues.get(qid);
    if (q === undefined) throw new Error(`no queue ${qid}`);
    const ram = this.ctx.dma.ram;
    const off = q.cqAddr + q.head * 16;
    const dw3 = ram.readUInt32LE(off + 12);
    const phase = (dw3 >>> 16) & 1;
    if (phase !== q.phase) return undefined;
    const dw2 = ram.readUInt32LE(off + 8);
    return { dw0: ram.readUInt32LE(off), sqhd: dw2 & 0xffff, sqid: dw2 >>> 16, cid: dw3 & 0xffff, status: (dw3 >>> 17) & 0x7fff, phase };
  }

  /** Consume one CQE (advance the head; ring the CQ head doorbell unless told not to). */
  pop(qid: number, ring = true): Cqe | undefined {
    const c = this.peek(qid);
    const q = this.queues.get(qid);
    if (c === undefined || q === undefined) return undefined;
    q.head = (q.head + 1) % q.size;
    if (q.head === 0) q.phase ^= 1;
    if (ring) this.doorbell(qid, true, q.head);
    return c;
  }

  /** Wait (event-loop turns) for the CQE of `cid` on `qid`; other CQEs met on the way are returned too. */
  async wait(qid: number, cid: number, turns = 2000): Promise<Cqe> {
    for (let i = 0; i < turns; i++) {
      const c = this.pop(qid);
      if (c !== undefined) {
        if (c.cid === cid) return c;
        this.stray.push(c);
        continue;
      }
      await new Promise<void>((r) => setTimeout(r, i < 50 ? 0 : 2));
    }
    throw new Error(`no completion for cid ${cid} on queue ${qid}`);
  }

  /** CQEs popped while waiting for another CID. */
  readonly stray: Cqe[] = [];

  async cmd(qid: number, fill: (sqe: DataView) => void): Promise<Cqe> {
    return this.wait(qid, this.submit(qid, fill));
  }

  /** Identify (CNS `cns`) into a fresh page; returns the CQE and the data. */
  async identify(cns: number, nsid = 0): Promise<{ cqe: Cqe; data: Buffer }> {
    const buf = this.alloc(4096);
    const cqe = await this.cmd(0, (s) => {
      s.setUint8(0, 0x06);
      s.setUint32(4, nsid, true);
      setU64(s, 24, buf);
      s.setUint32(40, cns, true);
    });
    return { cqe, data: this.ctx.dma.ram.subarray(buf, buf + 4096) };
  }

  async setNumQueues(n: number): Promise<Cqe> {
    return this.cmd(0, (s) => {
      s.setUint8(0, 0x09);
      s.setUint32(40, 0x07, true);
      s.setUint32(44, ((n - 1) << 16) | (n - 1), true);
    });
  }

  /** Create I/O CQ + SQ `qid` of `size` entries on vector `iv`; returns both CQEs' statuses. */
  async createIoQueue(qid: number, size: number, iv = qid, ien = true): Promise<[number, number]> {
    const cqAddr = this.alloc(size * 16);
    const sqAddr = this.alloc(size * 64);
    const cq = await this.cmd(0, (s) => {
      s.setUint8(0, 0x05);
      setU64(s, 24, cqAddr);
      s.setUint32(40, ((size - 1) << 16) | qid, true);
      s.setUint32(44, (iv << 16) | (ien ? 2 : 0) | 1, true);
    });
    const sq = await this.cmd(0, (s) => {
      s.setUint8(0, 0x01);
      setU64(s, 24, sqAddr);
      s.setUint32(40, ((size - 1) << 16) | qid, true);
      s.setUint32(44, (qid << 16) | 1, true);
    });
    if (cq.status === 0 && sq.status === 0) this.queues.set(qid, { qid, size, sqAddr, cqAddr, tail: 0, head: 0, phase: 1 });
    return [cq.status, sq.status];
  }

  /** Doorbell Buffer Config (opcode 7Ch) with fresh shadow and EventIdx pages; returns the CQE and both pages' addresses. */
  async doorbellBufferConfig(): Promise<{ cqe: Cqe; shadow: number; eventIdx: number }> {
    const shadow = this.alloc(4096);
    const eventIdx = this.alloc(4096);
    const cqe = await this.cmd(0, (s) => {
      s.setUint8(0, 0x7c);
      setU64(s, 24, shadow);
      setU64(s, 32, eventIdx);
    });
    return { cqe, shadow, eventIdx };
  }

  /** Read or write `nlb` 512-byte blocks at `slba` with the given PRPs. */
  rw(qid: number, write: boolean, slba: number, nlb: number, prp1: number, prp2 = 0, ring = true): number {
    return this.submit(
      qid,
      (s) => {
        s.setUint8(0, write ? 0x01 : 0x02);
        s.setUint32(4, 1, true);
        setU64(s, 24, prp1);
        setU64(s, 32, prp2);
        s.setUint32(40, slba, true);
        s.setUint32(48, nlb - 1, true);
      },
      ring,
    );
  }
}

export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 0x1_0000_0000, true);
  dv.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
}

export interface Setup {
  target: Target;
  transport: VfioUserTargetTransport;
  ctx: FakeContext;
  dma: FakeDma;
  dev: NvmeController;
  guest: Guest;
  bdev: MallocBdev;
  addr: ListenAddress;
  close(): Promise<void>;
}

/** A target with one malloc namespace (512-byte blocks) and a vfio-user listener served by the fake context. */
export async function setup(opts: { shared?: boolean; ram?: number; transport?: VfioUserTargetTransportOptions } = {}): Promise<Setup> {
  const target = new Target({ logger: silentLogger });
  const dma = new FakeDma(opts.ram ?? 16 * 1024 * 1024, opts.shared ?? true);
  const ctx = new FakeContext(dma);
  let served: ServedDevice | undefined;
  const transport = new VfioUserTargetTransport({
    ...opts.transport,
    serverFactory: (_path, device) => {
      served = device;
      return Promise.resolve({ close: () => Promise.resolve() });
    },
  });
  await target.addTransport(transport);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 8192 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const addr: ListenAddress = { trtype: 'vfio-user', adrfam: 'intra-host', traddr: '/tmp/nvmu-vfu-test', trsvcid: '' };
  await sub.addListener(addr);
  sub.start();
  if (served === undefined) throw new Error('listen did not start a server');
  const dev = served;
  if (!(dev instanceof NvmeController)) throw new Error('the served device is not the NVMe controller');
  dev.bind(ctx);
  dev.hooks.attached?.();
  const guest = new Guest(ctx, dev);
  return {
    target,
    transport,
    ctx,
    dma,
    dev,
    guest,
    bdev,
    addr,
    close: async () => {
      await target.close();
    },
  };
}
