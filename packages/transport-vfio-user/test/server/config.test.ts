/**
 * PCI config space through REGION_READ / REGION_WRITE of region 7, as QEMU's vfio-pci and the
 * Linux nvme driver read it: ids and class, BAR sizing, the capability chain, MSI-X location.
 */
import { describe, expect, it } from 'vitest';

import { Command, PciIrq, PciRegion } from '@nvmu/vfio-user-codec';

import { CapOffset, MsixControl, PciCapId, PciCommand, PciStatus, PciConfigSpace } from '../../src/server/pci-config.js';
import type { TestClient } from './helpers.js';
import { fakeDevice } from './helpers.js';
import { harness } from './setup.js';

async function cfgRead(client: TestClient, offset: number, count: number): Promise<number> {
  const r = await client.request(Command.REGION_READ, { kind: 'region-access', offset: BigInt(offset), region: PciRegion.CONFIG, count });
  if (r.msg.body.kind !== 'region-data') throw new Error(`config read at ${offset} failed (errno ${r.msg.errno})`);
  const d = r.msg.body.data;
  return Buffer.from(d).readUIntLE(0, count);
}

async function cfgWrite(client: TestClient, offset: number, count: number, value: number): Promise<void> {
  const data = Buffer.alloc(count);
  data.writeUIntLE(value, 0, count);
  const r = await client.request(Command.REGION_WRITE, { kind: 'region-data', offset: BigInt(offset), region: PciRegion.CONFIG, data });
  if (r.msg.body.kind !== 'region-access') throw new Error(`config write at ${offset} failed`);
}

describe('PCI config space', () => {
  it('header: ids, class 010802, type 0, capabilities bit, INTA#', async () => {
    const { client } = await harness();
    expect(await cfgRead(client, 0x00, 2)).toBe(0x4e56);
    expect(await cfgRead(client, 0x02, 2)).toBe(0x0001);
    expect(await cfgRead(client, 0x08, 4)).toBe(0x01080202); // revision 2, class 01 08 02
    expect(await cfgRead(client, 0x0e, 1)).toBe(0);
    expect(await cfgRead(client, 0x2c, 4)).toBe(0x01004e56);
    expect((await cfgRead(client, 0x06, 2)) & PciStatus.CAP_LIST).toBe(PciStatus.CAP_LIST);
    expect(await cfgRead(client, 0x3d, 1)).toBe(1);
    expect(await cfgRead(client, 0x30, 4)).toBe(0);
  });

  it('BAR sizing: all-ones reads back the size mask; the 64-bit upper half and absent BARs too', async () => {
    const { client } = await harness();
    // BAR0: 16 KiB, 64-bit, memory (type 10b = 0x4).
    expect(await cfgRead(client, 0x10, 4)).toBe(0x4);
    await cfgWrite(client, 0x10, 4, 0xffffffff);
    expect(await cfgRead(client, 0x10, 4)).toBe(0xffffc004); // ~(16 KiB - 1) with the type bits
    await cfgWrite(client, 0x14, 4, 0xffffffff);
    expect(await cfgRead(client, 0x14, 4)).toBe(0xffffffff);
    await cfgWrite(client, 0x10, 4, 0xfebf0000);
    expect(await cfgRead(client, 0x10, 4)).toBe(0xfebf0004);
    // BAR4: 8 KiB, 32-bit.
    await cfgWrite(client, 0x20, 4, 0xffffffff);
    expect(await cfgRead(client, 0x20, 4)).toBe(0xffffe000);
    // BAR2 does not exist: reads 0 whatever is written.
    await cfgWrite(client, 0x18, 4, 0xffffffff);
    expect(await cfgRead(client, 0x18, 4)).toBe(0);
  });

  it('command register: memory, bus master, INTx disable writable; vendor id read-only', async () => {
    const { client } = await harness();
    await cfgWrite(client, 0x04, 2, 0xffff);
    expect(await cfgRead(client, 0x04, 2)).toBe(PciCommand.MEMORY | PciCommand.MASTER | PciCommand.PARITY | PciCommand.SERR | PciCommand.INTX_DISABLE);
    await cfgWrite(client, 0x00, 2, 0x1234);
    expect(await cfgRead(client, 0x00, 2)).toBe(0x4e56);
  });

  it('capability chain: PM -> MSI-X -> PCI Express endpoint -> end; MSI-X matches IRQ_INFO and the spec', async () => {
    const { client } = await harness();
    const seen: [number, number][] = [];
    for (let at = await cfgRead(client, 0x34, 1); at !== 0; at = await cfgRead(client, at + 1, 1)) {
      seen.push([at, await cfgRead(client, at, 1)]);
      if (seen.length > 8) throw new Error('capability loop');
    }
    expect(seen).toEqual([
      [CapOffset.PM, PciCapId.PM],
      [CapOffset.MSIX, PciCapId.MSIX],
      [CapOffset.EXP, PciCapId.EXP],
    ]);
    const ctl = await cfgRead(client, CapOffset.MSIX + 2, 2);
    const info = await client.request(Command.DEVICE_GET_IRQ_INFO, { kind: 'irq-info', argsz: 16, flags: 0, index: PciIrq.MSIX, count: 0 });
    expect(info.msg.body).toMatchObject({ count: (ctl & MsixControl.TABLE_SIZE_MASK) + 1 });
    expect(await cfgRead(client, CapOffset.MSIX + 4, 4)).toBe(0x0000 | 4); // table at 0 in BAR4
    expect(await cfgRead(client, CapOffset.MSIX + 8, 4)).toBe(0x1000 | 4); // PBA at 0x1000 in BAR4
    // PCI Express: version 2, endpoint (type 0); link 2.5 GT/s x1.
    expect(await cfgRead(client, CapOffset.EXP + 2, 2)).toBe(0x0002);
    expect(await cfgRead(client, CapOffset.EXP + 0x12, 2)).toBe(0x0011);
    // No extended capabilities: the header at 0x100 is zero.
    expect(await cfgRead(client, 0x100, 4)).toBe(0);
    // PM: D0; D3hot writable; D1 is refused (not offered in PMC).
    await cfgWrite(client, CapOffset.PM + 4, 2, 3);
    expect((await cfgRead(client, CapOffset.PM + 4, 2)) & 3).toBe(3);
    await cfgWrite(client, CapOffset.PM + 4, 2, 1);
    expect((await cfgRead(client, CapOffset.PM + 4, 2)) & 3).toBe(3);
    await cfgWrite(client, CapOffset.PM + 4, 2, 0);
    expect((await cfgRead(client, CapOffset.PM + 4, 2)) & 3).toBe(0);
  });

  it('MSI-X enable and function mask are the only writable Message Control bits; table size is read-only', async () => {
    const { client, dev } = await harness();
    await cfgWrite(client, CapOffset.MSIX + 2, 2, 0xffff);
    expect(await cfgRead(client, CapOffset.MSIX + 2, 2)).toBe(MsixControl.ENABLE | MsixControl.FUNCTION_MASK | 3);
    expect(dev.context.current!.msixEnabled).toBe(true);
    await cfgWrite(client, CapOffset.MSIX + 3, 1, 0);
    expect(dev.context.current!.msixEnabled).toBe(false);
    expect(dev.log.irqChanges).toBeGreaterThanOrEqual(2);
  });

  it('DEVICE_RESET puts config space back and calls reset()', async () => {
    const { client, dev } = await harness();
    await cfgWrite(client, 0x04, 2, PciCommand.MEMORY | PciCommand.MASTER);
    await cfgWrite(client, CapOffset.MSIX + 2, 2, MsixControl.ENABLE);
    const r = await client.request(Command.DEVICE_RESET, { kind: 'empty' });
    expect(r.msg.body).toEqual({ kind: 'empty' });
    expect(await cfgRead(client, 0x04, 2)).toBe(0);
    expect(dev.context.current!.msixEnabled).toBe(false);
    expect(dev.log.resets).toBe(1);
  });
});

describe('device spec checks', () => {
  it('refuses bad BARs and MSI-X structures that overlap mmap areas', () => {
    const { spec } = fakeDevice();
    expect(() => new PciConfigSpace({ ...spec, bars: [{ ...spec.bars[0]!, size: 0x3000 }] })).toThrow(/power of two/);
    expect(() => new PciConfigSpace({ ...spec, msix: { vectors: 4, tableBar: 0, tableOffset: 0x1000, pbaBar: 4, pbaOffset: 0 } })).toThrow(/overlaps an mmap area/);
    expect(() => new PciConfigSpace({ ...spec, msix: { vectors: 4, tableBar: 2, tableOffset: 0, pbaBar: 4, pbaOffset: 0 } })).toThrow(/does not have/);
    expect(() => new PciConfigSpace({ ...spec, bars: [spec.bars[0]!, { ...spec.bars[1]!, index: 1 }] })).toThrow(/used twice/);
  });
});
