/**
 * The nvmu host against a target in interrupt mode (over the real socket, in one process): the
 * server offers no doorbell mmap area, so the host rings by REGION_WRITE even when it asks for
 * `doorbells:mmap`; with and without shadow doorbells, I/O verifies, the target sleeps on
 * messages once idle, and I/O after the sleep verifies again.
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

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

const MODES: [string, string, { shadow: boolean }][] = [
  ['shadow doorbells, completions polled', 'completions:poll', { shadow: true }],
  ['shadow doorbells, completion interrupts', 'completions:interrupt', { shadow: true }],
  ['no shadow doorbells (every doorbell a message)', 'shadowdb:0 completions:poll', { shadow: false }],
];

describe('vfio-user host transport against an interrupt-mode target', () => {
  it.each(MODES)('%s: doorbells by message, write/verify, idle sleep, write/verify again', async (_name, extra, want) => {
    const transport = new VfioUserTargetTransport({ maxIoQueues: 4, interruptMode: true });
    const dir = await startVfioUserTarget(transport, { blocks: 65536 }, cleanups);
    const c: Controller = await connect(`trtype:vfiouser traddr:${dir} subnqn:${NQN} doorbells:mmap ${extra}`, { reconnect: false, ioQueues: 2 });
    cleanups.push(() => c.close());
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair({ queueSize: 129 });
    for (const qd of [1, 8, 128]) await rwVerify(ns, qp, { qd, ios: 4 * qd, lbaBase: qd * 16, nlb: 8, seed: qd });
    const s = hostStats(c);
    // The server offered no mmap area: the host fell back to REGION_WRITE doorbells.
    expect(s.doorbellsMapped).toBe(false);
    expect(s.shadowDoorbells).toBe(want.shadow);
    const t = transport.stats(dir);
    if (t === undefined) throw new Error('no controller stats');
    expect(t.doorbellMessages).toBeGreaterThan(0);
    // Idle: the target arms and sleeps until a message.
    const sleeps = t.interruptSleeps;
    for (let i = 0; i < 5000 && t.interruptSleeps === sleeps; i++) await tick();
    expect(t.interruptSleeps).toBeGreaterThan(sleeps);
    // The first command after the sleep wakes it (a doorbell message), and I/O verifies again.
    const messages = t.doorbellMessages;
    await rwVerify(ns, qp, { qd: 1, ios: 2, lbaBase: 30000, nlb: 8, seed: 91 });
    await rwVerify(ns, qp, { qd: 32, ios: 256, lbaBase: 40000, nlb: 8, seed: 92 });
    expect(t.doorbellMessages).toBeGreaterThan(messages);
    await c.freeIoQPair(qp);
    await c.close();
  });
});
