import { afterEach, describe, expect, it } from 'vitest';
import { MallocBdev, NullBdev, Target } from '@nvmu/nvmf';
import { Register, decodeCsts } from '@nvmu/nvme-spec';
import { NvmeCommandAbortedError, connect, discover, type AsyncEvent, type Namespace } from '@nvmu/client';
import { pattern } from '@nvmu/test-kit';
import { LOOPBACK_NQN, LoopbackTargetTransport, loopbackClientFixture, once, registerInterposer } from '@nvmu/test-kit/loopback';

const f = loopbackClientFixture();
afterEach(f.cleanup);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('asynchronous events', () => {
  it('sees a namespace added, resized and removed on the target', async () => {
    const c = await f.open();
    expect(c.namespaces.map((n) => n.nsid)).toEqual([1]);

    const bdev = new MallocBdev({ name: 'm2', blockSize: 4096, numBlocks: 256 });
    f.target.target.addBdev(bdev);
    const added = once<Namespace>(c, 'namespaceAdded');
    f.target.subsystem.addNamespace({ bdev, nsid: 2 });
    const ns2 = await added;
    expect(ns2.nsid).toBe(2);
    expect(ns2.blockSize).toBe(4096);
    expect(ns2.blockCount).toBe(256);
    expect(c.namespaces.map((n) => n.nsid)).toEqual([1, 2]);
    const data = pattern(4096, 2);
    await ns2.write(3, data);
    expect(Buffer.from(await ns2.read(3, 1)).equals(data)).toBe(true);

    const changed = once<Namespace>(c, 'namespaceChanged');
    bdev.resize(512);
    expect(await changed).toBe(ns2);
    expect(ns2.blockCount).toBe(512);

    const removed = once<Namespace>(c, 'namespaceRemoved');
    await f.target.subsystem.removeNamespace(2);
    expect(await removed).toBe(ns2);
    expect(ns2.active).toBe(false);
    expect(c.namespaces.map((n) => n.nsid)).toEqual([1]);
  });
});

describe('asyncEvent', () => {
  it('emits every event the target raises, decoded, and keeps an AER outstanding for the next', async () => {
    const c = await f.open();
    const events: AsyncEvent[] = [];
    c.on('asyncEvent', (e: AsyncEvent) => events.push(e));
    const bdev = new MallocBdev({ name: 'm3', blockSize: 512, numBlocks: 64 });
    f.target.target.addBdev(bdev);
    // Namespace Attribute Changed (NVMe Base 2.0 Figure 150): type 2 (Notice), info 00h, log
    // page 04h (Changed Namespace List): dw0 0x00040002.
    const added = once<Namespace>(c, 'namespaceAdded');
    f.target.subsystem.addNamespace({ bdev, nsid: 3 });
    await added;
    expect(events).toEqual([{ type: 2, info: 0, lid: 4, dw0: 0x00040002 }]);
    // The client re-armed the AER: a second event arrives too.
    const removed = once<Namespace>(c, 'namespaceRemoved');
    await f.target.subsystem.removeNamespace(3);
    await removed;
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({ type: 2, info: 0, lid: 4, dw0: 0x00040002 });
  });
});

describe('namespace scan', () => {
  it('pages through more than 1024 active namespaces', async () => {
    const target = new Target();
    await target.addTransport(new LoopbackTargetTransport());
    const sub = target.createSubsystem({ nqn: LOOPBACK_NQN, allowAnyHost: true, maxNamespaces: 1100 });
    for (let i = 1; i <= 1030; i++) {
      const bdev = new NullBdev({ name: `n${i}`, blockSize: 512, numBlocks: 8 + i });
      target.addBdev(bdev);
      sub.addNamespace({ bdev, nsid: i });
    }
    const addr = { trtype: 'loopback', adrfam: 'intra-host' as const, traddr: `many-ns-${process.pid}`, trsvcid: '' };
    await target.listen(addr);
    await sub.addListener(addr);
    sub.start();
    try {
      const c = f.track(await connect(`trtype:loopback traddr:${addr.traddr} subnqn:${LOOPBACK_NQN}`, { reconnect: false }));
      expect(c.namespaces.length).toBe(1030);
      expect(c.namespace(1030)?.blockCount).toBe(8 + 1030);
      expect(c.namespace(1025)?.blockCount).toBe(8 + 1025);
      await c.close();
    } finally {
      await target.close();
    }
  });
});

describe('keep-alive', () => {
  it('keeps an idle controller alive past several KATO periods', async () => {
    const c = await f.open({ kato: 200 });
    const ctrlr = f.target.subsystem.controllers.get(c.cntlid)!;
    // The target enforces KATO rounded up to its KAS granularity (1 s for 200 ms): outlive two
    // of those periods, which an idle controller without keep-alive does not. The wait ends on
    // the target seeing a keep-alive past that point, or on the controller going down.
    const enforced = ctrlr.katoEnforced;
    expect(enforced).toBeGreaterThanOrEqual(200);
    const until = Date.now() + 2 * enforced;
    let keepAlives = 0;
    const touch = ctrlr.touchKeepAlive.bind(ctrlr);
    await new Promise<void>((resolve, reject) => {
      c.once('resetting', (e: Error | undefined) => {
        reject(new Error(`the controller went down after ${keepAlives} keep-alives: ${String(e)}`));
      });
      ctrlr.touchKeepAlive = () => {
        touch();
        keepAlives++;
        if (Date.now() > until) resolve();
      };
    });
    expect(keepAlives).toBeGreaterThanOrEqual(2);
    expect(ctrlr.state).toBe('live');
    expect(c.state).toBe('ready');
    await expect(c.namespaces[0]!.read(0, 1)).resolves.toBeDefined();
  });
});

describe('reset and reconnect', () => {
  it('reconnects after the connections drop, failing what was in flight', async () => {
    const c = await f.open({ reconnect: { delayMs: 10, ctrlLossTimeoutMs: 5000 } });
    const ns = c.namespaces[0]!;
    const data = pattern(4096, 42);
    await ns.write(0, data);
    const qp = await c.allocIoQPair({ queueSize: 8 });
    const oldCntlid = c.cntlid;

    const resetting = once<Error | undefined>(c, 'resetting');
    const reset = once(c, 'reset');
    const inflight = ns.read(0, 8, undefined, { qpair: qp });
    expect(f.target.loopback.dropConnections()).toBeGreaterThanOrEqual(3);
    const err = await inflight.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeCommandAbortedError);
    expect((err as NvmeCommandAbortedError).reason).toBe('disconnected');
    expect(await resetting).toBeInstanceOf(Error);
    await reset;
    expect(c.state).toBe('ready');
    expect(c.cntlid).not.toBe(oldCntlid);
    // The same qpair object works again, and so does the default one.
    expect(qp.state).toBe('connected');
    expect(Buffer.from(await ns.read(0, 8, undefined, { qpair: qp })).equals(data)).toBe(true);
    expect(c.namespaces[0]).toBe(ns);
  });

  it('survives a drop in the middle of a queue-depth-64 callback run, keeping written data intact', async () => {
    const c = await f.open({ reconnect: { delayMs: 10, ctrlLossTimeoutMs: 5000 } });
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair({ queueSize: 65 });
    const blocks = 4096;
    const written = new Set<number>();
    const bufs = Array.from({ length: qp.maxOutstanding }, () => Buffer.alloc(512));
    let next = 0;
    let ok = 0;
    let aborted = 0;
    let refused = 0;
    let dropped = false;
    const lbaOf = new Int32Array(qp.maxOutstanding);
    const submit = (slot: number): void => {
      if (next >= blocks) return;
      const lba = next++;
      lbaOf[slot] = lba;
      bufs[slot]!.set(pattern(512, lba + 1));
      try {
        qp.submitWrite(ns, lba, 1, bufs[slot]!, onDone, slot);
      } catch (e) {
        expect(e).toBeInstanceOf(NvmeCommandAbortedError);
        refused++;
      }
    };
    const onDone = (err: unknown, slot: number): void => {
      if (err === undefined) {
        ok++;
        written.add(lbaOf[slot]!);
      } else {
        expect(err).toBeInstanceOf(NvmeCommandAbortedError);
        aborted++;
      }
      if (ok === 500 && !dropped) {
        dropped = true;
        f.target.loopback.dropConnections();
      }
      submit(slot);
    };
    const reset = once(c, 'reset');
    for (let i = 0; i < qp.maxOutstanding; i++) submit(i);
    await reset;
    expect(dropped).toBe(true);
    expect(aborted).toBeGreaterThan(0);
    expect(qp.outstanding).toBe(0);
    expect(aborted + refused).toBeGreaterThan(0);
    // Everything that completed successfully is on the media.
    for (const lba of written) expect(Buffer.from(await ns.read(lba, 1, undefined, { qpair: qp })).equals(pattern(512, lba + 1))).toBe(true);
    expect(written.size).toBe(ok);
  });

  it('promise calls made while resetting wait for the reconnect', async () => {
    const c = await f.open({ reconnect: { delayMs: 10, ctrlLossTimeoutMs: 5000 } });
    const ns = c.namespaces[0]!;
    const reset = once(c, 'reset');
    f.target.loopback.dropConnections();
    expect(c.state).toBe('resetting');
    const data = pattern(512, 5);
    await ns.write(9, data);
    await reset;
    expect(Buffer.from(await ns.read(9, 1)).equals(data)).toBe(true);
  });

  it('close() during a reconnect wins: no reset, nothing left connected', async () => {
    const c = await f.open({ reconnect: { delayMs: 5, ctrlLossTimeoutMs: 5000 } });
    let resets = 0;
    c.on('reset', () => resets++);
    f.target.loopback.dropConnections();
    expect(c.state).toBe('resetting');
    const pending = c.namespaces[0]!.read(0, 1);
    await c.close();
    await expect(pending).rejects.toBeInstanceOf(NvmeCommandAbortedError);
    await sleep(50);
    expect(c.state).toBe('closed');
    expect(resets).toBe(0);
    expect(f.target.loopback.connectionCount).toBe(0);
  });

  it('resets on demand', async () => {
    const c = await f.open({ reconnect: { delayMs: 10, ctrlLossTimeoutMs: 5000 } });
    const before = c.cntlid;
    await c.reset();
    expect(c.state).toBe('ready');
    expect(c.cntlid).not.toBe(before);
    await expect(c.namespaces[0]!.read(0, 1)).resolves.toBeDefined();
  });

  it('resets when a command times out', async () => {
    const c = await f.open({ ioTimeoutMs: 100, reconnect: { delayMs: 10, ctrlLossTimeoutMs: 5000 } }, { errors: true });
    const ns = c.namespaces[0]!;
    f.target.errorBdev!.inject({ op: 'read', action: 'drop', count: 1 });
    const reset = once(c, 'reset');
    const err = await ns.read(0, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeCommandAbortedError);
    expect((err as NvmeCommandAbortedError).reason).toBe('timeout');
    await reset;
    await expect(ns.read(0, 1)).resolves.toBeDefined();
    f.target.errorBdev!.releaseDropped(); // let the target drain the lost read on close
  });

  it('fails the controller when reconnecting is off', async () => {
    const c = await f.open({ reconnect: false });
    const failed = once<Error>(c, 'failed');
    f.target.loopback.dropConnections();
    expect(await failed).toBeInstanceOf(Error);
    expect(c.state).toBe('failed');
    await expect(c.namespaces[0]!.read(0, 1)).rejects.toThrow();
  });

  it('gives up after ctrlLossTimeoutMs when the target is gone', async () => {
    const c = await f.open({ reconnect: { delayMs: 20, ctrlLossTimeoutMs: 150 } });
    const failed = once<Error>(c, 'failed');
    await f.stop();
    expect((await failed).message).toMatch(/loopback/);
    expect(c.state).toBe('failed');
  });
});

describe('shutdown', () => {
  it('sets CC.SHN, sees CSTS.SHST complete, then closes every connection', async () => {
    const c = await f.open();
    await c.allocIoQPair();
    expect(f.target.loopback.connectionCount).toBe(3);
    await c.shutdown();
    const csts = decodeCsts(Number(await c.getProperty(Register.CSTS, 4)));
    expect(csts.shst).toBe(2);
    expect(f.target.loopback.connectionCount).toBe(1); // only the admin queue is left
    const closed = once(c, 'closed');
    await c.close();
    await closed;
    expect(c.state).toBe('closed');
    expect(f.target.loopback.connectionCount).toBe(0);
    await expect(c.identifyController()).rejects.toBeInstanceOf(NvmeCommandAbortedError);
    await c.close(); // idempotent
  });
});

describe('bring-up against a silent target', () => {
  it('fails connect with a timeout when a Property Get is never answered', async () => {
    const t = await f.start();
    let swallowed = 0;
    registerInterposer('silent-prop', (qid, sqe) => {
      // Lose the first Property Get (fabrics opcode 7Fh, FCTYPE 04h).
      if (qid === 0 && sqe[0] === 0x7f && sqe[4] === 0x04 && swallowed === 0) {
        swallowed++;
        return 'swallow';
      }
      return 'pass';
    });
    const err = await connect(`trtype:silent-prop traddr:${t.traddr} subnqn:${LOOPBACK_NQN}`, { adminTimeoutMs: 100, reconnect: false }).catch((e: unknown) => e);
    expect(swallowed).toBe(1);
    expect(err).toBeInstanceOf(NvmeCommandAbortedError);
    expect((err as NvmeCommandAbortedError).reason).toBe('timeout');
    expect((err as NvmeCommandAbortedError).command?.opcodeName).toBe('Fabrics.PropertyGet');
    expect(t.loopback.connectionCount).toBe(0);
  });
});

describe('discovery', () => {
  it('reads the discovery log and connects to what it lists', async () => {
    const t = await f.start();
    const entries = await discover(`trtype:loopback traddr:${t.traddr}`);
    const mine = entries.find((e) => e.subnqn === LOOPBACK_NQN);
    expect(mine).toBeDefined();
    expect(mine!.trtype).toBe(0xfe);
    expect(mine!.adrfam).toBe(0xfe);
    expect(mine!.subtype).toBe(2);
    expect(mine!.traddr).toBe(t.traddr);
    expect(mine!.cntlid).toBe(0xffff);
    expect(mine!.trid).toEqual({ trtype: 'loopback', adrfam: 'intra-host', traddr: t.traddr, subnqn: LOOPBACK_NQN });
    expect(t.loopback.connectionCount).toBe(0);
    const c = f.track(await connect(mine!.trid, { reconnect: false }));
    expect(c.namespaces.length).toBe(1);
  });

  it('returns the log header\'s GENCTR with the entries, and a new one after the log changed', async () => {
    const t = await f.start();
    const dc = f.track(await connect(`trtype:loopback traddr:${t.traddr}`, { reconnect: false }));
    const header = Buffer.from(await dc.getLogPage(0x70, new Uint8Array(1024), 0, 0));
    const first = await discover(`trtype:loopback traddr:${t.traddr}`);
    expect(typeof first.genctr).toBe('bigint');
    expect(first.genctr).toBe(header.readBigUInt64LE(0));
    expect(first.recfmt).toBe(header.readUInt16LE(16));
    expect((await dc.discoveryLog()).genctr).toBe(first.genctr);
    // Not enumerable: the result still looks like a plain array of entries.
    expect(Object.keys(first)).toEqual(first.map((_, i) => String(i)));
    const extra = { trtype: 'loopback', adrfam: 'intra-host' as const, traddr: `${t.traddr}-c`, trsvcid: '' };
    await t.target.listen(extra);
    await t.subsystem.addListener(extra);
    const second = await discover(`trtype:loopback traddr:${t.traddr}`);
    expect(second.genctr).not.toBe(first.genctr);
    expect(second.length).toBe(first.length + 1);
    expect(second.genctr).toBe(Buffer.from(await dc.getLogPage(0x70, new Uint8Array(1024), 0, 0)).readBigUInt64LE(0));
  });

  it('reads the log again when GENCTR changed while it was being read', async () => {
    const target = await f.start();
    const extra = { trtype: 'loopback', adrfam: 'intra-host' as const, traddr: `${target.traddr}-b`, trsvcid: '' };
    let logReads = 0;
    let changed = false;
    registerInterposer('genctr-race', (qid, sqe) => {
      // Get Log Page 70h with a non-zero offset: the entries are being read. Change the log now,
      // as another host adding a port would.
      if (qid === 0 && sqe[0] === 0x02 && sqe[40] === 0x70) {
        logReads++;
        if (!changed && Buffer.from(sqe).readUInt32LE(48) !== 0) {
          changed = true;
          void target.target.listen(extra).then(() => target.subsystem.addListener(extra));
        }
      }
      return 'pass';
    });
    const entries = await discover(`trtype:genctr-race traddr:${target.traddr}`);
    expect(changed).toBe(true);
    // header + entries + header, twice at least (the first pass saw GENCTR move).
    expect(logReads).toBeGreaterThanOrEqual(6);
    const mine = entries.filter((e) => e.subnqn === LOOPBACK_NQN).map((e) => e.traddr).sort();
    expect(mine).toEqual([target.traddr, extra.traddr].sort());
    // The GENCTR returned is the one after the change, the one of the entries returned.
    const dc = f.track(await connect(`trtype:loopback traddr:${target.traddr}`, { reconnect: false }));
    expect(entries.genctr).toBe(Buffer.from(await dc.getLogPage(0x70, new Uint8Array(1024), 0, 0)).readBigUInt64LE(0));
  });
});
