/**
 * Interrupt mode (SPDK's vfio-user interrupt_mode): BAR0 offers no doorbell mmap area, a
 * doorbell message wakes the poller, and before it sleeps the controller arms each shadow
 * doorbell's EventIdx and checks the tail again. Over the fake DeviceContext; no timing is
 * asserted: "asleep" is the poller's state, and a command is served or not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BAR0, type PollerOptions } from '../../src/target.js';
import { setup, type Guest, type Setup } from './harness.js';

let env: Setup | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** Event-loop turns until `cond` holds (at most `max` of them). */
async function until(cond: () => boolean, max = 2000): Promise<void> {
  for (let i = 0; i < max && !cond(); i++) await tick();
}

/** A controller in interrupt mode, as the real server serves it: no BAR0 memory, doorbells by message. */
async function interruptSetup(poller: PollerOptions = {}): Promise<Setup> {
  env = await setup({ transport: { interruptMode: true, poller } });
  env.ctx.noBarMemory = true;
  env.guest.doorbellsByMessage = true;
  expect(env.guest.enable() & 1).toBe(1);
  expect((await env.guest.setNumQueues(4)).status).toBe(0);
  expect(await env.guest.createIoQueue(1, 16)).toEqual([0, 0]);
  return env;
}

/** Doorbell Buffer Config; returns the shadow and EventIdx pages' addresses. */
async function shadowDoorbells(guest: Guest): Promise<{ shadow: number; eventIdx: number }> {
  const { cqe, shadow, eventIdx } = await guest.doorbellBufferConfig();
  expect(cqe.status).toBe(0);
  return { shadow, eventIdx };
}

/** Linux nvme_dbbuf_need_event: ring the real doorbell when the EventIdx lies in [old, new). */
function needEvent(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}

describe('interrupt mode: BAR0', () => {
  it('offers no doorbell mmap area (polling mode offers the doorbell page)', async () => {
    env = await setup({ transport: { interruptMode: true } });
    const bar = env.dev.spec.bars.find((b) => b.index === 0);
    expect(bar?.size).toBe(BAR0.size);
    expect(bar?.mmapAreas ?? []).toEqual([]);
    await env.close();
    env = await setup();
    expect(env.dev.spec.bars.find((b) => b.index === 0)?.mmapAreas).toEqual([{ offset: BAR0.doorbellsOffset, size: BAR0.doorbellsSize }]);
  });
});

describe('interrupt mode without shadow doorbells', () => {
  it('sleeps without passes once idle, and a doorbell message wakes it and serves the command', async () => {
    const { guest, dev } = await interruptSetup();
    const buf = guest.alloc(4096);
    expect((await guest.wait(1, guest.rw(1, true, 0, 8, buf))).status).toBe(0);
    await until(() => dev.waitingForMessage);
    expect(dev.waitingForMessage).toBe(true);
    const passes = dev.stats.passes;
    for (let i = 0; i < 20; i++) await tick();
    // Asleep: not one pass (the polling mode would have run timer passes by now).
    expect(dev.stats.passes).toBe(passes);
    const messages = dev.stats.doorbellMessages;
    const cid = guest.rw(1, false, 0, 8, buf);
    // The REGION_WRITE of the doorbell ends the sleep at once.
    expect(dev.waitingForMessage).toBe(false);
    expect(dev.stats.doorbellMessages).toBe(messages + 1);
    expect((await guest.wait(1, cid)).status).toBe(0);
  });
});

describe('interrupt mode with shadow doorbells (Doorbell Buffer Config)', () => {
  it('arms the EventIdx to the tail before it sleeps, so the next submission rings the real doorbell', async () => {
    const { guest, dev, dma } = await interruptSetup();
    const { shadow, eventIdx } = await shadowDoorbells(guest);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue 1');
    const buf = guest.alloc(4096);
    // A burst through the shadow page only: the controller is polling after the admin command.
    for (let round = 0; round < 3; round++) {
      const old = q.tail;
      const cid = guest.rw(1, false, 0, 8, buf, 0, false);
      dma.ram.writeUInt32LE(q.tail, shadow + 8);
      if (needEvent(dma.ram.readUInt32LE(eventIdx + 8), q.tail, old)) guest.doorbell(1, false, q.tail);
      expect((await guest.wait(1, cid)).status).toBe(0);
    }
    await until(() => dev.waitingForMessage);
    expect(dev.waitingForMessage).toBe(true);
    // Armed: the EventIdx is the tail the controller caught up to.
    expect(dma.ram.readUInt32LE(eventIdx + 8)).toBe(q.tail);
    const passes = dev.stats.passes;
    for (let i = 0; i < 20; i++) await tick();
    expect(dev.stats.passes).toBe(passes);
    // Linux's check now asks for the real doorbell: a message, which wakes the controller.
    const old = q.tail;
    const messages = dev.stats.doorbellMessages;
    const cid = guest.rw(1, false, 0, 8, buf, 0, false);
    dma.ram.writeUInt32LE(q.tail, shadow + 8);
    expect(needEvent(dma.ram.readUInt32LE(eventIdx + 8), q.tail, old)).toBe(true);
    guest.doorbell(1, false, q.tail);
    expect(dev.stats.doorbellMessages).toBe(messages + 1);
    expect(dev.waitingForMessage).toBe(false);
    expect((await guest.wait(1, cid)).status).toBe(0);
  });

  it('leaves the EventIdx behind while it polls, so a busy host writes only the shadow page', async () => {
    // A spin window longer than the test: the controller polls throughout and never arms.
    const { guest, dev, dma } = await interruptSetup({ spinMs: 600_000 });
    const { shadow, eventIdx } = await shadowDoorbells(guest);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue 1');
    const buf = guest.alloc(4096);
    const configured = dma.ram.readUInt32LE(eventIdx + 8);
    // The first submission finds the EventIdx Doorbell Buffer Config wrote and rings; the ones
    // after it do not (the polling mode writes the head each pass, and each of them would ring).
    let rings = 0;
    for (let i = 0; i < 8; i++) {
      const old = q.tail;
      const cid = guest.rw(1, false, 0, 1, buf, 0, false);
      dma.ram.writeUInt32LE(q.tail, shadow + 8);
      if (needEvent(dma.ram.readUInt32LE(eventIdx + 8), q.tail, old)) {
        rings++;
        guest.doorbell(1, false, q.tail);
      }
      expect((await guest.wait(1, cid)).status).toBe(0);
    }
    expect(dev.waitingForMessage).toBe(false);
    expect(rings).toBe(1);
    expect(dma.ram.readUInt32LE(eventIdx + 8)).toBe(configured);
  });

  it('re-reads the shadow tail after arming: a submission that raced the EventIdx write is served without a message', async () => {
    const { guest, dev, dma } = await interruptSetup();
    const { shadow } = await shadowDoorbells(guest);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue 1');
    const buf = guest.alloc(4096);
    let cid = -1;
    let raced = false;
    // The host writes its SQE and shadow tail right between the EventIdx write and the re-check,
    // having read the EventIdx before the write (so it does not ring).
    Reflect.set(dev, 'fence', () => {
      if (raced) return;
      raced = true;
      cid = guest.rw(1, false, 0, 8, buf, 0, false);
      dma.ram.writeUInt32LE(q.tail, shadow + 8);
    });
    const messages = dev.stats.doorbellMessages;
    await until(() => raced);
    expect(raced).toBe(true);
    await until(() => guest.peek(1) !== undefined);
    expect(dev.stats.doorbellMessages).toBe(messages); // served before any message (wait() rings the CQ head)
    expect((await guest.wait(1, cid)).status).toBe(0);
    expect(dev.stats.armRaces).toBe(1);
    await until(() => dev.waitingForMessage);
    expect(dev.waitingForMessage).toBe(true);
  });

  it('does not sleep on messages while a command waits for CQ room the host frees in the shadow page', async () => {
    // No spin window: the controller would arm on its first idle pass.
    const { guest, dev, dma } = await interruptSetup({ spinMs: 0, spinPasses: 1 });
    const { shadow } = await shadowDoorbells(guest);
    const q = guest.queues.get(1);
    if (q === undefined) throw new Error('no queue 1');
    const buf = guest.alloc(4096);
    // A 16-entry CQ holds 15 completions: 15 commands fill it, the 16th waits for room.
    for (let i = 0; i < 15; i++) guest.rw(1, false, 0, 1, buf, 0, false);
    dma.ram.writeUInt32LE(q.tail, shadow + 8);
    guest.doorbell(1, false, q.tail);
    const lastCqe = q.cqAddr + 14 * 16 + 12;
    await until(() => ((dma.ram.readUInt32LE(lastCqe) >>> 16) & 1) === 1);
    const cid = guest.rw(1, false, 0, 1, buf, 0, false);
    dma.ram.writeUInt32LE(q.tail, shadow + 8);
    guest.doorbell(1, false, q.tail);
    await until(() => dev.stats.cqFullStalls > 0);
    expect(dev.stats.cqFullStalls).toBeGreaterThan(0);
    // Idle passes run meanwhile (the stalled command is no work): they must not arm.
    for (let i = 0; i < 20; i++) await tick();
    expect(dev.waitingForMessage).toBe(false);
    // The host takes the completions and writes the head into the shadow page only (the CQ's
    // EventIdx does not ask for the real doorbell): no message comes, yet the command is served.
    const messages = dev.stats.doorbellMessages;
    for (let i = 0; i < 15; i++) expect(guest.pop(1, false)).toBeDefined();
    dma.ram.writeUInt32LE(q.head, shadow + 12);
    await until(() => guest.peek(1) !== undefined);
    expect(dev.stats.doorbellMessages).toBe(messages); // served before any message (wait() rings the CQ head)
    expect((await guest.wait(1, cid)).status).toBe(0);
  });
});

describe('polling mode', () => {
  it('ignores an arm() in the poller options: doorbells rung in the mmapped page are still found', async () => {
    // What a JavaScript caller could pass; only interrupt mode may sleep until a message.
    const poller: PollerOptions = { spinMs: 0, spinPasses: 1, arm: () => 'armed' };
    env = await setup({ transport: { poller } });
    const { guest, dev } = env;
    expect(guest.enable() & 1).toBe(1);
    expect((await guest.setNumQueues(1)).status).toBe(0);
    expect(await guest.createIoQueue(1, 16)).toEqual([0, 0]);
    for (let i = 0; i < 20; i++) await tick();
    expect(dev.waitingForMessage).toBe(false);
    const buf = guest.alloc(4096);
    expect((await guest.wait(1, guest.rw(1, false, 0, 8, buf))).status).toBe(0);
  });
});
