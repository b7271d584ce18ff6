import { describe, it, expect, afterEach } from 'vitest';
import { MallocBdev, type Target } from '../src/index.js';
import { sqe } from './harness.js';
import { fixture, type Fixture } from './setup.js';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function up(opts = {}): Promise<Fixture> {
  const f = await fixture(opts);
  target = f.target;
  await f.host.bringUp(2);
  return f;
}

describe('features round trips', () => {
  it('Error Recovery, Interrupt Coalescing, Interrupt Vector Configuration, Write Atomicity, Async Event Configuration', async () => {
    const f = await up();
    const h = f.host;
    const cases: [number, number, number][] = [
      [0x05, 0x1_0064, 0x1_0064], // DULBE + TLER
      [0x08, 0x0a05, 0x0a05],
      [0x09, 0x1_0002, 0x1_0002], // IV 2, coalescing disable
      [0x0a, 1, 1],
      [0x0b, 1 << 8, 1 << 8],
    ];
    for (const [fid, set, want] of cases) {
      expect((await h.setFeature(fid, set)).status).toBe(0);
      expect((await h.getFeature(fid, 0, set & 0xffff)).dw0).toBe(want);
    }
    expect((await h.setFeature(0x09, 7)).sc).toBe(0x02); // vector beyond the granted queues
    expect((await h.getFeature(0x0c)).sc).toBe(0x02); // APST not supported
  });
});

describe('logs', () => {
  it('the Error Information log keeps the newest 16 entries', async () => {
    const f = await up();
    for (let i = 0; i < 20; i++) await f.host.a.submit(sqe(0xc5));
    const log = (await f.host.getLog(0x01, 64 * 17)).data;
    expect(log.readBigUInt64LE(0)).toBe(20n);
    expect(log.readBigUInt64LE(64 * 15)).toBe(5n);
    expect(log.readBigUInt64LE(64 * 16)).toBe(0n); // past ELPE+1 entries: zero
  });

  it('the Changed Namespace List holds exactly 1024 NSIDs; the 1025th turns it into FFFFFFFFh', async () => {
    const f = await up({ maxNamespaces: 2048 });
    const b = new MallocBdev({ name: 'tiny', blockSize: 512, numBlocks: 1 });
    for (let n = 2; n <= 1025; n++) f.sub.addNamespace({ bdev: b, nsid: n }); // 1024 changes
    const full = (await f.host.getLog(0x04, 4096, 0, true)).data; // RAE=1: keep the list
    expect(full.readUInt32LE(0)).toBe(2);
    expect(full.readUInt32LE(4092)).toBe(1025);
    f.sub.addNamespace({ bdev: b, nsid: 1026 }); // the 1025th
    const over = (await f.host.getLog(0x04, 4096)).data;
    expect(over.readUInt32LE(0)).toBe(0xffffffff);
    expect(over.subarray(4).every((x) => x === 0)).toBe(true);
  });

  it('the Changed Namespace List reports FFFFFFFFh after more than 1024 changes', async () => {
    const f = await up({ maxNamespaces: 2048 });
    const b = new MallocBdev({ name: 'tiny', blockSize: 512, numBlocks: 1 });
    for (let n = 2; n <= 1026; n++) f.sub.addNamespace({ bdev: b, nsid: n });
    const log = (await f.host.getLog(0x04, 4096)).data;
    expect(log.readUInt32LE(0)).toBe(0xffffffff);
    expect(log.readUInt32LE(4)).toBe(0);
    const list = (await f.host.getLog(0x04, 4096)).data; // cleared by the read above (RAE=0)
    expect(list.readUInt32LE(0)).toBe(0);
    const active = (await f.host.identify(2, 0)).data;
    expect(active.readUInt32LE(4092)).toBe(1024); // the list holds 1024 entries: 1..1024
  });
});
