/** DEVICE_GET_IRQ_INFO, DEVICE_SET_IRQS with eventfds, triggerIrq, masking and the PBA. */
import { describe, expect, it } from 'vitest';

import { closeFd, eventfdCreate, eventfdRead } from '@nvmu/native';
import { Command, Errno, IrqInfoFlags, IrqSetFlags, PciIrq, PciRegion } from '@nvmu/vfio-user-codec';

import { CapOffset, MsixControl, PciCommand } from '../../src/server/pci-config.js';
import type { TestClient } from './helpers.js';
import { harness } from './setup.js';

const TRIGGER_EVENTFD = IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_EVENTFD;

function setIrqs(client: TestClient, flags: number, index: number, start: number, count: number, fds: number[] = [], data: Uint8Array | null = null) {
  return client.request(Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags, index, start, count, data }, fds);
}

async function writeRegion(client: TestClient, region: number, offset: number, bytes: number[]): Promise<void> {
  const r = await client.request(Command.REGION_WRITE, { kind: 'region-data', offset: BigInt(offset), region, data: new Uint8Array(bytes) });
  if (r.msg.body.kind !== 'region-access') throw new Error(`write failed: errno ${r.msg.errno}`);
}

async function readPba(client: TestClient): Promise<number> {
  const r = await client.request(Command.REGION_READ, { kind: 'region-access', offset: 0x1000n, region: 4, count: 8 });
  if (r.msg.body.kind !== 'region-data') throw new Error('PBA read failed');
  return r.msg.body.data[0]!;
}

/** Four MSI-X eventfds, handed over as QEMU does with max_msg_fds 2: two chunks. */
async function msixEventfds(client: TestClient): Promise<number[]> {
  const efds = [0, 1, 2, 3].map(() => eventfdCreate(0));
  for (const start of [0, 2]) {
    const r = await setIrqs(client, TRIGGER_EVENTFD, PciIrq.MSIX, start, 2, efds.slice(start, start + 2));
    expect(r.msg.errno).toBe(0);
  }
  return efds;
}

describe('IRQ info', () => {
  it('counts per index: INTx 1, MSI 0, MSI-X 4, ERR 1, REQ 1; index 5 refused', async () => {
    const { client } = await harness();
    const counts: number[] = [];
    for (let index = 0; index < 5; index++) {
      const r = await client.request(Command.DEVICE_GET_IRQ_INFO, { kind: 'irq-info', argsz: 16, flags: 0, index, count: 0 });
      if (r.msg.body.kind !== 'irq-info') throw new Error('not irq info');
      expect(r.msg.body.flags & IrqInfoFlags.EVENTFD).toBe(IrqInfoFlags.EVENTFD);
      counts.push(r.msg.body.count);
    }
    expect(counts).toEqual([1, 0, 4, 1, 1]);
    expect(await client.expectError(Command.DEVICE_GET_IRQ_INFO, { kind: 'irq-info', argsz: 16, flags: 0, index: 5, count: 0 })).toBe(Errno.EINVAL);
  });
});

describe('MSI-X', () => {
  it('triggerIrq writes the vector eventfd once MSI-X is enabled', async () => {
    const { client, dev } = await harness();
    const efds = await msixEventfds(client);
    const ctx = dev.context.current!;
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, MsixControl.ENABLE >> 8]);
    expect(ctx.msixEnabled).toBe(true);
    ctx.triggerIrq(1);
    ctx.triggerIrq(1);
    ctx.triggerIrq(3);
    expect(efds.map((fd) => eventfdRead(fd))).toEqual([0n, 2n, 0n, 1n]);
    for (const fd of efds) closeFd(fd);
  });

  it('function mask: trigger sets the PBA bit, unmask delivers and clears it', async () => {
    const { client, dev } = await harness();
    const efds = await msixEventfds(client);
    const ctx = dev.context.current!;
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, (MsixControl.ENABLE | MsixControl.FUNCTION_MASK) >> 8]);
    ctx.triggerIrq(2);
    expect(eventfdRead(efds[2]!)).toBe(0n);
    expect(await readPba(client)).toBe(0b100);
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, MsixControl.ENABLE >> 8]);
    expect(eventfdRead(efds[2]!)).toBe(1n);
    expect(await readPba(client)).toBe(0);
    for (const fd of efds) closeFd(fd);
  });

  it('vector mask by SET_IRQS ACTION_MASK / ACTION_UNMASK (DATA_NONE and DATA_BOOL)', async () => {
    const { client, dev } = await harness();
    const efds = await msixEventfds(client);
    const ctx = dev.context.current!;
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, MsixControl.ENABLE >> 8]);
    await setIrqs(client, IrqSetFlags.ACTION_MASK | IrqSetFlags.DATA_NONE, PciIrq.MSIX, 0, 2);
    ctx.triggerIrq(0);
    ctx.triggerIrq(1);
    expect(await readPba(client)).toBe(0b11);
    await setIrqs(client, IrqSetFlags.ACTION_UNMASK | IrqSetFlags.DATA_BOOL, PciIrq.MSIX, 0, 2, [], new Uint8Array([0, 1]));
    expect([eventfdRead(efds[0]!), eventfdRead(efds[1]!)]).toEqual([0n, 1n]);
    expect(await readPba(client)).toBe(0b01);
    await setIrqs(client, IrqSetFlags.ACTION_UNMASK | IrqSetFlags.DATA_NONE, PciIrq.MSIX, 0, 1);
    expect(eventfdRead(efds[0]!)).toBe(1n);
    for (const fd of efds) closeFd(fd);
  });

  it('vector mask in the MSI-X table (a client that forwards table writes)', async () => {
    const { client, dev } = await harness();
    const efds = await msixEventfds(client);
    const ctx = dev.context.current!;
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, MsixControl.ENABLE >> 8]);
    // Entry 3: address, data, then Vector Control = 1 (masked).
    await writeRegion(client, 4, 3 * 16, [0, 0, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0, 1, 0, 0, 0]);
    const table = await client.request(Command.REGION_READ, { kind: 'region-access', offset: 48n, region: 4, count: 16 });
    expect(table.msg.body).toMatchObject({ data: new Uint8Array([0, 0, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0, 1, 0, 0, 0]) });
    ctx.triggerIrq(3);
    expect(eventfdRead(efds[3]!)).toBe(0n);
    expect(await readPba(client)).toBe(0b1000);
    await writeRegion(client, 4, 3 * 16 + 12, [0, 0, 0, 0]);
    expect(eventfdRead(efds[3]!)).toBe(1n);
    // Vector 0's entry was never written by a forwarding client... but the table has been: power-on mask applies.
    ctx.triggerIrq(0);
    expect(eventfdRead(efds[0]!)).toBe(0n);
    for (const fd of efds) closeFd(fd);
  });

  it('a run of -1 de-assigns without fds; a trigger then waits in the PBA until an eventfd comes', async () => {
    const { client, dev } = await harness();
    const efds = await msixEventfds(client);
    const ctx = dev.context.current!;
    await writeRegion(client, PciRegion.CONFIG, CapOffset.MSIX + 2, [0, MsixControl.ENABLE >> 8]);
    await setIrqs(client, TRIGGER_EVENTFD, PciIrq.MSIX, 1, 3);
    ctx.triggerIrq(1);
    expect(eventfdRead(efds[1]!)).toBe(0n);
    expect(await readPba(client)).toBe(0b10);
    const fresh = eventfdCreate(0);
    await setIrqs(client, TRIGGER_EVENTFD, PciIrq.MSIX, 1, 1, [fresh]);
    expect(eventfdRead(fresh)).toBe(1n);
    // DATA_NONE TRIGGER fires the vectors directly; count 0 disables the whole index.
    await setIrqs(client, IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_NONE, PciIrq.MSIX, 0, 2);
    expect([eventfdRead(efds[0]!), eventfdRead(fresh)]).toEqual([1n, 1n]);
    await setIrqs(client, IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_NONE, PciIrq.MSIX, 0, 0);
    ctx.triggerIrq(0);
    expect(eventfdRead(efds[0]!)).toBe(0n);
    for (const fd of [...efds, fresh]) closeFd(fd);
  });

  it('refuses bad SET_IRQS: out of range, fd count mismatch, fds without DATA_EVENTFD, ERR with mask, count 0 with start', async () => {
    const { client } = await harness();
    const e = eventfdCreate(0);
    expect((await setIrqs(client, TRIGGER_EVENTFD, PciIrq.MSIX, 3, 2, [e, e])).msg.errno).toBe(Errno.EINVAL);
    expect((await setIrqs(client, TRIGGER_EVENTFD, PciIrq.MSIX, 0, 2, [e])).msg.errno).toBe(Errno.EINVAL);
    expect((await setIrqs(client, IrqSetFlags.ACTION_MASK | IrqSetFlags.DATA_NONE, PciIrq.ERR, 0, 1)).msg.errno).toBe(Errno.EINVAL);
    expect((await setIrqs(client, IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_NONE, PciIrq.MSIX, 1, 0)).msg.errno).toBe(Errno.EINVAL);
    expect((await setIrqs(client, IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_NONE, PciIrq.MSI, 0, 1)).msg.errno).toBe(Errno.EINVAL);
    expect((await setIrqs(client, IrqSetFlags.ACTION_UNMASK | IrqSetFlags.DATA_EVENTFD, PciIrq.INTX, 0, 1, [e])).msg.errno).toBe(Errno.ENOTSUP);
    // ERR and REQ take one eventfd each.
    expect((await setIrqs(client, TRIGGER_EVENTFD, PciIrq.ERR, 0, 1, [e])).msg.errno).toBe(0);
    expect((await setIrqs(client, TRIGGER_EVENTFD, PciIrq.REQ, 0, 1, [e])).msg.errno).toBe(0);
    closeFd(e);
  });
});

describe('INTx', () => {
  it('fires when MSI-X is off, automasks, and delivers the pending one on unmask; Interrupt Disable drops it', async () => {
    const { client, dev } = await harness();
    const efd = eventfdCreate(0);
    await setIrqs(client, TRIGGER_EVENTFD, PciIrq.INTX, 0, 1, [efd]);
    const ctx = dev.context.current!;
    ctx.triggerIrq(0);
    ctx.triggerIrq(0);
    expect(eventfdRead(efd)).toBe(1n);
    await setIrqs(client, IrqSetFlags.ACTION_UNMASK | IrqSetFlags.DATA_NONE, PciIrq.INTX, 0, 1);
    expect(eventfdRead(efd)).toBe(1n);
    await setIrqs(client, IrqSetFlags.ACTION_UNMASK | IrqSetFlags.DATA_NONE, PciIrq.INTX, 0, 1);
    await writeRegion(client, PciRegion.CONFIG, 0x04, [0, PciCommand.INTX_DISABLE >> 8]);
    ctx.triggerIrq(0);
    expect(eventfdRead(efd)).toBe(0n);
    closeFd(efd);
  });
});
