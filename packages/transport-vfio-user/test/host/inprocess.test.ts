/**
 * The host transport against this package's NVMe target in the same process: full bring-up
 * through @nvmu/client, Identify, several I/O queues, write/verify at several queue depths, in
 * every mode (shared memfd memory or DMA_READ/DMA_WRITE, mapped or message doorbells, shadow
 * doorbells on or off, polling or interrupts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Controller } from '@nvmu/client';
import '../../src/host.js';
import { VfioUserTargetTransport } from '../../src/target.js';
import { startVfioUserTarget } from '../target.js';
import { NQN } from '../nvme/harness.js';
import { hostStats, rwVerify } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(): Promise<{ dir: string; transport: VfioUserTargetTransport }> {
  const transport = new VfioUserTargetTransport({ maxIoQueues: 8 });
  const dir = await startVfioUserTarget(transport, { blocks: 65536, identity: { serial: 'VFUHOST1', model: 'nvmu host test' } }, cleanups);
  return { dir, transport };
}

async function open(dir: string, extra: string, opts: Parameters<typeof connect>[1] = {}): Promise<Controller> {
  const c = await connect(`trtype:vfiouser traddr:${dir} subnqn:${NQN} ${extra}`, { reconnect: false, ioQueues: 4, ...opts });
  cleanups.push(() => c.close());
  return c;
}

const MODES: [string, string, { mapped: boolean; shadow: boolean; dma: boolean; interrupts: boolean }][] = [
  ['shared memory, mapped doorbells, shadow doorbells, polling', 'completions:poll', { mapped: true, shadow: true, dma: false, interrupts: false }],
  ['shared memory, no shadow doorbells, interrupts', 'shadowdb:0', { mapped: true, shadow: false, dma: false, interrupts: true }],
  ['DMA_READ/DMA_WRITE memory, message doorbells, polling', 'dma:message doorbells:message completions:poll', { mapped: false, shadow: false, dma: true, interrupts: false }],
  ['DMA_READ/DMA_WRITE memory, mapped doorbells, interrupts', 'dma:message completions:interrupt', { mapped: true, shadow: false, dma: true, interrupts: true }],
];

describe('vfio-user host transport, in process', () => {
  it.each(MODES)('%s: bring-up, identify, queues, write/verify at QD 1..128', async (_name, extra, want) => {
    const { dir, transport } = await start();
    const c = await open(dir, extra);
    expect(c.state).toBe('ready');
    const id = await c.identifyController();
    expect(id.subnqn).toBe(NQN);
    expect(id.sn.trim()).toBe('VFUHOST1');
    expect(c.cntlid).toBe(id.cntlid);
    const ns = c.namespaces[0]!;
    expect(ns.blockSize).toBe(512);
    const qps = [await c.allocIoQPair({ queueSize: 129 }), await c.allocIoQPair({ queueSize: 32 })];
    for (const [i, qp] of qps.entries()) {
      for (const qd of [1, 8, 128]) {
        if (qd >= qp.queueSize) continue;
        await rwVerify(ns, qp, { qd, ios: 4 * qd, lbaBase: i * 8192 + qd * 16, nlb: 8, seed: qd + i });
      }
    }
    // Large transfers: PRP lists (128 KiB = 32 pages).
    const big = Buffer.alloc(128 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    const irqsBefore = transport.stats(dir)?.interrupts ?? 0;
    await ns.write(40000, big);
    expect(Buffer.from(await ns.read(40000, 256)).equals(big)).toBe(true);
    // A polled queue's CQ is created without IEN (as Linux's poll queues): the controller
    // signals no vector for its completions.
    const irqsDuringIo = (transport.stats(dir)?.interrupts ?? 0) - irqsBefore;
    if (want.interrupts) expect(irqsDuringIo).toBeGreaterThan(0);
    else expect(irqsDuringIo).toBe(0);
    const s = hostStats(c);
    expect(s.doorbellsMapped).toBe(want.mapped);
    expect(s.shadowDoorbells).toBe(want.shadow);
    if (want.dma) expect(s.dmaRequests).toBeGreaterThan(0);
    else expect(s.dmaRequests).toBe(0);
    if (want.interrupts) expect(s.interrupts).toBeGreaterThan(0);
    if (!want.mapped) expect(transport.stats(dir)?.doorbellMessages).toBeGreaterThan(0);
    for (const qp of qps) await c.freeIoQPair(qp);
    await c.close();
    expect(c.state).toBe('closed');
  });

  it("takes SPDK's transport ID as SPDK users write it: trtype:VFIOUSER traddr:<socket directory>, no subnqn", async () => {
    const { dir } = await start();
    const c = await connect(`trtype:VFIOUSER traddr:${dir}`, { reconnect: false });
    cleanups.push(() => c.close());
    expect(c.isDiscovery).toBe(false);
    expect((await c.identifyController()).subnqn).toBe(NQN);
    const ns = c.namespaces[0]!;
    const data = Buffer.alloc(4096, 0x5a);
    await ns.write(8, data);
    expect(Buffer.from(await ns.read(8, 8)).equals(data)).toBe(true);
    await c.close();
    // The socket itself works as traddr too.
    const c2 = await connect({ trtype: 'vfio-user', traddr: `${dir}/cntrl` }, { reconnect: false });
    cleanups.push(() => c2.close());
    expect(Buffer.from(await c2.namespaces[0]!.read(8, 8)).equals(data)).toBe(true);
  });
});
