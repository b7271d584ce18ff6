/**
 * Event-loop responsiveness (issue 14): one polling pass — one turn of the event loop — fetches
 * a bounded number of commands however much the guest queued, so management and other
 * transports served by the same process get the loop back within a bounded batch. Counted in
 * commands, not timed.
 */
import { afterEach, expect, it } from 'vitest';
import { PASS_BUDGET } from '../../src/nvme/controller.js';
import { setup, type Setup } from './harness.js';

let env: Setup | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

it('one pass fetches at most PASS_BUDGET commands from full SQs, and the next passes take the rest', async () => {
  env = await setup();
  const { guest, dev } = env;
  expect(guest.enable() & 1).toBe(1);
  expect((await guest.setNumQueues(2)).status).toBe(0);
  const size = 256;
  expect(await guest.createIoQueue(1, size)).toEqual([0, 0]);
  expect(await guest.createIoQueue(2, size)).toEqual([0, 0]);
  const buf = guest.alloc(4096);
  // Both SQs full (size - 1 entries each), rung, before the poller gets a turn.
  const queued = 2 * (size - 1);
  const cids: [number, number][] = [];
  for (let i = 0; i < size - 1; i++) {
    cids.push([1, guest.rw(1, false, i, 1, buf)]);
    cids.push([2, guest.rw(2, false, i, 1, buf)]);
  }
  expect(queued).toBeGreaterThan(PASS_BUDGET);
  const before = dev.stats.commands;
  dev.pollOnce();
  const first = dev.stats.commands - before;
  expect(first).toBeGreaterThan(0);
  expect(first).toBeLessThanOrEqual(PASS_BUDGET);
  // Every command is served all the same, over later passes.
  let done = 0;
  for (const [qid, cid] of cids) {
    const c = guest.stray.find((s) => s.cid === cid) ?? (await guest.wait(qid, cid));
    expect(c.status).toBe(0);
    done++;
  }
  expect(done).toBe(queued);
});

it('a pass raises an interrupt every 32 completions, so the host consumes while the target works', async () => {
  env = await setup();
  const { guest, dev, ctx } = env;
  expect(guest.enable() & 1).toBe(1);
  expect((await guest.setNumQueues(1)).status).toBe(0);
  expect(await guest.createIoQueue(1, 256, 1)).toEqual([0, 0]);
  const buf = guest.alloc(4096);
  for (let i = 0; i < 128; i++) guest.rw(1, false, i, 1, buf);
  const before = ctx.irqs.filter((v) => v === 1).length;
  dev.pollOnce();
  // 128 synchronous completions (malloc bdev) in one pass: 4 interrupts on vector 1, not 1.
  expect(ctx.irqs.filter((v) => v === 1).length - before).toBe(4);
});
