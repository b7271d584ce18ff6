import { describe, it, expect, afterEach } from 'vitest';
import { ErrorBdev, MallocBdev, type Bdev, type BdevCallback, type Target } from '../src/index.js';
import { ioCmd, sqe, settle } from './harness.js';
import { fixture, type Fixture } from './setup.js';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function up(blockSize = 512, numBlocks = 4096): Promise<Fixture> {
  const f = await fixture({}, blockSize, numBlocks);
  target = f.target;
  await f.host.bringUp(2);
  return f;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff;
  return b;
}

/** Wraps a bdev and records the FUA flag of each write. */
class FuaRecorder extends MallocBdev {
  readonly fua: boolean[] = [];
  override writev<C>(iov: readonly Uint8Array[], iovcnt: number, offset: number, length: number, fua: boolean, cb: BdevCallback<C>, ctx: C): void {
    this.fua.push(fua);
    super.writev(iov, iovcnt, offset, length, fua, cb, ctx);
  }
}

describe('Read / Write', () => {
  it('round-trips data with 512 and 4096-byte blocks, in one or many iovecs', async () => {
    for (const bs of [512, 4096]) {
      const f = await up(bs, 256);
      const data = pattern(bs * 8, bs);
      expect((await f.host.write(1, 1, 3, data, bs, false, 1000)).status).toBe(0);
      const r = await f.host.read(2, 1, 3, 8, bs, 700);
      expect(r.status).toBe(0);
      expect(r.data.equals(data)).toBe(true);
      // The last block of the namespace is addressable.
      expect((await f.host.write(1, 1, 255, pattern(bs, 1), bs)).status).toBe(0);
      await f.target.close();
      target = undefined;
    }
  });

  it('FUA reaches the bdev; a disabled write cache makes every write FUA', async () => {
    const f = await up();
    const rec = new FuaRecorder({ name: 'rec', blockSize: 512, numBlocks: 64 });
    f.sub.addNamespace({ bdev: rec, nsid: 2 });
    await f.host.write(1, 2, 0, pattern(512, 0), 512, false);
    await f.host.write(1, 2, 0, pattern(512, 0), 512, true);
    await f.host.setFeature(0x06, 0);
    await f.host.write(1, 2, 0, pattern(512, 0), 512, false);
    expect(rec.fua).toEqual([false, true, true]);
  });

  it('fails with LBA Out of Range, Invalid Namespace, Invalid Field (MDTS) and Data SGL Length Invalid', async () => {
    const f = await up(512, 1000);
    const q = f.host.io[1]!;
    const oor = await q.submit(ioCmd(0x02, 1, 999, 2), { readLen: 1024 });
    expect([oor.sct, oor.sc, oor.dnr]).toEqual([0, 0x80, true]);
    const oor2 = await q.submit(ioCmd(0x01, 1, 2 ** 40, 1), { data: Buffer.alloc(512) });
    expect(oor2.sc).toBe(0x80);
    const badNs = await q.submit(ioCmd(0x02, 9, 0, 1), { readLen: 512 });
    expect([badNs.sct, badNs.sc]).toEqual([0, 0x0b]);
    const big = await q.submit(ioCmd(0x02, 1, 0, 257), { readLen: 257 * 512 }); // > 128 KiB
    expect([big.sct, big.sc]).toEqual([0, 0x02]);
    const short = await q.submit(ioCmd(0x01, 1, 0, 4), { data: Buffer.alloc(1024) });
    expect([short.sct, short.sc]).toEqual([0, 0x0f]);
    const unsupported = await q.submit(ioCmd(0x04, 1, 0, 1)); // Write Uncorrectable
    expect([unsupported.sct, unsupported.sc]).toEqual([0, 0x01]);
    const fused = ioCmd(0x02, 1, 0, 1);
    fused[1] = 1;
    expect((await q.submit(fused, { readLen: 512 })).sc).toBe(0x02);
  });

  it('Namespace Not Ready without DNR while a namespace is not ready', async () => {
    const f = await up();
    f.sub.getNamespace(1)!.ready = false;
    const r = await f.host.read(1, 1, 0, 1, 512);
    expect([r.sct, r.sc, r.dnr]).toEqual([0, 0x82, false]);
    f.sub.getNamespace(1)!.ready = true;
    expect((await f.host.read(1, 1, 0, 1, 512)).status).toBe(0);
  });
});

describe('Flush, Write Zeroes, Dataset Management, Compare', () => {
  it('Flush one namespace and all (NSID FFFFFFFFh); Invalid Namespace for an unknown one', async () => {
    const f = await up();
    const q = f.host.io[1]!;
    expect((await q.submit(sqe(0x00, 1))).status).toBe(0);
    expect((await q.submit(sqe(0x00, 0xffffffff))).status).toBe(0);
    expect((await q.submit(sqe(0x00, 4))).sc).toBe(0x0b);
  });

  it('Write Zeroes zeroes (with and without DEAC) and checks the range', async () => {
    const f = await up();
    await f.host.write(1, 1, 0, pattern(512 * 16, 3), 512);
    const q = f.host.io[1]!;
    expect((await q.submit(ioCmd(0x08, 1, 2, 3))).status).toBe(0);
    expect((await q.submit(ioCmd(0x08, 1, 8, 2, 1 << 25))).status).toBe(0);
    expect((await q.submit(ioCmd(0x08, 1, 12, 1, 1 << 30))).status).toBe(0); // FUA
    const r = (await f.host.read(1, 1, 0, 16, 512)).data;
    const expected = pattern(512 * 16, 3);
    expected.fill(0, 2 * 512, 5 * 512);
    expected.fill(0, 8 * 512, 10 * 512);
    expected.fill(0, 12 * 512, 13 * 512);
    expect(r.equals(expected)).toBe(true);
    expect((await q.submit(ioCmd(0x08, 1, 4095, 2))).sc).toBe(0x80);
  });

  it('Dataset Management deallocates ranges (AD), ignores hints, checks every range first', async () => {
    const f = await up();
    await f.host.write(1, 1, 0, pattern(512 * 32, 5), 512);
    const ranges = Buffer.alloc(32);
    ranges.writeUInt32LE(4, 4); // 4 blocks
    ranges.writeBigUInt64LE(2n, 8); // at LBA 2
    ranges.writeUInt32LE(2, 16 + 4);
    ranges.writeBigUInt64LE(20n, 16 + 8);
    const q = f.host.io[1]!;
    const dsm = (nr: number, ad: boolean): Buffer => sqe(0x09, 1, { 10: nr - 1, 11: ad ? 1 << 2 : 0 });
    expect((await q.submit(dsm(2, false), { data: ranges })).status).toBe(0);
    expect((await f.host.read(1, 1, 0, 32, 512)).data.equals(pattern(512 * 32, 5))).toBe(true);
    expect((await q.submit(dsm(2, true), { data: ranges })).status).toBe(0);
    const expected = pattern(512 * 32, 5);
    expected.fill(0, 2 * 512, 6 * 512);
    expected.fill(0, 20 * 512, 22 * 512);
    expect((await f.host.read(1, 1, 0, 32, 512)).data.equals(expected)).toBe(true);
    const bad = Buffer.from(ranges);
    bad.writeBigUInt64LE(4095n, 16 + 8); // second range crosses the end
    await f.host.write(1, 1, 0, pattern(512 * 32, 6), 512);
    expect((await q.submit(dsm(2, true), { data: bad })).sc).toBe(0x80);
    expect((await f.host.read(1, 1, 0, 32, 512)).data.equals(pattern(512 * 32, 6))).toBe(true); // nothing deallocated
    expect((await q.submit(dsm(2, true), { data: ranges.subarray(0, 16) })).sc).toBe(0x0f);
  });

  it('Compare succeeds on equal data and fails with Compare Failure otherwise', async () => {
    const f = await up();
    const data = pattern(2048, 9);
    await f.host.write(1, 1, 100, data, 512);
    const q = f.host.io[1]!;
    expect((await q.submit(ioCmd(0x05, 1, 100, 4), { data, iovSplit: 300 })).status).toBe(0);
    const other = Buffer.from(data);
    other[2047] = other[2047]! ^ 1;
    const r = await q.submit(ioCmd(0x05, 1, 100, 4), { data: other });
    expect([r.sct, r.sc]).toEqual([2, 0x85]);
    expect((await q.submit(ioCmd(0x05, 1, 4095, 2), { data: Buffer.alloc(1024) })).sc).toBe(0x80);
  });
});

describe('bdev errors, pause, hot remove, disconnect', () => {
  function withErrorNs(f: Fixture): ErrorBdev {
    const base = new MallocBdev({ name: 'base', blockSize: 512, numBlocks: 128 });
    const eb = new ErrorBdev(base);
    f.sub.addNamespace({ bdev: eb, nsid: 2 });
    return eb;
  }

  it('an injected bdev failure becomes the CQE status', async () => {
    const f = await up();
    const eb = withErrorNs(f);
    eb.inject({ op: 'read', action: 'fail', count: 1 });
    const r = await f.host.read(1, 2, 0, 1, 512);
    expect([r.sct, r.sc]).toEqual([2, 0x81]);
    eb.inject({ op: 'write', action: 'fail', status: 0x0006, count: 1 });
    const w = await f.host.write(1, 2, 0, Buffer.alloc(512), 512);
    expect([w.sct, w.sc]).toEqual([0, 0x06]);
    expect((await f.host.read(1, 2, 0, 1, 512)).status).toBe(0);
  });

  it('pause waits for I/O in flight and holds new I/O until resume', async () => {
    const f = await up();
    const eb = withErrorNs(f);
    eb.inject({ op: 'write', action: 'delay', delayMs: 250, count: 1 });
    const w = f.host.write(1, 2, 0, pattern(512, 1), 512);
    await settle();
    expect(f.sub.ioInflight).toBe(1);
    let paused = false;
    const pausing = f.sub.pause().then(() => {
      paused = true;
    });
    await settle();
    expect(paused).toBe(false); // the delayed write is still in flight
    await pausing;
    expect(f.sub.ioInflight).toBe(0);
    expect(f.sub.state).toBe('paused');
    let readDone = false;
    const r = f.host.read(2, 2, 0, 1, 512).then((c) => {
      readDone = true;
      return c;
    });
    // Admin commands still run while paused.
    expect((await f.host.a.submit(sqe(0x18))).status).toBe(0);
    await settle();
    expect(readDone).toBe(false);
    f.sub.resume();
    const rc = await r;
    expect(rc.status).toBe(0);
    expect(rc.data.equals(pattern(512, 1))).toBe(true);
    expect((await w).status).toBe(0);
  });

  it('removing a namespace under I/O lets that I/O finish, fails new I/O, and raises the AER', async () => {
    const f = await up();
    const eb = withErrorNs(f);
    await f.host.setFeature(0x0b, 1 << 8);
    await f.host.getLog(0x04, 4096); // clear the add event
    const aer = f.host.a.submit(sqe(0x0c));
    eb.inject({ op: 'read', action: 'delay', delayMs: 250, count: 1 });
    const inflight = f.host.read(1, 2, 0, 1, 512);
    await settle();
    let removed = false;
    const removal = f.sub.removeNamespace(2).then(() => {
      removed = true;
    });
    const after = await f.host.read(1, 2, 0, 1, 512);
    expect([after.sct, after.sc]).toEqual([0, 0x0b]);
    expect(removed).toBe(false);
    expect((await inflight).status).toBe(0);
    await removal;
    expect((await aer).dw0).toBe(0x040002);
  });

  it('Abort of an I/O already in the bdev: not aborted (DW0 bit 0 = 1), the I/O completes normally', async () => {
    const f = await up();
    const eb = withErrorNs(f);
    eb.inject({ op: 'write', action: 'drop', count: 1 });
    const w = ioCmd(0x01, 2, 0, 1);
    w.writeUInt16LE(0x4321, 2);
    const pending = f.host.io[1]!.submit(w, { data: pattern(512, 4), keepCid: true });
    await settle();
    const ab = await f.host.a.submit(sqe(0x08, 0, { 10: (0x4321 << 16) | 1 }));
    expect([ab.status, ab.dw0 & 1]).toEqual([0, 1]);
    eb.releaseDropped();
    const r = await pending;
    expect([r.status, r.cid]).toEqual([0, 0x4321]);
    expect((await f.host.read(1, 2, 0, 1, 512)).data.equals(pattern(512, 4))).toBe(true);
  });

  it('a bdev removed from the target removes its namespaces', async () => {
    const f = await up();
    const b = new MallocBdev({ name: 'gone', blockSize: 512, numBlocks: 8 });
    f.target.addBdev(b);
    f.sub.addNamespace({ bdev: b, nsid: 5 });
    await f.target.removeBdev('gone');
    expect(f.sub.getNamespace(5)).toBeUndefined();
    expect((await f.host.read(1, 5, 0, 1, 512)).sc).toBe(0x0b);
  });

  it('after the wire closes, I/O still in the bdev never reaches the transport', async () => {
    const f = await up();
    const eb = withErrorNs(f);
    eb.inject({ op: 'read', action: 'drop', count: 1 });
    let completed = false;
    void f.host.read(1, 2, 0, 1, 512).then(() => {
      completed = true;
    });
    await settle();
    f.host.io[1]!.wireClosed();
    eb.releaseDropped();
    await settle();
    expect(completed).toBe(false);
    expect(f.sub.ioInflight).toBe(0);
  });

  it('I/O against a disconnected controller is refused', async () => {
    const f = await up();
    const io1 = f.host.io[1]!;
    f.host.a.wireClosed();
    await settle();
    expect(io1.closed).toBe(true);
  });
});

describe('bdev interface used by namespaces', () => {
  it('exposes size and block size through the namespace', async () => {
    const f = await up(4096, 77);
    const ns = f.sub.getNamespace(1)!;
    const b: Bdev = ns.bdev;
    expect([ns.blockSize, ns.numBlocks, b.blockSize]).toEqual([4096, 77, 4096]);
  });
});
