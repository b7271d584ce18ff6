/**
 * Doorbells, CQ flow control, interrupts, shadow doorbells, resets and shutdown, the slow
 * (not shared) memory path, and DMA unmaps, over the fake DeviceContext.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setU64, setup, type Guest, type Setup } from './harness.js';

let env: Setup | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function withIoQueue(opts: Parameters<typeof setup>[0] = {}, size = 16): Promise<Setup> {
  env = await setup(opts);
  expect(env.guest.enable() & 1).toBe(1);
  expect((await env.guest.setNumQueues(4)).status).toBe(0);
  expect(await env.guest.createIoQueue(1, size)).toEqual([0, 0]);
  return env;
}

const turns = (n: number): Promise<void> =>
  new Promise((resolve) => {
    let i = 0;
    const step = (): void => {
      if (++i >= n) resolve();
      else setTimeout(step, 1);
    };
    step();
  });

/** Submit an Asynchronous Event Request; returns its CID. */
function aer(guest: Guest): number {
  return guest.submit(0, (s) => {
    s.setUint8(0, 0x0c);
  });
}

describe('doorbells', () => {
  it('raises Invalid Doorbell Write Value for an SQ tail past the queue, and keeps serving', async () => {
    const { guest, dev } = await withIoQueue();
    const cid = aer(guest);
    await turns(5);
    guest.doorbell(1, false, 999);
    const ev = await guest.wait(0, cid);
    expect(ev.status).toBe(0);
    expect(ev.dw0 & 7).toBe(0); // type: error status
    expect((ev.dw0 >>> 8) & 0xff).toBe(0x01); // Invalid Doorbell Write Value
    expect((ev.dw0 >>> 16) & 0xff).toBe(0x01); // log page 01h
    expect(dev.stats.invalidDoorbells).toBe(1);
    // The queue still works once the host writes a sane value.
    const buf = guest.alloc(4096);
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, buf))).status).toBe(0);
  });

  it('holds the event until an AER arrives, and for a CQ head past the queue too', async () => {
    const { guest } = await withIoQueue();
    guest.doorbell(1, true, 500);
    await turns(5);
    const ev = await guest.wait(0, aer(guest));
    expect((ev.dw0 >>> 8) & 0xff).toBe(0x01);
  });

  it('works with doorbells written by message (REGION_WRITE) and reports a doorbell of a missing queue', async () => {
    const { guest, dev } = await withIoQueue();
    guest.doorbellsByMessage = true;
    const buf = guest.alloc(4096);
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, buf))).status).toBe(0);
    expect(dev.stats.doorbellMessages).toBeGreaterThan(0);
    const cid = aer(guest);
    await turns(5);
    guest.write32(0x1000 + 2 * 9 * 4, 1); // SQ 9 does not exist
    const ev = await guest.wait(0, cid);
    expect((ev.dw0 >>> 8) & 0xff).toBe(0x00); // Invalid Doorbell Register
  });
});

describe('completion queue flow control', () => {
  it('never overwrites unconsumed CQEs and continues once the head moves', async () => {
    const { guest, dma } = await withIoQueue({}, 4);
    const bufs = [0, 1, 2, 3, 4, 5].map(() => guest.alloc(4096));
    // Three commands fill the 4-entry CQ (one slot stays empty); three more wait behind them.
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue');
    const cids: number[] = [];
    for (let i = 0; i < 3; i++) cids.push(guest.rw(1, false, i * 8, 8, bufs[i] ?? 0));
    await turns(10);
    const cqe0 = dma.ram.readUInt32LE(q.cqAddr + 12);
    expect(cqe0 & 0xffff).toBe(cids[0]);
    for (let i = 3; i < 6; i++) {
      // The SQ has 4 entries: submit the next one only as the host frees SQ slots (SQHD).
      cids.push(guest.rw(1, false, i * 8, 8, bufs[i] ?? 0, 0, false));
      if (i === 3) guest.doorbell(1, false, q.tail);
    }
    await turns(10);
    // Nothing consumed yet: the three posted CQEs are intact, nothing else was written.
    const seen = [0, 1, 2].map((i) => dma.ram.readUInt32LE(q.cqAddr + i * 16 + 12) & 0xffff);
    expect(seen).toEqual(cids.slice(0, 3));
    expect((dma.ram.readUInt32LE(q.cqAddr + 3 * 16 + 12) >>> 16) & 1).toBe(0); // slot 3 untouched
    // Consume all: the fourth command completes.
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(guest.pop(1)?.cid ?? -1);
    expect(got).toEqual(cids.slice(0, 3));
    const c3 = await guest.wait(1, cids[3] ?? -1);
    expect(c3.status).toBe(0);
  });

  it('reports SQHD as the SQ head and wraps the phase tag', async () => {
    const { guest } = await withIoQueue({}, 4);
    const buf = guest.alloc(4096);
    for (let i = 0; i < 10; i++) {
      const c = await guest.wait(1, guest.rw(1, false, 0, 8, buf));
      expect(c.status).toBe(0);
      expect(c.sqhd).toBe((i + 1) % 4);
      expect(c.sqid).toBe(1);
    }
  });
});

describe('interrupts', () => {
  it('fires one interrupt per vector for a batch, none for a CQ without IEN, INTx when MSI-X is off', async () => {
    env = await setup();
    const { guest, ctx } = env;
    guest.enable();
    await guest.setNumQueues(4);
    expect(await guest.createIoQueue(1, 32, 1)).toEqual([0, 0]);
    expect(await guest.createIoQueue(2, 32, 2, false)).toEqual([0, 0]);
    const buf = guest.alloc(4096);
    ctx.irqs.length = 0;
    const cids: number[] = [];
    for (let i = 0; i < 8; i++) cids.push(guest.rw(1, false, i, 1, buf, 0, false));
    guest.doorbell(1, false, 8);
    await turns(10);
    expect(ctx.irqs.filter((v) => v === 1)).toHaveLength(1);
    for (const cid of cids) expect((await guest.wait(1, cid)).status).toBe(0);
    ctx.irqs.length = 0;
    expect((await guest.wait(2, guest.rw(2, false, 0, 1, buf))).status).toBe(0);
    expect(ctx.irqs).toEqual([]);
    ctx.msixEnabled = false;
    ctx.irqs.length = 0;
    guest.write32(0x0c, 1); // INTMS: mask INTx
    const cid = guest.rw(1, false, 0, 1, buf);
    await turns(10);
    expect(ctx.irqs).toEqual([]);
    guest.write32(0x10, 1); // INTMC: unmask, the pending interrupt fires
    await turns(10);
    expect(ctx.irqs).toEqual([0]);
    expect((await guest.wait(1, cid)).status).toBe(0);
  });
});

describe('resets and shutdown', () => {
  it('survives enable → disable → enable cycles without double completions or leaked controllers', async () => {
    env = await setup();
    const { guest, target } = env;
    for (let cycle = 0; cycle < 4; cycle++) {
      expect(guest.enable() & 1).toBe(1);
      await guest.setNumQueues(2);
      expect(await guest.createIoQueue(1, 16)).toEqual([0, 0]);
      const buf = guest.alloc(4096);
      const q = guest.queues.get(1);
      // Leave I/O and an AER outstanding, then reset under them.
      aer(guest);
      for (let i = 0; i < 4; i++) guest.rw(1, false, i, 1, buf);
      await turns(3);
      const cqAddr = q?.cqAddr ?? 0;
      guest.stray.length = 0;
      expect(guest.disable() & 1).toBe(0);
      const snapshot = Buffer.from(env.dma.ram.subarray(cqAddr, cqAddr + 16 * 16));
      await turns(10);
      // Nothing posted after the reset.
      expect(Buffer.compare(snapshot, env.dma.ram.subarray(cqAddr, cqAddr + 16 * 16))).toBe(0);
    }
    const stats = target.getStats();
    const sub = stats.subsystems.find((s) => s.nqn.includes('vfu-test'));
    expect(sub?.controllers).toBe(1);
    expect(sub?.ioInflight).toBe(0);
    expect(guest.enable() & 1).toBe(1);
    const { cqe } = await guest.identify(1);
    expect(cqe.status).toBe(0);
  });

  it('completes a shutdown notification (CSTS.SHST = 10b) and deletes I/O queues', async () => {
    const { guest } = await withIoQueue();
    guest.write32(0x14, 1 | (6 << 16) | (4 << 20) | (1 << 14));
    let shst = 0;
    for (let i = 0; i < 100 && shst !== 2; i++) {
      await turns(2);
      shst = (guest.read32(0x1c) >>> 2) & 3;
    }
    expect(shst).toBe(2);
    const del = await guest.cmd(0, (s) => {
      s.setUint8(0, 0x00);
      s.setUint32(40, 1, true);
    });
    expect(del.status).toBe(0x101); // already gone
    expect(guest.disable() & 0xd).toBe(0);
    expect(guest.enable() & 1).toBe(1);
  });

  it('DEVICE_RESET and detach tear everything down; a new client gets a new controller', async () => {
    env = await setup();
    const { guest, dev, ctx } = env;
    guest.enable();
    dev.hooks.reset?.();
    expect(guest.read32(0x1c) & 1).toBe(0);
    const first = dev.controllerId;
    await dev.hooks.detached?.();
    expect(dev.controllerId).toBe(-1);
    dev.bind(ctx);
    dev.hooks.attached?.();
    expect(dev.controllerId).not.toBe(-1);
    expect(dev.controllerId).not.toBe(first);
    expect(guest.enable() & 1).toBe(1);
    expect((await guest.identify(1)).cqe.status).toBe(0);
    // The first client's controller is gone from the subsystem (and the discovery lookups too).
    const subs = env.target.getStats().subsystems;
    expect(subs.find((x) => x.nqn.includes('vfu-test'))?.controllers).toBe(1);
    expect(subs.find((x) => x.nqn.includes('discovery'))?.controllers ?? 0).toBe(0);
  });
});

describe('Doorbell Buffer Config', () => {
  it('takes I/O doorbells from the shadow page and writes event indexes', async () => {
    const { guest, dma, ctx } = await withIoQueue();
    const { cqe: r, shadow, eventIdx } = await guest.doorbellBufferConfig();
    expect(r.status).toBe(0);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue');
    const buf = guest.alloc(4096);
    // Ring only the shadow doorbell (as Linux does when the event index says no MMIO is needed).
    const cid = guest.rw(1, false, 0, 8, buf, 0, false);
    dma.ram.writeUInt32LE(q.tail, shadow + 2 * 1 * 4);
    await turns(10);
    expect(guest.peek(1)?.cid).toBe(cid);
    expect(dma.ram.readUInt32LE(eventIdx + 8)).toBe(q.tail); // caught up to the tail
    // The BAR0 doorbell of queue 1 is no longer what counts.
    expect(ctx.bar0.readUInt32LE(0x1000 + 8)).toBe(0);
    // CQ head through the shadow page as well.
    guest.pop(1, false);
    dma.ram.writeUInt32LE(q.head, shadow + 3 * 4);
    await turns(5);
    expect(dma.ram.readUInt32LE(eventIdx + 12)).toBe(q.head);
    // Bad arguments.
    const bad = await guest.cmd(0, (s) => {
      s.setUint8(0, 0x7c);
      setU64(s, 24, shadow + 8);
      setU64(s, 32, eventIdx);
    });
    expect(bad.status).toBe(0x0002);
  });
});

describe('guest RAM without an fd (DMA_READ / DMA_WRITE)', () => {
  it('runs the admin queue, I/O queues and PRP lists through messages', async () => {
    const { guest, dma, dev } = await withIoQueue({ shared: false });
    const ram = dma.ram;
    const data = guest.alloc(16384);
    for (let i = 0; i < 16384; i++) ram[data + i] = (i * 13) & 0xff;
    const list = guest.alloc(4096);
    for (let i = 1; i < 4; i++) ram.writeBigUInt64LE(BigInt(data + i * 4096), list + (i - 1) * 8);
    expect((await guest.wait(1, guest.rw(1, true, 16, 32, data, list))).status).toBe(0);
    const out = guest.alloc(16384);
    const outList = guest.alloc(4096);
    for (let i = 1; i < 4; i++) ram.writeBigUInt64LE(BigInt(out + i * 4096), outList + (i - 1) * 8);
    expect((await guest.wait(1, guest.rw(1, false, 16, 32, out, outList))).status).toBe(0);
    expect(Buffer.compare(ram.subarray(data, data + 16384), ram.subarray(out, out + 16384))).toBe(0);
    expect(dma.dmaReads).toBeGreaterThan(0);
    expect(dma.dmaWrites).toBeGreaterThan(0);
    expect(dev.stats.slowCommands).toBeGreaterThan(0);
    const { cqe, data: id } = await guest.identify(1);
    expect(cqe.status).toBe(0);
    expect(id.readUInt16LE(256) & 0x100).toBe(0x100);
  });
});

describe('DMA unmap', () => {
  it('stops a queue whose memory is unmapped and resumes it when mapped again', async () => {
    const { guest, dma, dev } = await withIoQueue();
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue');
    const range = { iova: 0, length: dma.ram.byteLength, readable: true, writable: true, shared: true };
    await dev.hooks.dmaUnmapping?.(range);
    dma.mappings = [];
    const buf = guest.alloc(4096);
    const cid = guest.rw(1, false, 0, 8, buf);
    await turns(10);
    expect(guest.peek(1)).toBeUndefined();
    dma.mappings = [{ iova: 0, length: dma.ram.byteLength, shared: true, writable: true }];
    dev.hooks.dmaMapped?.(range);
    expect((await guest.wait(1, cid)).status).toBe(0);
  });
});
