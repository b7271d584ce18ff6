/**
 * What a device calls per I/O allocates nothing (DESIGN.md "The hot path"): triggerIrq (fired or
 * held in the PBA), dma.covers, and dma.view beyond the view itself. Measured as the growth of
 * V8's new space over a batch (smallest of several, a scavenge discards a batch), as
 * packages/nvmf/test/hotpath.test.ts does; a control loop shows the measure sees allocation.
 */
import { describe, expect, it } from 'vitest';

import { closeFd, eventfdCreate, eventfdRead, ftruncate, memfdCreate } from '@nvmu/native';
import { Command, DmaMapFlags, IrqSetFlags, PciIrq, PciRegion } from '@nvmu/vfio-user-codec';

import { allocatedBy } from '../../../../scripts/allocation.js';
import { CapOffset, MsixControl } from '../../src/server/pci-config.js';
import { harness } from './setup.js';

const BATCH = 20_000;

describe('hot path allocation', () => {
  it('the measure sees one small array per iteration', () => {
    const keep: number[][] = [];
    const control = () => {
      for (let i = 0; i < BATCH; i++) keep[i & 7] = [i];
    };
    expect(allocatedBy(control) / BATCH).toBeGreaterThanOrEqual(16);
  });

  it('triggerIrq, dma.covers and dma.view allocate nothing beyond the view', async () => {
    const { client, dev } = await harness();
    const efd = eventfdCreate(0);
    await client.request(Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_EVENTFD, index: PciIrq.MSIX, start: 0, count: 1, data: null }, [efd]);
    await client.request(Command.REGION_WRITE, { kind: 'region-data', offset: BigInt(CapOffset.MSIX + 2), region: PciRegion.CONFIG, data: new Uint8Array([0, MsixControl.ENABLE >> 8]) });
    const ram = memfdCreate('vfu-hot');
    ftruncate(ram, 0x100000);
    for (let i = 0; i < 4; i++) {
      await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: BigInt(i * 0x40000), address: BigInt(0x100000 * (i + 1)), size: 0x40000n }, [ram]);
    }
    closeFd(ram);
    const ctx = dev.context.current!;

    const fire = () => {
      for (let i = 0; i < BATCH; i++) ctx.triggerIrq(0);
    };
    expect(allocatedBy(fire)).toBeLessThan(BATCH / 4);
    expect(eventfdRead(efd)).toBeGreaterThan(0n);
    // Vector 1 has no eventfd: held in the PBA.
    const held = () => {
      for (let i = 0; i < BATCH; i++) ctx.triggerIrq(1);
    };
    expect(allocatedBy(held)).toBeLessThan(BATCH / 4);

    let ok = 0;
    const covers = () => {
      for (let i = 0; i < BATCH; i++) if (ctx.dma.covers(0x100000 * ((i & 3) + 1) + 4096, 8192, true)) ok++;
    };
    expect(allocatedBy(covers)).toBeLessThan(BATCH / 4);
    expect(ok).toBeGreaterThan(0);

    const backing = new Uint8Array(0x40000);
    let sink = 0;
    const bare = () => {
      for (let i = 0; i < BATCH; i++) sink += backing.subarray(4096, 8192).length;
    };
    const views = () => {
      for (let i = 0; i < BATCH; i++) sink += ctx.dma.view(0x100000 * ((i & 3) + 1) + 4096, 4096)?.length ?? 0;
    };
    expect(allocatedBy(views)).toBeLessThanOrEqual(allocatedBy(bare) * 1.1 + BATCH / 4);
    expect(sink).toBeGreaterThan(0);
    closeFd(efd);
  });
});
