/** DEVICE_GET_INFO, DEVICE_GET_REGION_INFO (sparse mmap + fd), REGION_READ / WRITE / WRITE_MULTI, IO_FDS. */
import { describe, expect, it } from 'vitest';

import { closeFd, mmap, munmap } from '@nvmu/native';
import { Command, DeviceInfoFlags, Errno, HeaderFlags, PciRegion, RegionInfoFlags, encodeMessage, makeRequest } from '@nvmu/vfio-user-codec';

import { turn, until } from './helpers.js';
import { harness } from './setup.js';

const regionInfo = (index: number, argsz = 32) =>
  ({ kind: 'region-info-request', argsz, flags: 0, index, capOffset: 0, size: 0n, offset: 0n }) as const;

describe('device and region info', () => {
  it('DEVICE_GET_INFO: a PCI device with reset, 9 regions, 5 IRQ indexes', async () => {
    const { client } = await harness();
    const r = await client.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
    expect(r.msg.body).toEqual({ kind: 'device-info', argsz: 16, flags: DeviceInfoFlags.PCI | DeviceInfoFlags.RESET, numRegions: 9, numIrqs: 5 });
  });

  it('REGION_INFO with a short argsz gets the size needed back, then the sparse-mmap capability and the fd', async () => {
    const { client, dev } = await harness();
    const short = await client.request(Command.DEVICE_GET_REGION_INFO, regionInfo(0, 32));
    // MMAP set: the fd comes along (QEMU closes it and asks again).
    expect(short.fds).toHaveLength(1);
    closeFd(short.fds[0]!);
    const sb = short.msg.body;
    if (sb.kind !== 'region-info') throw new Error('not region info');
    // 32 fixed + 16 cap header/nr_areas + 16 per area.
    expect(sb.argsz).toBe(32 + 16 + 16);
    expect(sb.caps).toEqual([]);
    expect(sb.flags & RegionInfoFlags.CAPS).toBe(0);
    expect(sb.size).toBe(0x4000n);

    const full = await client.request(Command.DEVICE_GET_REGION_INFO, regionInfo(0, sb.argsz));
    const fb = full.msg.body;
    if (fb.kind !== 'region-info') throw new Error('not region info');
    expect(fb.flags).toBe(RegionInfoFlags.READ | RegionInfoFlags.WRITE | RegionInfoFlags.MMAP | RegionInfoFlags.CAPS);
    expect(fb.caps).toEqual([{ kind: 'sparse-mmap', version: 1, areas: [{ offset: 0x1000n, size: 0x1000n }] }]);
    expect(full.fds).toHaveLength(1);

    // Map the area as QEMU does (region offset + area offset in the fd) and see the device's view change.
    const fd = full.fds[0]!;
    const area = new Uint32Array(mmap(fd, 0x1000, 0x1000, { writable: true }));
    closeFd(fd);
    area[2] = 0xdeadbeef;
    const bar = dev.context.current!.barMemory(0)!;
    expect(new DataView(bar.buffer, bar.byteOffset).getUint32(0x1008, true)).toBe(0xdeadbeef);
    bar[0x1010] = 0x5a;
    expect(area[4]).toBe(0x5a);
    munmap(area.buffer);
    expect(dev.context.current!.barMemory(4)).toBeUndefined();
  });

  it('reports config space (4 KiB with PCI Express), plain BARs, absent regions, and refuses index 9', async () => {
    const { client } = await harness();
    const cfg = await client.request(Command.DEVICE_GET_REGION_INFO, regionInfo(PciRegion.CONFIG));
    expect(cfg.msg.body).toMatchObject({ flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: 4096n, argsz: 32 });
    const bar4 = await client.request(Command.DEVICE_GET_REGION_INFO, regionInfo(4));
    expect(bar4.msg.body).toMatchObject({ flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: 0x2000n });
    expect(bar4.fds).toEqual([]);
    for (const index of [1, 2, 3, 5, PciRegion.ROM, PciRegion.VGA]) {
      const r = await client.request(Command.DEVICE_GET_REGION_INFO, regionInfo(index));
      expect(r.msg.body).toMatchObject({ flags: 0, size: 0n });
    }
    expect(await client.expectError(Command.DEVICE_GET_REGION_INFO, regionInfo(9))).toBe(Errno.EINVAL);
  });

  it('REGION_IO_FDS: none for a region, EINVAL for an absent one', async () => {
    const { client } = await harness();
    const r = await client.request(Command.DEVICE_GET_REGION_IO_FDS, { kind: 'region-io-fds-request', argsz: 16, flags: 0, index: 0, count: 0 });
    expect(r.msg.body).toMatchObject({ kind: 'region-io-fds', argsz: 16, count: 0, subRegions: [] });
    expect(await client.expectError(Command.DEVICE_GET_REGION_IO_FDS, { kind: 'region-io-fds-request', argsz: 16, flags: 0, index: 2, count: 0 })).toBe(Errno.EINVAL);
  });
});

describe('region access', () => {
  it('REGION_WRITE and REGION_READ reach the BAR handler; a posted write gets no reply', async () => {
    const { client, dev } = await harness();
    const w = await client.request(Command.REGION_WRITE, { kind: 'region-data', offset: 0x14n, region: 0, data: new Uint8Array([1, 2, 3, 4]) });
    expect(w.msg.body).toEqual({ kind: 'region-access', offset: 0x14n, region: 0, count: 4 });
    expect(dev.regs[5]).toBe(0x04030201);
    const r = await client.request(Command.REGION_READ, { kind: 'region-access', offset: 0x14n, region: 0, count: 4 });
    expect(r.msg.body).toMatchObject({ kind: 'region-data', offset: 0x14n, region: 0, data: new Uint8Array([1, 2, 3, 4]) });

    client.send(Command.REGION_WRITE, { kind: 'region-data', offset: 0x20n, region: 0, data: new Uint8Array([9, 0, 0, 0]) }, { noReply: true });
    await until(() => dev.regs[8] === 9);
    await turn();
    expect(client.queued).toBe(0);
    expect(dev.log.accesses.at(-1)).toEqual({ bar: 0, offset: 0x20, data: [9, 0, 0, 0], isWrite: true });
  });

  it('REGION_WRITE_MULTI applies every write and counts them', async () => {
    const { client, dev } = await harness();
    const writes = [0, 1, 2].map((i) => ({ offset: BigInt(0x40 + 4 * i), region: 0, count: 4, data: new Uint8Array([i + 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]) }));
    const r = await client.request(Command.REGION_WRITE_MULTI, { kind: 'region-write-multi', writes });
    expect(r.msg.body).toEqual({ kind: 'region-write-multi-reply', wrCnt: 3n });
    expect([...dev.regs.subarray(0x10, 0x13)]).toEqual([1, 2, 3]);
  });

  it('refuses accesses outside a region, to absent regions, and at offsets beyond 2^53', async () => {
    const { client, dev } = await harness();
    const before = dev.log.accesses.length;
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 0x3ffen, region: 0, count: 4 })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 2, data: new Uint8Array(4) })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 0n, region: 9, count: 4 })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 1n << 60n, region: 0, count: 4 })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 4096n, region: PciRegion.CONFIG, count: 1 })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_WRITE, { kind: 'region-data', offset: 0xff0n, region: 4, data: new Uint8Array(32) })).toBe(Errno.EINVAL);
    expect(dev.log.accesses.length).toBe(before);
  });

  it("passes the device's errno through, and EIO for any other exception", async () => {
    const { client, dev } = await harness({ negotiate: false });
    const { VfioUserErrnoError } = await import('../../src/server.js');
    const bar0 = dev.spec.bars[0]!;
    (bar0 as { access: typeof bar0.access }).access = (offset) => {
      if (offset === 0) throw new VfioUserErrnoError(Errno.EBUSY);
      throw new Error('boom');
    };
    await client.negotiate();
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 0n, region: 0, count: 4 })).toBe(Errno.EBUSY);
    expect(await client.expectError(Command.REGION_READ, { kind: 'region-access', offset: 4n, region: 0, count: 4 })).toBe(Errno.EIO);
    const ok = await client.request(Command.REGION_READ, { kind: 'region-access', offset: 0n, region: PciRegion.CONFIG, count: 2 });
    expect(ok.msg.flags).toBe(HeaderFlags.TYPE_REPLY);
  });

  it('replies beyond what the socket takes at once are queued and arrive whole and in order', async () => {
    const { client } = await harness();
    // 300 reads of the whole config space in one write: ~1.2 MB of replies, far above the socket buffer.
    const requests = Array.from({ length: 300 }, (_, i) =>
      encodeMessage(makeRequest(1000 + i, Command.REGION_READ, { kind: 'region-access', offset: 0n, region: PciRegion.CONFIG, count: 4096 })),
    );
    client.sendRaw(Buffer.concat(requests));
    for (let i = 0; i < 300; i++) {
      const r = await client.next();
      expect(r.msg.msgId).toBe(1000 + i);
      if (r.msg.body.kind !== 'region-data') throw new Error('not region data');
      expect(r.msg.body.data.length).toBe(4096);
      expect(Buffer.from(r.msg.body.data).readUInt16LE(0)).toBe(0x4e56);
    }
  });
});
