import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { MallocBdev, Target } from '../src/index.js';
import { LOOP_ADDR, TestHost, TestTransport } from './harness.js';

const NQN = 'nqn.2026-11.io.nvmu:test';

describe('loopback bring-up like a Linux host', () => {
  let target: Target;
  let tr: TestTransport;
  beforeEach(async () => {
    target = new Target();
    tr = new TestTransport();
    await target.addTransport(tr);
    const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true, serial: 'SN1', model: 'nvmu test' });
    const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 2048 });
    target.addBdev(bdev);
    sub.addNamespace({ bdev });
    await sub.addListener(LOOP_ADDR);
    sub.start();
  });
  afterEach(async () => {
    await target.close();
  });

  it('connects, enables, identifies, creates I/O queues, does I/O and shuts down', async () => {
    const host = new TestHost(tr, NQN);
    await host.bringUp(2);
    expect(host.cntlid).toBeGreaterThan(0);
    const id = await host.identify(1);
    expect(id.data.readUInt16LE(78)).toBe(host.cntlid); // CNTLID equals Connect's
    expect(id.data.readUInt16LE(514)).toBeGreaterThan(0); // MAXCMD
    expect(id.data.readUInt16LE(320)).toBeGreaterThan(0); // KAS
    expect(id.data.readUInt32LE(1792)).toBeGreaterThanOrEqual(4); // IOCCSZ
    expect(id.data.readUInt32LE(1796)).toBeGreaterThanOrEqual(1); // IORCSZ
    expect(id.data.readUInt16LE(1800)).toBe(0); // ICDOFF
    expect(id.data.readUInt32LE(536) & 3).toBe(1); // SGLS
    expect(id.data[111]).toBe(1); // CNTRLTYPE I/O
    expect(id.data.toString('ascii', 768, 768 + NQN.length)).toBe(NQN);
    const payload = Buffer.alloc(4096);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const w = await host.write(1, 1, 10, payload, 512);
    expect(w.status).toBe(0);
    const r = await host.read(2, 1, 10, 8, 512);
    expect(r.status).toBe(0);
    expect(r.data.equals(payload)).toBe(true);
    await host.shutdown();
  });
});
