/** The adaptive poller: spins on setImmediate while busy, sleeps on timers when idle, wakes at once. */
import { describe, expect, it } from 'vitest';
import { AdaptivePoller } from '../../src/nvme/poller.js';

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
};

describe('AdaptivePoller', () => {
  it('backs off to timers after its idle passes, and wake() brings it back to spinning', async () => {
    let busy = 0;
    const errors: unknown[] = [];
    const p = new AdaptivePoller(
      () => busy-- > 0,
      (e) => errors.push(e),
      { spinPasses: 8, maxDelayMs: 2 },
    );
    busy = 5;
    p.wake();
    await until(() => p.sleeping);
    expect(p.sleeping).toBe(true);
    expect(p.passes).toBeGreaterThanOrEqual(5 + 8);
    const before = p.passes;
    p.wake();
    expect(p.sleeping).toBe(false);
    await until(() => p.passes > before);
    expect(p.passes).toBeGreaterThan(before);
    p.stop();
    const stopped = p.passes;
    await new Promise((r) => setTimeout(r, 20));
    expect(p.passes).toBe(stopped);
    expect(errors).toEqual([]);
  });

  it('reports a pass that throws and keeps polling', async () => {
    let n = 0;
    const errors: unknown[] = [];
    const p = new AdaptivePoller(
      () => {
        if (++n === 1) throw new Error('boom');
        return false;
      },
      (e) => errors.push(e),
      { spinPasses: 2, maxDelayMs: 1 },
    );
    p.wake();
    await until(() => n >= 5);
    p.stop();
    expect(errors).toHaveLength(1);
    expect(n).toBeGreaterThanOrEqual(5);
  });
});
