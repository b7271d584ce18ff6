/**
 * The NVMe PCIe controller over a fake vfio-user DeviceContext: register bring-up, the admin
 * queue, I/O queues, PRPs, doorbells, interrupts, resets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setU64, setup, type Setup } from './harness.js';

let env: Setup | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function ready(opts: Parameters<typeof setup>[0] = {}): Promise<Setup> {
  env = await setup(opts);
  const csts = env.guest.enable();
  expect(csts & 1).toBe(1);
  return env;
}

/** Fill guest RAM at `addr` with a pattern derived from `seed`. */
function pattern(ram: Buffer, addr: number, len: number, seed: number): void {
  for (let i = 0; i < len; i++) ram[addr + i] = (i * 7 + seed) & 0xff;
}

function hasPattern(ram: Buffer, addr: number, len: number, seed: number): boolean {
  for (let i = 0; i < len; i++) if (ram[addr + i] !== ((i * 7 + seed) & 0xff)) return false;
  return true;
}

describe('registers and CC.EN', () => {
  it('reads CAP/VS before enable, maps the admin queue at CC.EN 0→1 and sets CSTS.RDY', async () => {
    env = await setup();
    const g = env.guest;
    const cap = g.read64(0x00);
    expect(Number(cap & 0xffffn) + 1).toBe(256); // MQES: maxQueueDepth 256
    expect(Number((cap >> 16n) & 1n)).toBe(1); // CQR
    expect(Number((cap >> 32n) & 0xfn)).toBe(0); // DSTRD 0
    expect(Number((cap >> 37n) & 1n)).toBe(1); // CSS: NVM
    expect(g.read32(0x08)).toBe(0x00010400); // VS 1.4
    expect(g.read32(0x1c) & 1).toBe(0);
    const csts = g.enable();
    expect(csts & 3).toBe(1); // RDY, no CFS
    expect(g.read32(0x24)).toBe((31 << 16) | 31);
    expect(env.dev.controllerId).toBeGreaterThanOrEqual(0);
  });

  it('answers byte and word reads from the containing dword', async () => {
    env = await setup();
    const b = Buffer.alloc(2);
    const bar0 = env.dev.spec.bars.find((x) => x.index === 0);
    bar0?.access(0x0a, b, false);
    expect(b.readUInt16LE(0)).toBe(0x0001); // VS.MJR
    const one = Buffer.alloc(1);
    bar0?.access(0x09, one, false);
    expect(one[0]).toBe(0x04); // VS.MNR
  });

  it('reads 0 from reserved registers and ignores writes there', async () => {
    env = await setup();
    env.guest.write32(0x100, 0xdeadbeef);
    expect(env.guest.read32(0x100)).toBe(0);
    expect(env.guest.read32(0xe00)).toBe(0);
  });

  it('CC.EN with the admin queue outside guest memory sets CSTS.CFS', async () => {
    env = await setup({ ram: 1024 * 1024 });
    const g = env.guest;
    g.write32(0x24, (31 << 16) | 31);
    g.write64(0x28, 0x4000_0000);
    g.write64(0x30, 0x4000_1000);
    g.write32(0x14, 1 | (6 << 16) | (4 << 20));
    expect(g.read32(0x1c) & 2).toBe(2);
    // A reset clears it.
    expect(g.disable() & 3).toBe(0);
  });
});

describe('admin queue', () => {
  it('answers Identify Controller with SGLS 0 (PRP only) and OACS bit 8 (Doorbell Buffer Config)', async () => {
    const { guest, ctx } = await ready();
    const { cqe, data } = await guest.identify(1);
    expect(cqe.status).toBe(0);
    expect(cqe.sqid).toBe(0);
    expect(cqe.sqhd).toBe(1);
    expect(data.readUInt32LE(536)).toBe(0); // SGLS
    expect(data.readUInt16LE(256) & 0x100).toBe(0x100); // OACS DBBUF
    // VID / SSVID are the PCI function's ids (config space offsets 0 and 2Ch), not zeros.
    expect(data.readUInt16LE(0)).toBe(0x4e58); // Nutanix, as SPDK's vfio-user target
    expect(data.readUInt16LE(2)).toBe(0x4e58);
    expect(data.readUInt16LE(78)).toBe(env?.dev.controllerId); // CNTLID
    expect(ctx.irqs).toContain(0);
  });

  it('rejects fabrics commands from the guest (Invalid Opcode)', async () => {
    const { guest } = await ready();
    const cqe = await guest.cmd(0, (s) => {
      s.setUint8(0, 0x7f);
      s.setUint8(4, 0x00); // Property Set
      s.setUint32(44, 0x14, true);
    });
    expect(cqe.status).toBe(0x0001);
    expect(guest.read32(0x1c) & 1).toBe(1);
  });
});

describe('I/O queues', () => {
  it('creates queues with every check: qid, size, PC, CQ, vector, deletion order', async () => {
    const { guest } = await ready();
    expect((await guest.setNumQueues(4)).status).toBe(0);
    const cq = (fill: (s: DataView) => void): Promise<number> => guest.cmd(0, fill).then((c) => c.status);
    const addr = guest.alloc(4096 * 4);
    const createCq = (qid: number, qsize: number, cdw11: number) => (s: DataView) => {
      s.setUint8(0, 0x05);
      setU64(s, 24, addr);
      s.setUint32(40, ((qsize - 1) << 16) | qid, true);
      s.setUint32(44, cdw11, true);
    };
    const createSq = (qid: number, qsize: number, cqid: number, pc = 1) => (s: DataView) => {
      s.setUint8(0, 0x01);
      setU64(s, 24, addr + 8192);
      s.setUint32(40, ((qsize - 1) << 16) | qid, true);
      s.setUint32(44, (cqid << 16) | pc, true);
    };
    expect(await cq(createCq(0, 16, 3))).toBe(0x101); // qid 0: Invalid Queue Identifier
    expect(await cq(createCq(5, 16, 3))).toBe(0x101); // above Number of Queues granted
    expect(await cq(createCq(1, 1000, 3))).toBe(0x102); // above CAP.MQES
    expect(await cq(createCq(1, 1, 3))).toBe(0x102);
    expect(await cq(createCq(1, 16, 2))).toBe(0x002); // PC = 0
    expect(await cq(createCq(1, 16, (4000 << 16) | 3))).toBe(0x108); // vector out of range
    expect(await cq(createSq(1, 16, 1))).toBe(0x100); // CQ 1 does not exist yet
    expect(await cq(createCq(1, 16, (1 << 16) | 3))).toBe(0);
    expect(await cq(createCq(1, 16, (1 << 16) | 3))).toBe(0x101); // in use
    expect(await cq(createSq(1, 16, 1, 0))).toBe(0x002);
    expect(await cq(createSq(1, 16, 1))).toBe(0);
    expect(await cq(createSq(1, 16, 1))).toBe(0x101);
    const del = (op: number, qid: number) => (s: DataView) => {
      s.setUint8(0, op);
      s.setUint32(40, qid, true);
    };
    expect(await cq(del(0x04, 1))).toBe(0x10c); // CQ in use by SQ 1: Invalid Queue Deletion
    expect(await cq(del(0x00, 1))).toBe(0);
    expect(await cq(del(0x00, 1))).toBe(0x101);
    expect(await cq(del(0x04, 1))).toBe(0);
    expect(await cq(del(0x04, 1))).toBe(0x101);
  });

  it('writes and reads back with PRP1 only, PRP1+PRP2, and a multi-page PRP list', async () => {
    const { guest, dma } = await ready();
    await guest.setNumQueues(2);
    expect(await guest.createIoQueue(1, 64)).toEqual([0, 0]);
    const ram = dma.ram;
    // PRP1 only: 4 KiB, page aligned.
    const a = guest.alloc(4096);
    pattern(ram, a, 4096, 1);
    expect((await guest.wait(1, guest.rw(1, true, 0, 8, a))).status).toBe(0);
    // PRP1 at an offset + PRP2: 4 KiB crossing a page boundary.
    const b = guest.alloc(8192);
    pattern(ram, b + 512, 4096, 2);
    expect((await guest.wait(1, guest.rw(1, true, 8, 8, b + 512, b + 4096))).status).toBe(0);
    // PRP list: 64 KiB, PRP1 page + 15 list entries.
    const data = guest.alloc(65536);
    pattern(ram, data, 65536, 3);
    const list = guest.alloc(4096);
    for (let i = 1; i < 16; i++) ram.writeBigUInt64LE(BigInt(data + i * 4096), list + (i - 1) * 8);
    expect((await guest.wait(1, guest.rw(1, true, 64, 128, data, list))).status).toBe(0);

    const r1 = guest.alloc(4096);
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, r1))).status).toBe(0);
    expect(hasPattern(ram, r1, 4096, 1)).toBe(true);
    const r2 = guest.alloc(8192);
    expect((await guest.wait(1, guest.rw(1, false, 8, 8, r2 + 1024, r2 + 4096))).status).toBe(0);
    expect(hasPattern(ram, r2 + 1024, 4096, 2)).toBe(true);
    const r3 = guest.alloc(65536);
    const list3 = guest.alloc(4096);
    for (let i = 1; i < 16; i++) ram.writeBigUInt64LE(BigInt(r3 + i * 4096), list3 + (i - 1) * 8);
    expect((await guest.wait(1, guest.rw(1, false, 64, 128, r3, list3))).status).toBe(0);
    expect(hasPattern(ram, r3, 65536, 3)).toBe(true);
  });

  it('moves an MDTS-sized transfer that starts inside a page (33 pages, more than a Request has iovs)', async () => {
    const { guest, dma, dev } = await ready();
    await guest.setNumQueues(1);
    await guest.createIoQueue(1, 16);
    const ram = dma.ram;
    const len = 128 * 1024;
    const scatter = (base: number): { prp1: number; list: number } => {
      // Every other page, so nothing coalesces: 33 separate segments.
      const list = guest.alloc(4096);
      for (let i = 1; i <= 32; i++) ram.writeBigUInt64LE(BigInt(base + i * 8192), list + (i - 1) * 8);
      return { prp1: base + 512, list };
    };
    const src = guest.alloc(34 * 8192);
    const w = scatter(src);
    const flat = Buffer.alloc(len);
    for (let i = 0; i < len; i++) flat[i] = (i * 11 + 5) & 0xff;
    // Lay `flat` out over the segments: 3584 bytes in the first page, then 4096 per listed page.
    flat.copy(ram, w.prp1, 0, 3584);
    for (let i = 1, off = 3584; off < len; i++, off += 4096) flat.copy(ram, src + i * 8192, off, Math.min(len, off + 4096));
    expect((await guest.wait(1, guest.rw(1, true, 200, 256, w.prp1, w.list))).status).toBe(0);
    const dst = guest.alloc(34 * 8192);
    const r = scatter(dst);
    expect((await guest.wait(1, guest.rw(1, false, 200, 256, r.prp1, r.list))).status).toBe(0);
    const back = Buffer.alloc(len);
    ram.copy(back, 0, r.prp1, r.prp1 + 3584);
    for (let i = 1, off = 3584; off < len; i++, off += 4096) ram.copy(back, off, dst + i * 8192, dst + i * 8192 + Math.min(4096, len - off));
    expect(Buffer.compare(back, flat)).toBe(0);
    expect(dev.stats.slowCommands).toBe(2);
  });

  it('follows a PRP list that starts near the end of its page and chains to a second list page', async () => {
    const { guest, dma } = await ready();
    await guest.setNumQueues(1);
    await guest.createIoQueue(1, 16);
    const ram = dma.ram;
    const data = guest.alloc(8 * 4096);
    pattern(ram, data, 8 * 4096, 9);
    const lists = guest.alloc(8192);
    // First list holds 3 slots (starts 24 bytes before its page end): 2 entries + chain pointer.
    const first = lists + 4096 - 24;
    ram.writeBigUInt64LE(BigInt(data + 4096), first);
    ram.writeBigUInt64LE(BigInt(data + 8192), first + 8);
    ram.writeBigUInt64LE(BigInt(lists + 4096), first + 16);
    for (let i = 3; i < 8; i++) ram.writeBigUInt64LE(BigInt(data + i * 4096), lists + 4096 + (i - 3) * 8);
    expect((await guest.wait(1, guest.rw(1, true, 100, 64, data, first))).status).toBe(0);
    const out = guest.alloc(8 * 4096);
    const outList = guest.alloc(4096);
    for (let i = 1; i < 8; i++) ram.writeBigUInt64LE(BigInt(out + i * 4096), outList + (i - 1) * 8);
    expect((await guest.wait(1, guest.rw(1, false, 100, 64, out, outList))).status).toBe(0);
    expect(hasPattern(ram, out, 8 * 4096, 9)).toBe(true);
  });

  it('completes a PRP outside guest memory with Data Transfer Error and a misaligned one with Invalid PRP Offset', async () => {
    const { guest } = await ready({ ram: 4 * 1024 * 1024 });
    await guest.setNumQueues(1);
    await guest.createIoQueue(1, 16);
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, 0x7000_0000))).status).toBe(0x0004);
    const a = guest.alloc(8192);
    expect((await guest.wait(1, guest.rw(1, false, 0, 16, a, 0x7000_0000))).status).toBe(0x0004);
    expect((await guest.wait(1, guest.rw(1, false, 0, 16, a, a + 4096 + 8))).status).toBe(0x0013);
    expect((await guest.wait(1, guest.rw(1, false, 0, 1, a + 2))).status).toBe(0x0013);
    // Still serving.
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, a))).status).toBe(0);
  });
});
