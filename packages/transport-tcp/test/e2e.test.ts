/**
 * End to end in one process: the @nvmu/nvmf core with this package's target transport and a
 * malloc namespace, and the @nvmu/client controller through this package's host transport,
 * over 127.0.0.1 and ::1.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { NvmeCommandAbortedError, connect, discover, type Controller } from '@nvmu/client';

import '../src/host.js';
import { pattern } from './helpers/raw.js';
import { freePort } from './helpers/setup.js';
import { NQN, startTarget, type RealTarget } from './helpers/target.js';

let t: RealTarget | undefined;
const ctrls: Controller[] = [];
afterEach(async () => {
  await Promise.all(ctrls.splice(0).map((c) => c.close().catch(() => undefined)));
  await t?.close();
  t = undefined;
});

function trid(host: string, port: number, extra = ''): string {
  return `trtype:tcp adrfam:${host.includes(':') ? 'ipv6' : 'ipv4'} traddr:${host} trsvcid:${port} subnqn:${NQN}${extra}`;
}

async function open(host: string, port: number, extra = '', opts: Parameters<typeof connect>[1] = {}): Promise<Controller> {
  const c = await connect(trid(host, port, extra), { reconnect: false, ...opts });
  ctrls.push(c);
  return c;
}

describe.each(['127.0.0.1', '::1'])('nvmu target ↔ client over %s', (host) => {
  it('brings the controller up and identifies it', async () => {
    t = await startTarget(host);
    const c = await open(host, t.port);
    const id = await c.identifyController();
    expect(id.subnqn).toBe(NQN);
    expect(id.ioccsz).toBe((64 + 8192) / 16);
    expect(id.iorcsz).toBe(1);
    expect(id.icdoff).toBe(0);
    // What the Linux host checks after Connect (INTEROP.md): SGL support with the offset form,
    // MAXCMD and KAS non-zero, IOCCSZ >= 4, and the CNTLID Connect returned.
    expect(id.sgls & 3).not.toBe(0);
    expect(id.sgls & (1 << 20)).not.toBe(0);
    expect(id.maxcmd).toBeGreaterThan(0);
    expect(id.kas).toBeGreaterThan(0);
    expect(id.ioccsz).toBeGreaterThanOrEqual(4);
    expect(id.cntlid).toBe(c.cntlid);
    expect(c.namespaces.length).toBe(1);
    expect(c.namespaces[0]!.blockSize).toBe(512);
  });

  it.each([
    ['no digests', ''],
    ['header digest', ' hdgst:1'],
    ['data digest', ' ddgst:1'],
    ['both digests', ' hdgst:1 ddgst:1'],
  ])('keeps data intact for many sizes with %s', async (_name, extra) => {
    t = await startTarget(host, { maxH2CData: 16384, c2hDataSize: 32768, r2tSize: 65536 });
    const c = await open(host, t.port, extra);
    const ns = c.namespaces[0]!;
    let lba = 0;
    // In-capsule (<= 8 KiB), R2T, > MAXH2CDATA (16 KiB), several C2HData, up to MDTS.
    for (const size of [512, 1024, 4096, 8192, 8704, 16384, 16896, 65536, 131072]) {
      const data = pattern(size, size + extra.length);
      await ns.write(lba, data);
      const back = await ns.read(lba, size / 512);
      expect(Buffer.from(back).equals(data)).toBe(true);
      lba += size / 512;
    }
  });
});

describe('nvmu target ↔ client, queues', () => {
  it('runs queue depth 128 on one queue', async () => {
    t = await startTarget('127.0.0.1');
    const c = await open('127.0.0.1', t.port, '', { ioQueueSize: 129 });
    const ns = c.namespaces[0]!;
    const jobs = Array.from({ length: 128 }, async (_, i) => {
      const data = pattern(4096, i + 1);
      await ns.write(i * 8, data);
      const back = await ns.read(i * 8, 8);
      expect(Buffer.from(back).equals(data)).toBe(true);
    });
    await Promise.all(jobs);
  });

  it('uses many I/O queues at once', async () => {
    t = await startTarget('127.0.0.1');
    const c = await open('127.0.0.1', t.port, '', { ioQueues: 8 });
    const ns = c.namespaces[0]!;
    const qps = await Promise.all(Array.from({ length: 6 }, () => c.allocIoQPair({ queueSize: 32 })));
    await Promise.all(
      qps.flatMap((qpair, qi) =>
        Array.from({ length: 24 }, async (_, i) => {
          const lba = (qi * 24 + i) * 16;
          const data = pattern(8192, lba + 7);
          await ns.write(lba, data, { qpair });
          const back = await ns.read(lba, 16, undefined, { qpair });
          expect(Buffer.from(back).equals(data)).toBe(true);
        }),
      ),
    );
    expect(t.tcp.connectionCount).toBeGreaterThanOrEqual(7);
  });

  it('survives a disconnect mid-I/O and serves the reconnected host', async () => {
    t = await startTarget('127.0.0.1');
    const c1 = await open('127.0.0.1', t.port);
    const ns1 = c1.namespaces[0]!;
    // Each write's real outcome, kept as it settles: 'pending' until then.
    const outcomes: ('pending' | 'ok' | Error)[] = Array.from({ length: 64 }, () => 'pending');
    let firstDone: () => void = () => undefined;
    const oneCompleted = new Promise<void>((r) => {
      firstDone = r;
    });
    const inflight = outcomes.map((_, i) =>
      ns1.write(i * 64, pattern(32768, i)).then(
        () => {
          outcomes[i] = 'ok';
          firstDone();
        },
        (e: unknown) => {
          outcomes[i] = e instanceof Error ? e : new Error(String(e));
        },
      ),
    );
    // Disconnect once the target has completed some writes while others are still in flight.
    await oneCompleted;
    const pendingAtClose = outcomes.filter((o) => o === 'pending').length;
    const okAtClose = outcomes.filter((o) => o === 'ok').length;
    expect(okAtClose).toBeGreaterThan(0);
    expect(pendingAtClose).toBeGreaterThan(0);
    await c1.close();
    await Promise.all(inflight);
    // Every write either completed or was failed by the disconnect, nothing else.
    for (const o of outcomes) {
      if (o === 'ok') continue;
      expect(o).toBeInstanceOf(NvmeCommandAbortedError);
      expect((o as NvmeCommandAbortedError).reason).toBe('closed');
    }
    // A new association works and sees every write that completed.
    const c2 = await open('127.0.0.1', t.port);
    const ns2 = c2.namespaces[0]!;
    let verified = 0;
    for (const [i, o] of outcomes.entries()) {
      if (o !== 'ok') continue;
      const back = await ns2.read(i * 64, 64);
      expect(Buffer.from(back).equals(pattern(32768, i))).toBe(true);
      verified++;
    }
    expect(verified).toBeGreaterThanOrEqual(okAtClose);
    await ns2.write(0, pattern(4096, 99));
    expect(Buffer.from(await ns2.read(0, 8)).equals(pattern(4096, 99))).toBe(true);
  });

  it('reconnects by itself when the target drops its connections', async () => {
    t = await startTarget('127.0.0.1');
    const c = await open('127.0.0.1', t.port, '', { reconnect: { delayMs: 100, ctrlLossTimeoutMs: 10000 } });
    const ns = c.namespaces[0]!;
    await ns.write(0, pattern(4096, 1));
    // Drop every connection from the target side (transport close), then listen again.
    const { port } = t;
    await t.close();
    t = await startTarget('127.0.0.1', { port });
    await ns.write(8, pattern(4096, 2));
    expect(Buffer.from(await ns.read(8, 8)).equals(pattern(4096, 2))).toBe(true);
  });
});

describe('discovery over TCP', () => {
  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '::1'],
  ])('reports the local address for a wildcard listener %s (reached through %s)', async (wild, via) => {
    t = await startTarget(wild);
    const entries = await discover(`trtype:tcp traddr:${via} trsvcid:${t.port}`);
    const e = entries.find((x) => x.subnqn === NQN);
    expect(e?.traddr).toBe(via);
    expect(e?.adrfam).toBe(via.includes(':') ? 2 : 1);
    const c = await connect(e!.trid, { reconnect: false });
    ctrls.push(c);
    expect(c.namespaces.length).toBe(1);
  });

  it('lists one entry per listener of a target on both 127.0.0.1 and ::1 (trtype, adrfam, treq, portid, trsvcid, traddr, subnqn)', async () => {
    t = await startTarget('127.0.0.1');
    const port6 = await freePort('::1');
    const addr6 = { trtype: 'tcp', adrfam: 'ipv6', traddr: '::1', trsvcid: String(port6) } as const;
    await t.target.listen(addr6);
    const sub = t.target.getSubsystem(NQN);
    if (sub === undefined) throw new Error('subsystem missing');
    await sub.addListener(addr6);
    for (const [via, port] of [
      ['127.0.0.1', t.port],
      ['::1', port6],
    ] as const) {
      const entries = (await discover(`trtype:tcp traddr:${via} trsvcid:${port}`)).filter((x) => x.subnqn === NQN);
      expect(entries.length).toBe(2);
      const v4 = entries.find((x) => x.adrfam === 1);
      const v6 = entries.find((x) => x.adrfam === 2);
      expect(v4).toMatchObject({ trtype: 3, traddr: '127.0.0.1', trsvcid: String(t.port), subnqn: NQN });
      expect(v6).toMatchObject({ trtype: 3, traddr: '::1', trsvcid: String(port6), subnqn: NQN });
      for (const e of [v4, v6]) expect((e?.treq ?? -1) & 3).toBe(0); // no TLS bits (INTEROP.md)
      // Each listener is its own port: distinct port IDs.
      expect(v4?.portid).not.toBe(v6?.portid);
      for (const e of [v4, v6]) {
        if (e === undefined) throw new Error('entry missing');
        const c = await connect(e.trid, { reconnect: false });
        ctrls.push(c);
        expect(c.namespaces.length).toBe(1);
      }
    }
  });

  it.each(['127.0.0.1', '::1'])('lists the subsystem listener on %s', async (host) => {
    t = await startTarget(host);
    const entries = await discover(`trtype:tcp traddr:${host} trsvcid:${t.port}`);
    const e = entries.find((x) => x.subnqn === NQN);
    expect(e).toBeDefined();
    expect(e!.trtype).toBe(3);
    expect(e!.adrfam).toBe(host.includes(':') ? 2 : 1);
    expect(e!.treq & 3).toBe(0);
    expect(e!.traddr).toBe(host);
    expect(e!.trsvcid).toBe(String(t.port));
    expect(e!.trid.trtype).toBe('tcp');
    const c = await connect(e!.trid, { reconnect: false });
    ctrls.push(c);
    expect(c.namespaces.length).toBe(1);
  });
});
