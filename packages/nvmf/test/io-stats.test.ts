/** I/O statistics per qpair, controller and subsystem: counts, bytes, errors, latency by Little's law. */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorBdev, IoCounters } from '../src/index.js';
import { fixture, type Fixture } from './setup.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.target.close();
  f = undefined;
});

describe('I/O statistics', () => {
  it('counts reads, writes, other commands, bytes and errors on the qpair, its controller and subsystem', async () => {
    f = await fixture();
    const { host, sub } = f;
    await host.bringUp(2);
    await host.write(1, 1, 0, Buffer.alloc(4096, 1), 512);
    await host.read(1, 1, 0, 8, 512);
    await host.read(2, 1, 8, 2, 512);
    // Out of range: an error, counted as a read with no bytes.
    expect((await host.read(2, 1, 1 << 20, 1, 512)).status).not.toBe(0);
    const s = sub.ioStats();
    expect([s.readOps, s.writeOps, s.otherOps, s.readBytes, s.writeBytes, s.errors]).toEqual([3, 1, 0, 10 * 512, 4096, 1]);
    const c = [...sub.controllers.values()][0];
    expect(c?.ioStats().ops).toBe(4);
    expect(c?.qpairs[1]?.io.ops).toBe(2);
    expect(c?.qpairs[2]?.io.ops).toBe(2);
    // The admin queue's commands are not I/O.
    expect(c?.qpairs[0]?.io.ops).toBe(0);
  });

  it('keeps the counts of controllers that have gone', async () => {
    f = await fixture();
    await f.host.bringUp(1);
    await f.host.write(1, 1, 0, Buffer.alloc(512, 2), 512);
    for (const c of [...f.sub.controllers.values()]) c.destroy('controller-destroyed');
    expect(f.sub.controllers.size).toBe(0);
    expect(f.sub.ioStats().writeOps).toBe(1);
  });

  it('sums latency as the commands in flight integrated over time (Little\'s law)', async () => {
    f = await fixture();
    const { host, target, sub, bdev } = f;
    // A bdev that holds reads until released, so they are in flight when sampled.
    const slow = new ErrorBdev(bdev, { name: 'Slow0' });
    target.addBdev(slow);
    sub.addNamespace({ bdev: slow, nsid: 2 });
    await host.bringUp(1);
    slow.inject({ op: 'read', action: 'drop', count: 2 });
    const r1 = host.read(1, 2, 0, 1, 512);
    const r2 = host.read(1, 2, 1, 1, 512);
    await new Promise((r) => setImmediate(r));
    target.sampleInflight(1000); // 2 in flight for 1000 us
    slow.releaseDropped();
    await Promise.all([r1, r2]);
    target.sampleInflight(1000); // nothing in flight: no change
    const s = sub.ioStats();
    expect(s.latencyUs).toBe(2000);
    expect(s.meanLatencyUs).toBe(1000);
  });

  it('adds counters', () => {
    const a = new IoCounters();
    a.readOps = 2;
    a.latencyUs = 10;
    const b = new IoCounters().add(a).add(a);
    expect([b.readOps, b.ops, b.latencyUs, b.meanLatencyUs]).toEqual([4, 4, 20, 5]);
  });
});

describe('the sampler\'s idle signal', () => {
  it('reports busy only while I/O runs, and wakes a waiting callback once on the next I/O', async () => {
    f = await fixture();
    const { host, target } = f;
    await host.bringUp(1);
    target.sampleInflight(0); // the I/O queue's Connect counts as a command once
    let woken = 0;
    target.onNextIo(() => woken++);
    // Admin commands are not I/O: no wake-up, and the target reads as idle.
    expect((await host.identify(1)).status).toBe(0);
    expect(woken).toBe(0);
    expect(target.sampleInflight(10_000)).toBe(false);
    await host.read(1, 1, 0, 1, 512);
    expect(woken).toBe(1);
    // I/O since the last sample: still busy once, then idle.
    expect(target.sampleInflight(10_000)).toBe(true);
    expect(target.sampleInflight(10_000)).toBe(false);
    // One wake-up per onNextIo.
    await host.read(1, 1, 0, 1, 512);
    expect(woken).toBe(1);
    target.onNextIo(() => woken++);
    await host.write(1, 1, 0, Buffer.alloc(512), 512);
    expect(woken).toBe(2);
  });
});
