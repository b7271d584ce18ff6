import { describe, it, expect, afterEach } from 'vitest';
import { ErrorBdev, MallocBdev, type Target } from '../src/index.js';
import { CC_ENABLE, HOSTNQN, LOOP_ADDR, TestHost, connectCmd, fabrics, propGet, propSet, sqe, settle } from './harness.js';
import { NQN, fixture } from './setup.js';

/** Connect Invalid Parameters DW0: IPO bits 15:0, IATTR bit 16 (1 = in the data). */
const ipo = (inData: boolean, off: number): number => ((inData ? 1 : 0) << 16) | off;

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('Fabrics Connect (admin queue)', () => {
  it('creates a controller with a dynamic cntlid and returns it in DW0', async () => {
    const f = await fixture();
    target = f.target;
    const r = await f.host.connectAdmin(0);
    expect(r.status).toBe(0);
    expect(r.dw0 & 0xffff).toBeGreaterThanOrEqual(1);
    expect(r.sqid).toBe(0);
    expect(r.sqhd).toBe(1);
    expect(f.sub.controllers.get(r.dw0 & 0xffff)?.hostnqn).toBe(HOSTNQN);
    // A second host gets a different cntlid.
    const h2 = new TestHost(f.tr, NQN, 'nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555');
    const r2 = await h2.connectAdmin(0);
    expect(r2.status).toBe(0);
    expect(r2.dw0 & 0xffff).not.toBe(r.dw0 & 0xffff);
  });

  it('rejects an unknown, inactive or unreachable subsystem with Invalid Parameters on SUBNQN', async () => {
    const f = await fixture();
    target = f.target;
    const h = new TestHost(f.tr, 'nqn.2026-11.io.nvmu:nope');
    const r = await h.connectAdmin();
    expect([r.sct, r.sc, r.dw0]).toEqual([1, 0x82, ipo(true, 256)]);
    const inactive = f.target.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:inactive', allowAnyHost: true });
    await inactive.addListener(LOOP_ADDR);
    const r2 = await new TestHost(f.tr, inactive.nqn).connectAdmin();
    expect([r2.sct, r2.sc, r2.dw0]).toEqual([1, 0x82, ipo(true, 256)]);
    // Reachable only through its listeners.
    const other = { ...LOOP_ADDR, traddr: 'loop1' };
    await f.target.listen(other);
    const r3 = await new TestHost(f.tr, NQN, HOSTNQN, other).connectAdmin();
    expect([r3.sct, r3.sc, r3.dw0]).toEqual([1, 0x82, ipo(true, 256)]);
  });

  it('checks the host: Connect Invalid Host, also for a malformed HOSTNQN', async () => {
    const f = await fixture({ allowAnyHost: false, hosts: [HOSTNQN] });
    target = f.target;
    expect((await f.host.connectAdmin()).status).toBe(0);
    const stranger = new TestHost(f.tr, NQN, 'nqn.2026-11.org.example:stranger');
    const r = await stranger.connectAdmin();
    // Connect Invalid Host, DNR, and DW0 naming HOSTNQN in the data as Linux nvmet does.
    expect([r.sct, r.sc, r.dnr, r.dw0]).toEqual([1, 0x84, true, ipo(true, 512)]);
    expect(f.sub.controllers.size).toBe(1);
    // A host not allowed is refused on I/O queues as well, even naming another host's controller.
    stranger.cntlid = f.host.cntlid;
    const strangerIo = await stranger.connectIo(1);
    expect([strangerIo.r.sct, strangerIo.r.sc]).toEqual([1, 0x84]);
    // A HOSTNQN not in NQN form is just not on the list (Linux nvmet answers so too).
    const bad = new TestHost(f.tr, NQN, 'not-an-nqn');
    const r2 = await bad.connectAdmin();
    expect([r2.sct, r2.sc, r2.dw0]).toEqual([1, 0x84, ipo(true, 512)]);
    // Adding the host lets it in; removing it tears its controller down.
    f.sub.addHost('nqn.2026-11.org.example:stranger');
    expect((await stranger.connectAdmin()).status).toBe(0);
    f.sub.removeHost('nqn.2026-11.org.example:stranger');
    await settle();
    expect(stranger.a.closeReasons).toContain('controller-destroyed');
  });

  it('validates RECFMT, SQSIZE, CNTLID and the data length', async () => {
    const f = await fixture();
    target = f.target;
    const send = async (args: Partial<Parameters<typeof connectCmd>[0]>, dataLen = 1024) => {
      const conn = f.tr.connect(LOOP_ADDR, 32);
      const c = connectCmd({ qid: 0, subnqn: NQN, ...args });
      return conn.submit(c.sqe, { data: c.data.subarray(0, dataLen) });
    };
    const r1 = await send({ recfmt: 1 });
    expect([r1.sct, r1.sc]).toEqual([1, 0x80]);
    const r2 = await send({ sqsize: 0 });
    expect([r2.sct, r2.sc, r2.dw0]).toEqual([1, 0x82, ipo(false, 44)]);
    const r3 = await send({ sqsize: 100 });
    expect([r3.sct, r3.sc, r3.dw0]).toEqual([1, 0x82, ipo(false, 44)]);
    const r4 = await send({ cntlid: 5 }); // dynamic model requires FFFFh
    expect([r4.sct, r4.sc, r4.dw0]).toEqual([1, 0x82, ipo(true, 16)]);
    const r5 = await send({}, 512);
    expect([r5.sct, r5.sc]).toEqual([0, 0x0f]);
  });

  it('static controller model: a named cntlid, busy when taken, FFFEh for any', async () => {
    const f = await fixture({ cntlidModel: 'static', minCntlid: 5, maxCntlid: 7 });
    target = f.target;
    const a = await f.host.connectAdmin(0, 6);
    expect([a.status, a.dw0 & 0xffff]).toEqual([0, 6]);
    const b = await new TestHost(f.tr, NQN).connectAdmin(0, 6);
    expect([b.sct, b.sc]).toEqual([1, 0x81]);
    const c = await new TestHost(f.tr, NQN).connectAdmin(0, 0xfffe);
    expect(c.status).toBe(0);
    expect([5, 7]).toContain(c.dw0 & 0xffff);
    const d = await new TestHost(f.tr, NQN).connectAdmin(0, 9);
    expect([d.sct, d.sc, d.dw0]).toEqual([1, 0x82, ipo(true, 16)]);
    const e = await new TestHost(f.tr, NQN).connectAdmin(0, 0xffff);
    expect([e.sct, e.sc, e.dw0]).toEqual([1, 0x82, ipo(true, 16)]);
  });

  it('only Connect is accepted before Connect, and only once', async () => {
    const f = await fixture();
    target = f.target;
    const conn = f.tr.connect(LOOP_ADDR, 32);
    const r = await conn.submit(propGet(0, true));
    expect([r.sct, r.sc]).toEqual([0, 0x0c]);
    const r2 = await conn.submit(sqe(0x06, 0, { 10: 1 }), { readLen: 4096 });
    expect([r2.sct, r2.sc]).toEqual([0, 0x0c]);
    const c = connectCmd({ qid: 0, subnqn: NQN });
    expect((await conn.submit(c.sqe, { data: c.data })).status).toBe(0);
    const again = await conn.submit(c.sqe, { data: c.data });
    expect([again.sct, again.sc]).toEqual([0, 0x0c]);
  });
});

describe('Fabrics Connect (I/O queues)', () => {
  it('joins the controller; checks enable, cntlid, host, qid, duplicates and SQSIZE', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.connectAdmin();
    const early = await h.connectIo(1);
    // Before CC.EN: Connect Invalid Parameters on QID (SPDK nvmf_ctrlr_add_io_qpair).
    expect([early.r.sct, early.r.sc, early.r.dnr, early.r.dw0]).toEqual([1, 0x82, true, ipo(false, 42)]);
    await h.enable();
    await h.setFeature(0x07, (1 << 16) | 1); // 2 I/O queues
    const ok = await h.connectIo(1);
    expect(ok.r.status).toBe(0);
    expect(ok.r.sqid).toBe(1);
    expect(ok.r.dw0 & 0xffff).toBe(h.cntlid);
    // A QID already connected: Command Sequence Error (nvmet and SPDK).
    const dup = await h.connectIo(1);
    expect([dup.r.sct, dup.r.sc, dup.r.dnr]).toEqual([0, 0x0c, true]);
    expect(f.sub.controllers.get(h.cntlid)?.qpairs[1]).toBe(ok.conn.qp);
    const zero = await h.connectIo(2, 0); // SQSIZE 0 is never valid
    expect([zero.r.sct, zero.r.sc, zero.r.dw0]).toEqual([1, 0x82, ipo(false, 44)]);
    const atMqes = await h.connectIo(2, 63); // 64 entries = CAP.MQES + 1: the largest allowed
    expect(atMqes.r.status).toBe(0);
    atMqes.conn.wireClosed();
    await settle();
    const tooHigh = await h.connectIo(3);
    expect([tooHigh.r.sct, tooHigh.r.sc, tooHigh.r.dw0]).toEqual([1, 0x82, ipo(false, 42)]);
    const big = await h.connectIo(2, 64); // 65 entries > MQES+1 (64)
    expect([big.r.sct, big.r.sc, big.r.dw0]).toEqual([1, 0x82, ipo(false, 44)]);
    const conn = f.tr.connect(LOOP_ADDR, 64);
    const wrongCtrl = connectCmd({ qid: 2, subnqn: NQN, cntlid: 0x123 });
    const r1 = await conn.submit(wrongCtrl.sqe, { data: wrongCtrl.data });
    expect([r1.sct, r1.sc, r1.dw0]).toEqual([1, 0x82, ipo(true, 16)]);
    const wrongHost = connectCmd({ qid: 2, subnqn: NQN, cntlid: h.cntlid, hostnqn: 'nqn.2026-11.org.example:other' });
    const r2 = await conn.submit(wrongHost.sqe, { data: wrongHost.data });
    expect([r2.sct, r2.sc, r2.dw0]).toEqual([1, 0x82, ipo(true, 512)]);
    const wrongHostId = connectCmd({ qid: 2, subnqn: NQN, cntlid: h.cntlid, hostid: Buffer.alloc(16, 0x42) });
    const r3 = await conn.submit(wrongHostId.sqe, { data: wrongHostId.data });
    expect([r3.sct, r3.sc, r3.dw0]).toEqual([1, 0x82, ipo(true, 0)]);
  });

  it('the QID limit follows Set Features Number of Queues (0\'s based grant)', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.connectAdmin();
    await h.enable();
    const nq = await h.setFeature(0x07, 0); // one I/O queue
    expect(nq.dw0).toBe(0);
    expect((await h.connectIo(1)).r.status).toBe(0);
    const q2 = await h.connectIo(2);
    expect([q2.r.sct, q2.r.sc, q2.r.dw0]).toEqual([1, 0x82, ipo(false, 42)]);
  });

  it('an I/O queue cannot be connected once CC.EN=1 was refused with CSTS.CFS', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.connectAdmin();
    await h.setProp(0x14, 1 | (7 << 16) | (4 << 20)); // IOSQES 7: 128-byte SQEs
    const io = await h.connectIo(1);
    expect([io.r.sct, io.r.sc, io.r.dw0]).toEqual([1, 0x82, ipo(false, 42)]);
  });

  it('disables SQ flow control when CATTR bit 2 is set (SQHD FFFFh)', async () => {
    const f = await fixture();
    target = f.target;
    const conn = f.tr.connect(LOOP_ADDR, 32);
    const c = connectCmd({ qid: 0, subnqn: NQN, cattr: 1 << 2 });
    const r = await conn.submit(c.sqe, { data: c.data });
    expect(r.sqhd).toBe(0xffff);
    expect(conn.qp.sqFlowControlDisabled).toBe(true);
  });

  it('advances SQHD modulo the queue size', async () => {
    const f = await fixture();
    target = f.target;
    const conn = f.tr.connect(LOOP_ADDR, 32);
    const c = connectCmd({ qid: 0, subnqn: NQN, sqsize: 3 }); // 4 entries
    const heads = [(await conn.submit(c.sqe, { data: c.data })).sqhd];
    for (let i = 0; i < 5; i++) heads.push((await conn.submit(propGet(0x08, false))).sqhd);
    expect(heads).toEqual([1, 2, 3, 0, 1, 2]);
  });
});

describe('Property Get / Set', () => {
  it('reads CAP, VS, CC, CSTS, and halves of 8-byte registers', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin();
    const cap = await f.host.prop(0x00, true);
    expect(Number(cap & 0xffffn)).toBe(63); // MQES = maxQueueDepth - 1
    expect((cap >> 16n) & 1n).toBe(1n); // CQR
    expect((cap >> 37n) & 1n).toBe(1n); // CSS: NVM
    expect(Number((cap >> 24n) & 0xffn)).toBeGreaterThan(0); // TO
    expect(await f.host.prop(0x08)).toBe(0x10400n);
    expect(await f.host.prop(0x14)).toBe(0n);
    expect(await f.host.prop(0x1c)).toBe(0n);
    expect(await f.host.prop(0x00)).toBe(cap & 0xffffffffn);
    expect(await f.host.prop(0x04)).toBe(cap >> 32n);
  });

  it('rejects unknown offsets, wrong sizes, bad ATTRIB, and writes to read-only registers', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin();
    const a = f.host.a;
    for (const s of [propGet(0x200, false), propGet(0x08, true), propGet(0x14, true)]) {
      const r = await a.submit(s);
      expect([r.sct, r.sc]).toEqual([0, 0x02]);
    }
    const bad = propGet(0x14, false);
    bad[40] = 2;
    expect((await a.submit(bad)).sc).toBe(0x02);
    expect((await a.submit(propSet(0x00, 0n, true))).sc).toBe(0x02);
    expect((await a.submit(propSet(0x08, 0))).sc).toBe(0x02);
  });

  it('stores INTMS/INTMC, AQA, ASQ, ACQ', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.connectAdmin();
    await h.setProp(0x0c, 0b1010);
    await h.setProp(0x10, 0b0010);
    expect(await h.prop(0x0c)).toBe(0b1000n);
    expect(await h.prop(0x10)).toBe(0b1000n);
    await h.setProp(0x24, 0x001f001f);
    expect(await h.prop(0x24)).toBe(0x001f001fn);
    await h.setProp(0x28, 0x1234_5678_9000n, true);
    expect(await h.prop(0x28, true)).toBe(0x1234_5678_9000n);
    await h.setProp(0x30, 0x2000);
    await h.setProp(0x34, 0x77);
    expect(await h.prop(0x30, true)).toBe(0x77_0000_2000n);
  });

  it('CC.EN=1 with a bad IOSQES, IOCQES, MPS, CSS or AMS sets CSTS.CFS instead of RDY', async () => {
    const f = await fixture();
    target = f.target;
    const bad: [string, number][] = [
      ['IOSQES 5', 1 | (5 << 16) | (4 << 20)],
      ['IOCQES 5', 1 | (6 << 16) | (5 << 20)],
      ['MPS 1 (8 KiB pages; CAP.MPSMAX = 0)', CC_ENABLE | (1 << 7)],
      ['CSS 110b (CAP.CSS bit 6 clear)', CC_ENABLE | (6 << 4)],
      ['AMS 001b weighted round robin (CAP.AMS = 0)', CC_ENABLE | (1 << 11)],
    ];
    for (const [what, cc] of bad) {
      const h = new TestHost(f.tr, NQN);
      await h.connectAdmin();
      expect((await h.setProp(0x14, cc)).status).toBe(0);
      const csts = await h.prop(0x1c);
      expect([what, csts & 3n]).toEqual([what, 2n]); // CFS=1, RDY=0
      expect([what, (await h.identify(1)).sc]).toEqual([what, 0x0c]); // not enabled
    }
    const good = new TestHost(f.tr, NQN);
    await good.connectAdmin();
    await good.setProp(0x14, CC_ENABLE);
    expect((await good.prop(0x1c)) & 3n).toBe(1n);
    expect(await good.prop(0x14)).toBe(BigInt(CC_ENABLE));
  });

  it('Property Set takes 4 bytes for 4-byte registers and 8 for CAP/ASQ/ACQ; ignores CSTS writes', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.connectAdmin();
    // An 8-byte write to a 4-byte register (CC) is Invalid Field and changes nothing.
    const wide = await h.setProp(0x14, BigInt(CC_ENABLE), true);
    expect([wide.sct, wide.sc]).toEqual([0, 0x02]);
    expect(await h.prop(0x14)).toBe(0n);
    // CSTS is read-only for these bits: a write leaves it as it is.
    expect((await h.setProp(0x1c, 0xffffffff)).status).toBe(0);
    expect(await h.prop(0x1c)).toBe(0n);
    // Writes to CAP halves and VS fail.
    expect((await h.setProp(0x04, 0xffff)).sc).toBe(0x02);
    expect(await h.prop(0x00, true)).toBe(f.sub.controllers.get(h.cntlid)?.cap);
  });

  it('CC.EN 1→0 resets: I/O queues closed, AERs aborted, RDY cleared, features back to defaults', async () => {
    const f = await fixture();
    target = f.target;
    const h = f.host;
    await h.bringUp(2);
    await h.setFeature(0x0b, 1 << 8);
    const aer = h.a.submit(sqe(0x0c));
    await h.setProp(0x14, 0);
    const ar = await aer;
    expect([ar.sct, ar.sc]).toEqual([0, 0x08]); // Aborted - SQ Deletion
    await settle();
    expect(h.io[1]?.closeReasons).toContain('controller-reset');
    expect(h.io[1]?.closed).toBe(true);
    expect(await h.prop(0x1c)).toBe(0n);
    expect((await h.getFeature(0x0b)).sc).toBe(0x0c); // not enabled: Command Sequence Error
    await h.enable();
    expect((await h.getFeature(0x0b)).dw0).toBe(0);
    // I/O queues can be connected again after re-enable.
    expect((await h.connectIo(1)).r.status).toBe(0);
  });

  it('shutdown notification flushes and reports SHST complete', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    await f.host.shutdown();
    expect(((await f.host.prop(0x1c)) >> 2n) & 3n).toBe(2n);
  });

  it('shutdown: SHST 01b while the flush is outstanding, I/O queues closed, 10b once the bdev flushed', async () => {
    const f = await fixture();
    target = f.target;
    const eb = new ErrorBdev(new MallocBdev({ name: 'slow', blockSize: 512, numBlocks: 8 }));
    f.sub.addNamespace({ bdev: eb, nsid: 2 });
    const h = f.host;
    await h.bringUp(2);
    eb.inject({ op: 'flush', action: 'drop', count: 1 });
    expect((await h.setProp(0x14, CC_ENABLE | (1 << 14))).status).toBe(0); // SHN = 01b normal
    const during = await h.prop(0x1c);
    expect([during & 1n, (during >> 2n) & 3n]).toEqual([1n, 1n]); // RDY still 1, SHST = 01b processing
    await settle();
    expect(h.io[1]?.closeReasons).toContain('controller-reset');
    expect(h.io[2]?.closed).toBe(true);
    expect(((await h.prop(0x1c)) >> 2n) & 3n).toBe(1n); // still waiting for the bdev
    eb.releaseDropped();
    await settle();
    expect(((await h.prop(0x1c)) >> 2n) & 3n).toBe(2n); // SHST = 10b complete
    // CC.EN 1 -> 0 after shutdown clears SHST and RDY; the controller can be enabled again.
    await h.setProp(0x14, 0);
    expect(await h.prop(0x1c)).toBe(0n);
    await h.enable();
    expect((await h.connectIo(1)).r.status).toBe(0);
  });
});

describe('Disconnect and teardown', () => {
  it('Disconnect completes, then the I/O queue closes; not allowed on the admin queue', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(2);
    const conn = f.host.io[2];
    const r = await conn!.submit(fabrics(0x08));
    expect(r.status).toBe(0);
    await settle();
    expect(conn!.closeReasons).toEqual(['disconnect']);
    expect(conn!.closed).toBe(true);
    const ctrlr = f.sub.controllers.get(f.host.cntlid);
    expect(ctrlr?.qpairs[2]).toBeUndefined();
    expect((await f.host.connectIo(2)).r.status).toBe(0); // the qid is free again
    const ra = await f.host.a.submit(fabrics(0x08));
    expect([ra.sct, ra.sc, ra.dnr]).toEqual([1, 0x85, true]); // Invalid Queue Type
    expect(f.host.a.closed).toBe(false);
  });

  it('fabrics Property Get on an I/O queue and Authentication are Invalid Opcode', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(1);
    expect((await f.host.io[1]!.submit(propGet(0, true))).sc).toBe(0x01);
    expect((await f.host.a.submit(fabrics(0x05))).sc).toBe(0x01);
  });

  it('closing the admin queue destroys the controller and closes its I/O queues', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.bringUp(2);
    expect(f.sub.controllers.size).toBe(1);
    f.host.a.wireClosed();
    await settle();
    expect(f.sub.controllers.size).toBe(0);
    expect(f.host.io[1]?.closeReasons).toContain('controller-destroyed');
  });

  it('pool: allocRequest returns undefined when all requests are in use', async () => {
    const f = await fixture();
    target = f.target;
    const conn = f.tr.connect(LOOP_ADDR, 4);
    const reqs = [0, 1, 2, 3].map(() => conn.qp.allocRequest());
    expect(reqs.every((r) => r !== undefined)).toBe(true);
    expect(conn.qp.allocRequest()).toBeUndefined();
    conn.qp.freeRequest(reqs[0]!);
    expect(conn.qp.allocRequest()).toBe(reqs[0]);
  });

  it('qpair.fail completes a request with the transport-chosen status', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin();
    const qp = f.host.a.qp;
    const req = qp.allocRequest()!;
    req.sqeBytes.set(propGet(0, true));
    req.sqeBytes.writeUInt16LE(0x4242, 2);
    const done = new Promise<number>((resolve) => {
      req.transportData = { resolve: (c) => { resolve(c.status); }, buf: undefined };
    });
    qp.fail(req, 0x0011);
    expect(await done).toBe(0x0011);
  });
});

