/**
 * The loopback transport against the real @nvmu/nvmf core: first through the raw HostQPair
 * contract (no client), then with @nvmu/client on top, as in the README.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type HostQPairHandler, type HostTransport } from '@nvmu/client';
import { MallocBdev, Target, silentLogger, transportIdentifyFields, type ListenAddress } from '@nvmu/nvmf';
import { LoopbackDisconnectedError, LoopbackTargetTransport } from '../src/index.js';
import { loopbackHostTransportFactory } from '../src/host.js';

const NQN = 'nqn.2026-01.io.nvmu:loopback-test';
const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-4909-8807-060504030201';
let n = 0;
let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function start(opts: ConstructorParameters<typeof LoopbackTargetTransport>[0] = {}): Promise<{ loopback: LoopbackTargetTransport; addr: ListenAddress }> {
  target = new Target();
  const loopback = new LoopbackTargetTransport(opts);
  await target.addTransport(loopback);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 1024 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const addr: ListenAddress = { trtype: 'loopback', adrfam: 'intra-host', traddr: `lb-test-${process.pid}-${n++}`, trsvcid: '' };
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();
  return { loopback, addr };
}

/** Records completions (copied: the view is only valid during the call). */
class Recorder implements HostQPairHandler {
  readonly cqes: Buffer[] = [];
  disconnectedWith: Error | undefined | null = null;
  inSubmit = false;
  completedInsideSubmit = false;
  private waiter: (() => void) | undefined;
  completion(cqe: Uint8Array): void {
    if (this.inSubmit) this.completedInsideSubmit = true;
    this.cqes.push(Buffer.from(cqe));
    this.waiter?.();
  }
  disconnected(error: Error | undefined): void {
    this.disconnectedWith = error;
    this.waiter?.();
  }
  next(): Promise<void> {
    return new Promise((r) => (this.waiter = r));
  }
}

function connectCapsule(qid: number, sqsize: number, cntlid: number): { sqe: Buffer; data: Buffer } {
  const sqe = Buffer.alloc(64);
  sqe[0] = 0x7f;
  sqe.writeUInt16LE(qid === 0 ? 1 : 2, 2); // cid
  sqe[4] = 0x01; // Connect
  sqe.writeUInt16LE(qid, 42);
  sqe.writeUInt16LE(sqsize, 44);
  const data = Buffer.alloc(1024);
  data.writeUInt16LE(cntlid, 16);
  data.write(NQN, 256, 'ascii');
  data.write(HOSTNQN, 512, 'ascii');
  return { sqe, data };
}

async function openHost(traddr: string): Promise<HostTransport> {
  return loopbackHostTransportFactory.open({ trtype: 'loopback', traddr }, { hostnqn: HOSTNQN, hostid: new Uint8Array(16), connectTimeoutMs: 100 });
}

describe('loopback through the HostQPair contract', () => {
  it('carries Connect to the core and its CQE back, never from inside submit', async () => {
    const { addr } = await start();
    const host = await openHost(addr.traddr);
    expect(host.kind).toBe('fabrics');
    expect(host.trid.adrfam).toBe('intra-host');
    expect(host.maxTransferSize).toBe(128 * 1024);
    const rec = new Recorder();
    const qp = await host.connectQPair({ qid: 0, queueSize: 32, maxInCapsuleDataSize: 8192, handler: rec });
    expect(qp.inCapsuleDataSize).toBe(8192);
    const { sqe, data } = connectCapsule(0, 31, 0xffff);
    const got = rec.next();
    rec.inSubmit = true;
    qp.submit(sqe, data, 0, 1024, 'h2c');
    rec.inSubmit = false;
    await got;
    expect(rec.completedInsideSubmit).toBe(false);
    const cqe = rec.cqes[0]!;
    expect(cqe.readUInt16LE(12)).toBe(1); // CID echoed
    expect(cqe.readUInt16LE(14) >>> 1).toBe(0); // success
    expect(cqe.readUInt16LE(0)).toBeGreaterThan(0); // cntlid
    await host.close();
  });

  it('reads into a window of the caller buffer without copying through anything else', async () => {
    const { addr } = await start();
    const host = await openHost(addr.traddr);
    const admin = new Recorder();
    const aq = await host.connectQPair({ qid: 0, queueSize: 32, maxInCapsuleDataSize: 8192, handler: admin });
    let c = connectCapsule(0, 31, 0xffff);
    let w = admin.next();
    aq.submit(c.sqe, c.data, 0, 1024, 'h2c');
    await w;
    const cntlid = admin.cqes[0]!.readUInt16LE(0);
    // Enable the controller: Property Set CC = EN | IOSQES 6 | IOCQES 4.
    const ps = Buffer.alloc(64);
    ps[0] = 0x7f;
    ps.writeUInt16LE(3, 2);
    ps[4] = 0x00;
    ps.writeUInt32LE(0x14, 44);
    ps.writeUInt32LE(0x00460001, 48);
    w = admin.next();
    aq.submit(ps, undefined, 0, 0, 'none');
    await w;
    expect(admin.cqes[1]!.readUInt16LE(14) >>> 1).toBe(0);

    const io = new Recorder();
    const iq = await host.connectQPair({ qid: 1, queueSize: 16, maxInCapsuleDataSize: 8192, handler: io });
    c = connectCapsule(1, 15, cntlid);
    w = io.next();
    iq.submit(c.sqe, c.data, 0, 1024, 'h2c');
    await w;
    expect(io.cqes[0]!.readUInt16LE(14) >>> 1).toBe(0);

    const block = Buffer.alloc(512);
    for (let i = 0; i < 512; i++) block[i] = (i * 7) & 0xff;
    const wr = Buffer.alloc(64);
    wr[0] = 0x01;
    wr.writeUInt16LE(5, 2);
    wr.writeUInt32LE(1, 4);
    wr.writeUInt32LE(10, 40);
    w = io.next();
    iq.submit(wr, block, 0, 512, 'h2c');
    await w;
    expect(io.cqes[1]!.readUInt16LE(14) >>> 1).toBe(0);

    const big = Buffer.alloc(2048, 0xee);
    const rd = Buffer.from(wr);
    rd[0] = 0x02;
    rd.writeUInt16LE(6, 2);
    w = io.next();
    iq.submit(rd, big, 1024, 512, 'c2h');
    await w;
    expect(io.cqes[2]!.readUInt16LE(14) >>> 1).toBe(0);
    expect(big.subarray(1024, 1536).equals(block)).toBe(true);
    expect(big.subarray(0, 1024).every((b) => b === 0xee)).toBe(true);
    expect(big.subarray(1536).every((b) => b === 0xee)).toBe(true);

    // Disconnect: its CQE arrives, then the connection closes; a command sent while the target
    // hangs up is lost (no throw, no completion) and the host hears `disconnected`.
    const dc = Buffer.alloc(64);
    dc[0] = 0x7f;
    dc.writeUInt16LE(7, 2);
    dc[4] = 0x08;
    w = io.next();
    iq.submit(dc, undefined, 0, 0, 'none');
    expect(() => { iq.submit(rd, big, 0, 512, 'c2h'); }).not.toThrow(); // the target is hanging up
    await w;
    expect(io.cqes[3]!.readUInt16LE(12)).toBe(7);
    expect(io.cqes[3]!.readUInt16LE(14) >>> 1).toBe(0);
    expect(io.disconnectedWith).toBeInstanceOf(LoopbackDisconnectedError);
    expect((io.disconnectedWith as LoopbackDisconnectedError).reason).toBe('disconnect');
    expect(io.cqes.length).toBe(4);
    expect(() => { iq.submit(rd, big, 0, 512, 'c2h'); }).toThrow(/closed/);
    await host.close();
  });

  it('tells the host when the target closes or the wire is dropped, and not after host close', async () => {
    const { loopback, addr } = await start();
    const host = await openHost(addr.traddr);
    const a = new Recorder();
    const b = new Recorder();
    const c = new Recorder();
    await host.connectQPair({ qid: 0, queueSize: 8, maxInCapsuleDataSize: 0, handler: a });
    const qb = await host.connectQPair({ qid: 0, queueSize: 8, maxInCapsuleDataSize: 0, handler: b });
    const qc = await host.connectQPair({ qid: 0, queueSize: 8, maxInCapsuleDataSize: 0, handler: c });
    expect(loopback.connectionCount).toBe(3);
    await qc.close();
    expect(loopback.connectionCount).toBe(2);
    expect(loopback.dropConnections(addr.traddr)).toBe(2);
    expect(a.disconnectedWith).toBeInstanceOf(LoopbackDisconnectedError);
    expect((a.disconnectedWith as LoopbackDisconnectedError).reason).toBe('dropped');
    expect(b.disconnectedWith).toBeInstanceOf(LoopbackDisconnectedError);
    expect(c.disconnectedWith).toBeNull();
    expect(() => { qb.submit(Buffer.alloc(64), undefined, 0, 0, 'none'); }).toThrow(/closed/);

    const d = new Recorder();
    await host.connectQPair({ qid: 0, queueSize: 8, maxInCapsuleDataSize: 0, handler: d });
    await target!.close();
    target = undefined;
    expect((d.disconnectedWith as LoopbackDisconnectedError).reason).toBe('target-shutdown');
    await expect(host.connectQPair({ qid: 0, queueSize: 8, maxInCapsuleDataSize: 0, handler: d })).rejects.toThrow(/no loopback listener/);
  });

  it('drops a host that overruns the queue', async () => {
    const { addr } = await start({ maxQueueDepth: 4, maxAdminQueueDepth: 4 });
    const host = await openHost(addr.traddr);
    const rec = new Recorder();
    const qp = await host.connectQPair({ qid: 0, queueSize: 4, maxInCapsuleDataSize: 0, handler: rec });
    // Not connected: each command is failed by the core, but five at once exceed the pool of four.
    for (let i = 0; i < 5; i++) {
      const sqe = Buffer.alloc(64);
      sqe[0] = 0x06;
      sqe.writeUInt16LE(i, 2);
      if (rec.disconnectedWith === null) qp.submit(sqe, undefined, 0, 0, 'none');
    }
    expect(rec.disconnectedWith).toBeInstanceOf(LoopbackDisconnectedError);
    expect(rec.disconnectedWith?.message).toMatch(/overran/);
  });
});

describe('listener registry', () => {
  it('refuses a name in use, forgets it on stopListen, and refuses a queue deeper than the pool', async () => {
    const { loopback, addr } = await start();
    const other = new LoopbackTargetTransport();
    other.attach({ createQPair: () => { throw new Error('unused'); }, logger: silentLogger });
    await expect(other.listen(addr)).rejects.toThrow(/already in use/);
    await expect(loopback.listen(addr)).resolves.toBeUndefined();
    const host = await openHost(addr.traddr);
    await expect(host.connectQPair({ qid: 1, queueSize: 4096, maxInCapsuleDataSize: 0, handler: new Recorder() })).rejects.toThrow(/queue size/);
    await loopback.stopListen(addr);
    await expect(openHost(addr.traddr)).rejects.toThrow(/no loopback listener/);
    await expect(other.listen(addr)).resolves.toBeUndefined();
    await other.close();
  });

  it('reports intra-host discovery fields and Identify capsule sizes', async () => {
    const { loopback, addr } = await start({ inCapsuleDataSize: 4096 });
    expect(transportIdentifyFields(loopback)).toMatchObject({ ioccsz: (64 + 4096) / 16, iorcsz: 1, icdoff: 0, msdbd: 1 });
    expect(loopback.discoveryEntry(addr, undefined)).toMatchObject({ trtype: 0xfe, adrfam: 0xfe, traddr: addr.traddr, trsvcid: '' });
  });
});

describe('with @nvmu/client (the README example)', () => {
  it('connects, identifies, writes and reads back', async () => {
    target = new Target();
    await target.addTransport(new LoopbackTargetTransport());
    const sub = target.createSubsystem({ nqn: 'nqn.2026-01.io.nvmu:demo', allowAnyHost: true, model: 'nvmu demo' });
    const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 8192 });
    target.addBdev(bdev);
    sub.addNamespace({ bdev });
    const addr = { trtype: 'loopback', adrfam: 'intra-host', traddr: `demo-${process.pid}`, trsvcid: '' } as const;
    await target.listen(addr);
    await sub.addListener(addr);
    sub.start();

    const ctrl = await connect(`trtype:loopback traddr:${addr.traddr} subnqn:nqn.2026-01.io.nvmu:demo`);
    expect((await ctrl.identifyController()).mn).toBe('nvmu demo');
    expect(ctrl.namespaces.map((ns) => ns.nsid)).toEqual([1]);
    const ns = ctrl.namespaces[0]!;
    await ns.write(0, Buffer.alloc(4096, 0x5a));
    expect(Buffer.from(await ns.read(0, 8)).every((b) => b === 0x5a)).toBe(true);
    await ctrl.close();
  });
});
