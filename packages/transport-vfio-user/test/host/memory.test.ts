/**
 * The host's DMA memory: allocations are carved from a few large DMA_MAPped chunks, as a VMM's
 * guest RAM is a handful of regions. libvfio-user (SPDK's nvmf_tgt) takes at most 16 DMA_MAPs;
 * one DMA_MAP a queue buffer ran out at four I/O queues (nvmu-perf -P 4 against SPDK v24.01).
 */
import { expect, it } from 'vitest';
import { Command, type MessageBody } from '@nvmu/vfio-user-codec';
import { HostMemory } from '../../src/host/memory.js';
import type { VfioUserClientConnection } from '../../src/host/connection.js';

function fakeConnection() {
  const log: { command: number; body: MessageBody; fds: number }[] = [];
  const conn = {
    open: true,
    request(command: number, body: MessageBody, fds: readonly number[] = []) {
      log.push({ command, body, fds: fds.length });
      // The transport closes its own fd after the request; a real server dups it.
      return Promise.resolve({ msg: { msgId: 0, command, flags: 1, errno: 0, body: { kind: 'empty' } }, fds: [] });
    },
  };
  return { conn: conn as unknown as VfioUserClientConnection, log };
}

const MiB = 1024 * 1024;

for (const mode of ['memfd', 'message'] as const) {
  it(`${mode}: the buffers of 16 I/O queues take a few DMA_MAPs, aligned, disjoint, zeroed on reuse`, async () => {
    const { conn, log } = fakeConnection();
    const mem = new HostMemory(conn, mode);
    // What the transport allocates: admin SQ/CQ, 16 × (SQ, CQ, bounce 128 × 128 KiB, PRP lists), dbbuf.
    const regions = [await mem.alloc(32 * 64), await mem.alloc(32 * 16), await mem.alloc(3 * 4096)];
    for (let q = 0; q < 16; q++) {
      regions.push(await mem.alloc(128 * 64), await mem.alloc(128 * 16), await mem.alloc(128 * 128 * 1024), await mem.alloc(128 * 4096));
    }
    const maps = log.filter((m) => m.command === Command.DMA_MAP);
    expect(maps.length).toBeLessThanOrEqual(6);
    expect(mem.dmaMaps).toBe(maps.length);
    if (mode === 'memfd') expect(maps.every((m) => m.fds === 1)).toBe(true);
    // Every region is page aligned, inside one mapping, and no two overlap (a page apart at least).
    const sorted = [...regions].sort((a, b) => a.iova - b.iova);
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i]!;
      expect(r.iova % 4096).toBe(0);
      const inside = maps.some((m) => m.body.kind === 'dma-map' && r.iova >= Number(m.body.address) && r.iova + r.bytes.byteLength <= Number(m.body.address + m.body.size));
      expect(inside).toBe(true);
      const next = sorted[i + 1];
      if (next !== undefined) expect(r.iova + r.bytes.byteLength).toBeLessThan(next.iova);
    }
    // resolve() finds the same bytes the region holds (DMA_READ / DMA_WRITE in message mode).
    const probe = regions[5]!;
    probe.bytes[10] = 0xab;
    const found = mem.resolve(probe.iova + 10, 1)!;
    expect(found.bytes[found.offset]).toBe(0xab);
    // A freed region's pages come back zeroed to the next allocation of that size.
    const cq = regions[4]!;
    cq.bytes.fill(0xff);
    await mem.free(cq);
    const again = await mem.alloc(128 * 16);
    expect(again.iova).toBe(cq.iova);
    expect(again.bytes.every((b) => b === 0)).toBe(true);
    // A large alignment is honoured.
    const aligned = await mem.alloc(4096, 64 * 1024);
    expect(aligned.iova % (64 * 1024)).toBe(0);
    // Freeing everything unmaps every chunk, once each.
    for (const r of [...regions.filter((r) => r !== cq), again, aligned]) await mem.free(r);
    const unmaps = log.filter((m) => m.command === Command.DMA_UNMAP);
    expect(unmaps.length).toBe(maps.length);
    expect(mem.dmaMaps).toBe(0);
  });
}

it('an allocation larger than a chunk gets a chunk of its own size', async () => {
  const { conn, log } = fakeConnection();
  const mem = new HostMemory(conn, 'memfd');
  const big = await mem.alloc(300 * MiB);
  expect(big.bytes.byteLength).toBe(300 * MiB);
  const map = log.find((m) => m.command === Command.DMA_MAP)!;
  expect(map.body.kind === 'dma-map' && map.body.size >= BigInt(300 * MiB)).toBe(true);
  await mem.free(big);
  expect(mem.dmaMaps).toBe(0);
});
