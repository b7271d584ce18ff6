import { describe, it, expect, afterEach } from 'vitest';
import { MallocBdev, type Target } from '../src/index.js';
import { LOOP_ADDR, TestHost, sqe, settle } from './harness.js';
import { NQN, fixture } from './setup.js';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('run-time changes', () => {
  it('removing a subsystem tears its controllers down and drops it from discovery', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    await f.target.removeSubsystem(NQN);
    await settle();
    expect(f.host.a.closeReasons).toContain('controller-destroyed');
    expect(f.target.getSubsystem(NQN)).toBeUndefined();
    const again = await new TestHost(f.tr, NQN).connectAdmin();
    expect([again.sct, again.sc]).toEqual([1, 0x82]);
  });

  it('stopping a listener closes controllers that came through it', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    await f.target.stopListen(LOOP_ADDR);
    await settle();
    expect(f.host.a.closed).toBe(true);
    expect(f.sub.listeners).toEqual([]);
    expect(f.tr.listening).toEqual([]);
  });

  it('stop → start of a subsystem refuses and then accepts Connects', async () => {
    const f = await fixture();
    target = f.target;
    await f.sub.stop();
    expect((await f.host.connectAdmin()).sc).toBe(0x82);
    f.sub.start();
    expect((await new TestHost(f.tr, NQN).connectAdmin()).status).toBe(0);
  });

  it('Abort removes an I/O waiting in a paused subsystem', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    await f.sub.pause();
    const read = sqe(0x02, 1, { 12: 0 });
    read.writeUInt16LE(0x55, 2);
    const waiting = f.host.io[1]!.submit(read, { readLen: 512, keepCid: true });
    await settle();
    const ab = await f.host.a.submit(sqe(0x08, 0, { 10: (0x55 << 16) | 1 }));
    expect([ab.status, ab.dw0]).toEqual([0, 0]);
    const r = await waiting;
    expect([r.sct, r.sc]).toEqual([0, 0x07]);
    f.sub.resume();
    expect((await f.host.read(1, 1, 0, 1, 512)).status).toBe(0);
  });

  it('ANA: inaccessible / persistent loss / change states fail I/O with path statuses and raise the ANA AER', async () => {
    const f = await fixture({ anaReporting: true });
    target = f.target;
    await f.host.bringUp(1);
    await f.host.setFeature(0x0b, 1 << 11);
    const aer = f.host.a.submit(sqe(0x0c));
    f.sub.setAnaState(1, 'inaccessible');
    expect((await aer).dw0).toBe(0x02 | (0x03 << 8) | (0x0c << 16));
    const r = await f.host.read(1, 1, 0, 1, 512);
    expect([r.sct, r.sc, r.dnr]).toEqual([3, 0x02, false]);
    f.sub.setAnaState(1, 'persistent-loss');
    expect((await f.host.read(1, 1, 0, 1, 512)).sc).toBe(0x01);
    f.sub.setAnaState(1, 'change');
    expect((await f.host.read(1, 1, 0, 1, 512)).sc).toBe(0x03);
    f.sub.setAnaState(1, 'non-optimized');
    expect((await f.host.read(1, 1, 0, 1, 512)).status).toBe(0);
    const ns = (await f.host.identify(0, 1)).data;
    expect(ns.readUInt32LE(92)).toBe(1); // ANAGRPID
  });

  it('static controller model is reported in FCATT bit 0', async () => {
    const f = await fixture({ cntlidModel: 'static' });
    target = f.target;
    await f.host.connectAdmin(0, 0xfffe);
    await f.host.enable();
    expect((await f.host.identify(1)).data[1802]! & 1).toBe(1);
  });

  it('hosts and namespaces come and go while connected', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    const b = new MallocBdev({ name: 'late', blockSize: 512, numBlocks: 16 });
    f.sub.addNamespace({ bdev: b, nsid: 7 });
    expect((await f.host.write(1, 7, 15, Buffer.alloc(512, 3), 512)).status).toBe(0);
    expect((await f.host.read(1, 7, 15, 1, 512)).data[0]).toBe(3);
    await f.sub.removeNamespace(7);
    expect((await f.host.read(1, 7, 15, 1, 512)).sc).toBe(0x0b);
    expect(() => f.sub.addNamespace({ bdev: b, nsid: 99 })).toThrow(/out of range/);
    expect(() => f.sub.addNamespace({ bdev: b, nsid: 1 })).toThrow(/already in use/);
  });
});

describe('shutdown with lost I/O', () => {
  it('stop() gives up waiting for a bdev that never completes after the drain timeout', async () => {
    const { ErrorBdev } = await import('../src/index.js');
    const f = await fixture();
    target = f.target;
    const eb = new ErrorBdev(new MallocBdev({ name: 'b', blockSize: 512, numBlocks: 8 }));
    f.sub.addNamespace({ bdev: eb, nsid: 2 });
    await f.host.bringUp(1);
    eb.inject({ op: 'read', action: 'drop' });
    void f.host.read(1, 2, 0, 1, 512);
    await settle();
    expect(f.sub.ioInflight).toBe(1);
    await f.sub.stop(20);
    expect(f.sub.state).toBe('inactive');
  });
});

describe('management views', () => {
  it('describes subsystems like SPDK nvmf_get_subsystems and validates transport options', async () => {
    const f = await fixture({ serial: 'S1', model: 'M1', hosts: ['nqn.2026-11.org.example:h1'] });
    target = f.target;
    const [disc, s] = f.target.describeSubsystems();
    expect(disc?.subtype).toBe('Discovery');
    expect(s).toMatchObject({
      nqn: NQN,
      subtype: 'NVMe',
      state: 'active',
      allow_any_host: true,
      hosts: [{ nqn: 'nqn.2026-11.org.example:h1' }],
      serial_number: 'S1',
      model_number: 'M1',
      listen_addresses: [{ trtype: 'test', adrfam: 'intra-host', traddr: 'loop0', trsvcid: '' }],
    });
    expect(s?.namespaces).toHaveLength(1);
    expect(s?.namespaces[0]).toMatchObject({ nsid: 1, bdev_name: 'Malloc0' });
    const { TestTransport } = await import('./harness.js');
    const bad = new TestTransport({ maxQueueDepth: 1 });
    await expect(f.target.addTransport(Object.assign(bad, { trtype: 'bad' }))).rejects.toThrow(/maxQueueDepth/);
  });
});

describe('poll groups', () => {
  it('spreads qpairs round robin and counts submitted commands', async () => {
    const { Target: T, MallocBdev: M } = await import('../src/index.js');
    const { TestTransport: TT } = await import('./harness.js');
    const t = new T({ pollGroups: 2 });
    target = t;
    const tr = new TT();
    await t.addTransport(tr);
    const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
    s.addNamespace({ bdev: new M({ name: 'm', blockSize: 512, numBlocks: 8 }) });
    await s.addListener(LOOP_ADDR);
    s.start();
    const h = new TestHost(tr, NQN);
    await h.bringUp(3);
    const stats = t.getStats();
    expect(stats.pollGroups.map((g) => g.qpairs)).toEqual([2, 2]);
    const submitted = stats.pollGroups.reduce((n, g) => n + g.submitted, 0);
    expect(submitted).toBeGreaterThanOrEqual(8); // connects, properties, identify, set features
    expect(stats.subsystems[0]).toMatchObject({ nqn: NQN, state: 'active', controllers: 1, namespaces: 1, ioInflight: 0 });
  });
});
