/** The adaptive poller: spins on setImmediate while busy, sleeps on timers when idle, wakes at once. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdaptivePoller, type PollerOptions } from '../../src/nvme/poller.js';

/** Fake timers and immediates for a test; a file-wide afterEach puts the real ones back. */
function useFakeTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
}

afterEach(() => {
  vi.useRealTimers();
});

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

describe('AdaptivePoller idle cost (issue 14: below 1 % of a core)', () => {
  /** Passes an idle poller runs over `seconds` of fake time after `wake()`. */
  function idlePasses(seconds: number, opts: PollerOptions): number {
    useFakeTimers();
    const p = new AdaptivePoller(
      () => false,
      () => undefined,
      opts,
    );
    p.wake();
    vi.advanceTimersByTime(seconds * 1000);
    const n = p.passes;
    p.stop();
    return n;
  }

  it('sleeps deeply after 250 ms of idle: about 20 wake-ups a second, not 250', () => {
    // 64 spinning passes, 250 ms of 1..4 ms timers (~63 passes), then one pass per 50 ms.
    const n = idlePasses(60, {});
    expect(n).toBeGreaterThan(64 + 63 + 59.75 * 20 - 10);
    expect(n).toBeLessThan(64 + 63 + 59.75 * 20 + 10);
    // Without the deep sleep (the poller before issue 14's fix) it is 4 ms all minute long:
    // the same count shows the difference.
    expect(idlePasses(60, { deepDelayMs: 0 })).toBeGreaterThan(14_000);
  });

  it('wake() during a deep sleep polls at once and starts the back-off over', () => {
    useFakeTimers();
    let work = 0;
    const p = new AdaptivePoller(
      () => work-- > 0,
      () => undefined,
      { spinPasses: 4 },
    );
    p.wake();
    vi.advanceTimersByTime(5000);
    expect(p.sleeping).toBe(true);
    const before = p.passes;
    work = 1;
    p.wake();
    expect(p.sleeping).toBe(false);
    vi.advanceTimersByTime(0); // the setImmediate
    expect(p.passes).toBe(before + 1);
    // Back on the short back-off: the next 250 ms have ~60 passes again, not 5.
    vi.advanceTimersByTime(250);
    expect(p.passes - before).toBeGreaterThan(50);
    p.stop();
  });
});

describe('AdaptivePoller spin window (spinMs)', () => {
  it('keeps spinning for spinMs after the last work however many idle passes that takes, then backs off', () => {
    useFakeTimers();
    let clock = 0;
    let work = 1;
    const p = new AdaptivePoller(
      () => work-- > 0,
      () => undefined,
      { spinPasses: 4, spinMs: 1, now: () => clock },
    );
    p.wake();
    // 100 idle passes at a frozen clock: still inside the window, so never on a timer.
    for (let i = 0; i < 100; i++) vi.advanceTimersToNextTimer();
    expect(p.sleeping).toBe(false);
    expect(p.passes).toBeGreaterThanOrEqual(100);
    // The window passes: the next idle pass backs off to a timer as before.
    clock = 1.5;
    vi.advanceTimersToNextTimer();
    expect(p.sleeping).toBe(true);
    // Without spinMs the same poller sleeps after its 4 idle passes.
    const q = new AdaptivePoller(
      () => false,
      () => undefined,
      { spinPasses: 4, now: () => clock },
    );
    q.wake();
    for (let i = 0; i < 10; i++) vi.advanceTimersToNextTimer();
    expect(q.sleeping).toBe(true);
    p.stop();
    q.stop();
  });
});

describe('AdaptivePoller interrupt mode (arm)', () => {
  it("stops with no timer once arm() says 'armed': no pass in a minute, and wake() polls at once", () => {
    useFakeTimers();
    let arms = 0;
    const p = new AdaptivePoller(
      () => false,
      () => undefined,
      {
        spinPasses: 4,
        arm: () => {
          arms++;
          return 'armed';
        },
      },
    );
    p.wake();
    vi.advanceTimersByTime(60_000);
    // 4 spinning passes, then armed: the polling mode runs ~1,300 passes in the same minute.
    expect(p.passes).toBe(4);
    expect(arms).toBe(1);
    expect(p.waitingForMessage).toBe(true);
    expect(p.sleeping).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    p.wake();
    expect(p.waitingForMessage).toBe(false);
    vi.advanceTimersByTime(0);
    expect(p.passes).toBe(5);
    p.stop();
  });

  it("polls again at once on 'work' (the re-check found a command) and backs off on timers on 'later'", () => {
    useFakeTimers();
    const results: ('work' | 'later' | 'armed')[] = ['work', 'later', 'armed'];
    let work = 0;
    const p = new AdaptivePoller(
      () => work-- > 0,
      () => undefined,
      {
        spinPasses: 1,
        arm: () => {
          const r = results.shift() ?? 'armed';
          if (r === 'work') work = 1;
          return r;
        },
      },
    );
    p.wake();
    vi.advanceTimersToNextTimer(); // pass 1: idle -> arm: 'work' -> pass 2 on setImmediate
    expect(p.passes).toBe(1);
    expect(p.sleeping).toBe(false);
    vi.advanceTimersToNextTimer(); // pass 2 finds the work
    expect(p.passes).toBe(2);
    expect(work).toBe(0);
    // The next idle pass arms: 'later' -> a timer, as the polling mode.
    vi.advanceTimersToNextTimer();
    expect(p.passes).toBe(3);
    expect(p.sleeping).toBe(true);
    expect(p.waitingForMessage).toBe(false);
    // After the timer, the idle pass arms again: 'armed'.
    vi.advanceTimersByTime(10);
    expect(p.waitingForMessage).toBe(true);
    p.stop();
  });
});
