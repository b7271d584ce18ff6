/**
 * Keep Alive (NVMe Base 2.0 §3.9, §5.25, §5.27.1.12) on a fake clock: the timer from Connect's
 * KATO, Set Features Keep Alive Timer changing and disabling it, rounding to KAS, and the timer
 * surviving a shutdown followed by a new enable.
 */
import { describe, it, expect, afterEach, beforeEach, vi } from 'vitest';
import type { Target } from '../src/index.js';
import { sqe } from './harness.js';
import { fixture, type Fixture } from './setup.js';

let target: Target | undefined;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(async () => {
  vi.useRealTimers();
  await target?.close();
  target = undefined;
});

async function connected(kato: number): Promise<Fixture> {
  const f = await fixture();
  target = f.target;
  expect((await f.host.connectAdmin(kato)).status).toBe(0);
  await f.host.enable();
  return f;
}

describe('keep-alive timer', () => {
  it('KATO from Connect, rounded up to the 1 s granularity, tears the controller down', async () => {
    const f = await connected(1500); // enforced: 2000 ms
    vi.advanceTimersByTime(1900);
    expect(f.sub.controllers.size).toBe(1);
    vi.advanceTimersByTime(200);
    expect(f.sub.controllers.size).toBe(0);
    expect(f.host.a.closeReasons).toEqual(['keep-alive-timeout']);
  });

  it('each Keep Alive restarts the count', async () => {
    const f = await connected(1000);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(700);
      expect((await f.host.a.submit(sqe(0x18))).status).toBe(0);
    }
    expect(f.sub.controllers.size).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(f.sub.controllers.size).toBe(0);
  });

  it('Set Features Keep Alive Timer changes the timeout; 0 disables it', async () => {
    const f = await connected(1000);
    expect((await f.host.setFeature(0x0f, 10_000)).status).toBe(0);
    vi.advanceTimersByTime(9000);
    expect(f.sub.controllers.size).toBe(1);
    expect((await f.host.setFeature(0x0f, 0)).status).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(f.sub.controllers.size).toBe(1);
    expect((await f.host.getFeature(0x0f)).dw0).toBe(0);
  });

  it('a controller enabled again after a shutdown keeps enforcing KATO', async () => {
    const f = await connected(2000);
    const h = f.host;
    await h.shutdown();
    expect((await h.setProp(0x14, 0)).status).toBe(0); // CC.EN 1 -> 0
    await h.enable();
    vi.advanceTimersByTime(1500);
    expect(f.sub.controllers.size).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(f.sub.controllers.size).toBe(0);
    expect(h.a.closeReasons).toContain('keep-alive-timeout');
  });

  it('KATO 0 in Connect: no timeout on an I/O controller', async () => {
    const f = await connected(0);
    vi.advanceTimersByTime(3_600_000);
    expect(f.sub.controllers.size).toBe(1);
  });
});
