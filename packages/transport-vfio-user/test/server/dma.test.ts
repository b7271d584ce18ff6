/** DMA_MAP / DMA_UNMAP and the DmaSpace the device sees: shared (fd) and message-served memory. */
import { describe, expect, it } from 'vitest';

import { closeFd, ftruncate, memfdCreate, mmap, munmap } from '@nvmu/native';
import { Command, DmaMapFlags, DmaUnmapFlags, Errno, type DmaDataLayout } from '@nvmu/vfio-user-codec';

import { VfioUserErrnoError } from '../../src/server.js';
import type { TestClient } from './helpers.js';
import { mappedMemfds, ourFds, turn } from './helpers.js';
import { harness } from './setup.js';

const RW = DmaMapFlags.READ | DmaMapFlags.WRITE;

function dmaMap(client: TestClient, address: number, size: number, fds: number[] = [], offset = 0, flags: number = RW) {
  return client.request(Command.DMA_MAP, { kind: 'dma-map', flags, offset: BigInt(offset), address: BigInt(address), size: BigInt(size) }, fds);
}

function unmapBody(address: number, size: number, flags = 0) {
  return { kind: 'dma-unmap', argsz: 24, flags, address: BigInt(address), size: BigInt(size), bitmap: null } as const;
}

describe('DMA with an fd (shared guest RAM)', () => {
  it('maps the memfd; view, read and write reach the same pages as the client', async () => {
    const { client, dev } = await harness();
    const ram = memfdCreate('vfu-test-ram');
    ftruncate(ram, 0x10000);
    const clientView = new Uint8Array(mmap(ram, 0, 0x10000, { writable: true }));
    // Map guest [0x100000, +0x8000) from file offset 0x4000.
    const r = await dmaMap(client, 0x100000, 0x8000, [ram], 0x4000);
    closeFd(ram);
    expect(r.msg.errno).toBe(0);
    const ctx = dev.context.current!;
    expect(dev.log.mapped).toEqual([{ iova: 0x100000, length: 0x8000, readable: true, writable: true, shared: true }]);

    clientView.set([1, 2, 3, 4], 0x4010);
    expect([...ctx.dma.view(0x100010, 4)!]).toEqual([1, 2, 3, 4]);
    const w = ctx.dma.view(0x100020, 2, true)!;
    w.set([0xaa, 0xbb]);
    expect([...clientView.subarray(0x4020, 0x4022)]).toEqual([0xaa, 0xbb]);

    const dst = new Uint8Array(4);
    await ctx.dma.read(0x100010, dst);
    expect([...dst]).toEqual([1, 2, 3, 4]);
    await ctx.dma.write(0x107ffe, new Uint8Array([7, 8]));
    expect([...clientView.subarray(0xbffe, 0xc000)]).toEqual([7, 8]);

    expect(ctx.dma.view(0x107ffe, 4)).toBeUndefined(); // runs past the mapping
    expect(ctx.dma.view(0x0, 4)).toBeUndefined();
    expect(ctx.dma.covers(0x100000, 0x8000, true)).toBe(true);
    expect(ctx.dma.covers(0x100000, 0x8001, false)).toBe(false);
    await expect(ctx.dma.read(0x200000, dst)).rejects.toMatchObject({ errno: Errno.EFAULT });
    expect(mappedMemfds('vfu-test-ram')).toHaveLength(2); // the client's and the server's
    munmap(clientView.buffer);
  });

  it('a read-only mapping gives no writable view and refuses writes', async () => {
    const { client, dev } = await harness();
    const ram = memfdCreate('vfu-test-ro');
    ftruncate(ram, 0x1000);
    await dmaMap(client, 0x1000, 0x1000, [ram], 0, DmaMapFlags.READ);
    closeFd(ram);
    const ctx = dev.context.current!;
    expect(ctx.dma.view(0x1000, 16)).toBeDefined();
    expect(ctx.dma.view(0x1000, 16, true)).toBeUndefined();
    await expect(ctx.dma.write(0x1000, new Uint8Array(4))).rejects.toBeInstanceOf(VfioUserErrnoError);
  });

  it('refuses maps over an existing one (EEXIST, as the spec names), unaligned maps, bad flags and more than max_dma_maps', async () => {
    const { client, dev } = await harness({ server: { maxDmaMaps: 3 } });
    expect((await dmaMap(client, 0x10000, 0x2000)).msg.errno).toBe(0);
    expect((await dmaMap(client, 0x11000, 0x2000)).msg.errno).toBe(Errno.EEXIST);
    expect((await dmaMap(client, 0xf000, 0x2000)).msg.errno).toBe(Errno.EEXIST);
    expect((await dmaMap(client, 0x10000, 0x2000)).msg.errno).toBe(Errno.EEXIST);
    expect((await dmaMap(client, 0x20001, 0x1000)).msg.errno).toBe(Errno.EINVAL);
    expect((await dmaMap(client, 0x20000, 0)).msg.errno).toBe(Errno.EINVAL);
    expect((await dmaMap(client, 0x20000, 0x1000, [], 0, 0)).msg.errno).toBe(Errno.EINVAL);
    expect((await dmaMap(client, 0x20000, 0x1000, [], 0, RW | DmaMapFlags.MMAP)).msg.errno).toBe(Errno.EINVAL);
    expect((await dmaMap(client, 0x20000, 0x1000)).msg.errno).toBe(0);
    expect((await dmaMap(client, 0x30000, 0x1000)).msg.errno).toBe(0);
    expect((await dmaMap(client, 0x40000, 0x1000)).msg.errno).toBe(Errno.ENOSPC);
    expect(dev.context.current!.dma.ranges().map((r) => r.iova)).toEqual([0x10000, 0x20000, 0x30000]);
    // A memfd smaller than the mapping cannot be mapped: mmap's errno comes back, and the fd is closed.
    const small = memfdCreate('vfu-test-small');
    expect((await dmaMap(client, 0x1000000, 0x1000, [small], 0x1_0000_0000_0000)).msg.errno).not.toBe(0);
    closeFd(small);
  });
});

describe('DMA_MAP past the end of its file', () => {
  it('is refused with EINVAL before anything is mapped, and the server keeps serving', async () => {
    // Touching a page of a memfd mapping past EOF is SIGBUS (the whole target dies); SPDK's host
    // without single-file segments maps a multi-page range with the fd of its first hugepage.
    const { client, dev } = await harness();
    const ram = memfdCreate('vfu-test-past-eof');
    ftruncate(ram, 0x2000);
    expect((await dmaMap(client, 0x100000, 0x3000, [ram])).msg.errno).toBe(Errno.EINVAL); // longer than the file
    expect((await dmaMap(client, 0x100000, 0x2000, [ram], 0x1000)).msg.errno).toBe(Errno.EINVAL); // offset + size past EOF
    expect(dev.context.current!.dma.ranges()).toEqual([]);
    expect(mappedMemfds('vfu-test-past-eof')).toHaveLength(0);
    // Exactly the file, and a tail of it, are fine; DMA still works through them.
    expect((await dmaMap(client, 0x100000, 0x2000, [ram])).msg.errno).toBe(0);
    expect((await dmaMap(client, 0x200000, 0x1000, [ram], 0x1000)).msg.errno).toBe(0);
    closeFd(ram);
    const ctx = dev.context.current!;
    await ctx.dma.write(0x100000 + 0x1ff8, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect([...ctx.dma.view(0x200ff8, 8)!]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('pipelined DMA_MAPs, as QEMU sends them during memory updates (not awaited)', () => {
  it('each mapping gets the fd that came with its own message', async () => {
    const { client, dev } = await harness();
    const fds: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const fd = memfdCreate(`vfu-pipe-${i}`);
      ftruncate(fd, 0x1000);
      const page = new Uint8Array(mmap(fd, 0, 0x1000, { writable: true }));
      page[0] = 0x40 + i;
      munmap(page.buffer);
      fds.push(fd);
      // Every other map has no fd: fds must not slide onto a neighbour.
      const withFd = i % 2 === 0;
      ids.push(client.send(Command.DMA_MAP, { kind: 'dma-map', flags: RW, offset: 0n, address: BigInt(0x100000 * (i + 1)), size: 0x1000n }, { fds: withFd ? [fd] : [] }));
    }
    for (const id of ids) {
      const r = await client.next();
      expect([r.msg.msgId, r.msg.errno]).toEqual([id, 0]);
    }
    for (const fd of fds) closeFd(fd);
    const ctx = dev.context.current!;
    for (let i = 0; i < 12; i++) {
      const view = ctx.dma.view(0x100000 * (i + 1), 1);
      if (i % 2 === 0) expect(view?.[0]).toBe(0x40 + i);
      else expect(view).toBeUndefined();
    }
  });
});

describe.each<DmaDataLayout>(['qemu', 'spec'])('DMA without an fd: DMA_READ / DMA_WRITE to the client (%s layout)', (layout) => {
  it('reads and writes guest memory through the client, in chunks of its max_data_xfer_size', async () => {
    const { client, dev } = await harness({ negotiate: false, dmaLayout: layout });
    await client.negotiate({ max_data_xfer_size: 8192, pgsizes: 4096 });
    client.memory = { base: 0x40000, bytes: new Uint8Array(0x10000) };
    for (let i = 0; i < 0x10000; i++) client.memory.bytes[i] = (i * 7) & 0xff;
    await dmaMap(client, 0x40000, 0x10000);
    const ctx = dev.context.current!;
    expect(dev.log.mapped[0]).toMatchObject({ shared: false });
    expect(ctx.dma.view(0x40000, 16)).toBeUndefined();

    const dst = new Uint8Array(20000);
    await ctx.dma.read(0x41000, dst);
    expect(dst.every((b, i) => b === (((i + 0x1000) * 7) & 0xff))).toBe(true);
    expect(client.dmaRequests.map((r) => r.count)).toEqual([8192, 8192, 20000 - 16384]);

    client.dmaRequests.length = 0;
    const src = new Uint8Array(100).fill(0x5c);
    await ctx.dma.write(0x4fff0 - 84, src);
    expect(client.memory.bytes.subarray(0xfff0 - 84, 0xfff0 - 84 + 100).every((b) => b === 0x5c)).toBe(true);
    expect(client.dmaRequests).toEqual([{ command: Command.DMA_WRITE, address: BigInt(0x4fff0 - 84), count: 100 }]);

    // The client answers EFAULT outside its memory: the device sees that errno.
    client.memory = { base: 0x48000, bytes: new Uint8Array(0x1000) };
    await expect(ctx.dma.read(0x40000, new Uint8Array(4))).rejects.toMatchObject({ errno: Errno.EFAULT });
  });
});

describe('DMA_UNMAP', () => {
  it('waits for the device to drain the range before unmapping and replying', async () => {
    const { client, dev } = await harness();
    const ram = memfdCreate('vfu-test-unmap');
    ftruncate(ram, 0x2000);
    await dmaMap(client, 0x8000, 0x2000, [ram]);
    closeFd(ram);
    let release!: () => void;
    const drained = new Promise<void>((resolve) => {
      release = resolve;
    });
    dev.hooks.dmaUnmapping = (range) => {
      dev.log.unmapping.push(range);
      return drained;
    };
    const id = client.send(Command.DMA_UNMAP, unmapBody(0x8000, 0x2000));
    // Commands behind the unmap wait too; the reply does not come before the device is done.
    const infoId = client.send(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
    for (let i = 0; i < 20; i++) await turn();
    expect(client.queued).toBe(0);
    expect(dev.log.unmapping).toHaveLength(1);
    expect(dev.context.current!.dma.view(0x8000, 8)).toBeDefined();
    expect(mappedMemfds('vfu-test-unmap')).toHaveLength(1);
    release();
    const reply = await client.next();
    expect(reply.msg.msgId).toBe(id);
    expect(reply.msg.body).toEqual({ kind: 'dma-unmap-reply', argsz: 24, flags: 0, address: 0x8000n, size: 0x2000n, bitmap: null });
    expect((await client.next()).msg.msgId).toBe(infoId);
    expect(dev.context.current!.dma.view(0x8000, 8)).toBeUndefined();
    expect(mappedMemfds('vfu-test-unmap')).toEqual([]);
  });

  it("takes the region's fd attached to DMA_UNMAP, as SPDK's vfio-user host sends it, and closes it", async () => {
    const { client, dev } = await harness();
    const ram = memfdCreate('vfu-test-spdk-unmap');
    ftruncate(ram, 0x2000);
    await dmaMap(client, 0x8000, 0x2000, [ram]);
    // lib/vfio_user/host/vfio_user.c vfio_user_dev_dma_map_unmap(): the unmap carries &mr->fd too.
    const reply = await client.request(Command.DMA_UNMAP, unmapBody(0x8000, 0x2000), [ram]);
    closeFd(ram);
    expect(reply.msg.errno).toBe(0);
    expect(dev.context.current!.dma.view(0x8000, 8)).toBeUndefined();
    // Neither the mapping nor the descriptor that came with the unmap stays open in the server.
    expect(mappedMemfds('vfu-test-spdk-unmap')).toEqual([]);
    expect(ourFds().filter((l) => l.includes('vfu-test-spdk-unmap'))).toEqual([]);
    // Two fds are still refused.
    const ram2 = memfdCreate('vfu-test-spdk-unmap2');
    ftruncate(ram2, 0x1000);
    await dmaMap(client, 0x20000, 0x1000, [ram2]);
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0x20000, 0x1000), [ram2, ram2])).msg.errno).toBe(Errno.EINVAL);
    closeFd(ram2);
  });

  it('ALL removes every mapping; partial, absent, dirty-bitmap and ALL-with-range requests are refused', async () => {
    const { client, dev } = await harness();
    for (const a of [0x1000, 0x3000, 0x10000]) await dmaMap(client, a, 0x1000);
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0x1000, 0x800))).msg.errno).toBe(Errno.EINVAL);
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0x5000, 0x1000))).msg.errno).toBe(Errno.ENOENT);
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0x1000, 0x1000, DmaUnmapFlags.ALL))).msg.errno).toBe(Errno.EINVAL);
    expect(
      (await client.request(Command.DMA_UNMAP, { kind: 'dma-unmap', argsz: 24 + 16 + 8, flags: DmaUnmapFlags.GET_DIRTY_BITMAP, address: 0x1000n, size: 0x1000n, bitmap: { pgsize: 4096n, size: 8n } })).msg.errno,
    ).toBe(Errno.ENOTSUP);
    // One request may cover several whole mappings.
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0x0, 0x4000))).msg.errno).toBe(0);
    expect(dev.context.current!.dma.ranges().map((r) => r.iova)).toEqual([0x10000]);
    await dmaMap(client, 0x20000, 0x1000);
    expect((await client.request(Command.DMA_UNMAP, unmapBody(0, 0, DmaUnmapFlags.ALL))).msg.errno).toBe(0);
    expect(dev.context.current!.dma.ranges()).toEqual([]);
    expect(dev.log.unmapping.map((r) => r.iova)).toEqual([0x1000, 0x3000, 0x10000, 0x20000]);
  });
});
