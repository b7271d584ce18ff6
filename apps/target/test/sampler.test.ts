/**
 * The latency sampler (nvmf_get_stats' 10 ms timer) must not wake an idle daemon: it runs while
 * I/O does and sleeps, with no timer at all, until the target reports the next I/O.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startLatencySampler, type InflightSource } from '../src/stats.js';

/** A target stand-in: `busy` is what sampleInflight reports; `io()` plays the first I/O after idle. */
class FakeTarget implements InflightSource {
  busy = false;
  samples = 0;
  inflightUs = 0;
  private next: (() => void) | undefined;
  sampleInflight(dtUs: number): boolean {
    this.samples++;
    if (this.busy) this.inflightUs += dtUs;
    return this.busy;
  }
  onNextIo(cb: () => void): void {
    this.next = cb;
  }
  /** An I/O command arrives at an idle qpair. */
  io(): void {
    const cb = this.next;
    this.next = undefined;
    cb?.();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the latency sampler', () => {
  it('sets no timer while the target is idle, runs every 10 ms while I/O runs, and sleeps again after', () => {
    const t = new FakeTarget();
    const stop = startLatencySampler(t, 10);
    vi.advanceTimersByTime(60_000);
    expect(t.samples).toBe(0);
    expect(vi.getTimerCount()).toBe(0);

    t.busy = true;
    t.io();
    vi.advanceTimersByTime(100);
    expect(t.samples).toBe(10);
    expect(t.inflightUs).toBeGreaterThan(0);

    // I/O stops: one more pass sees it, then no timer is left.
    t.busy = false;
    vi.advanceTimersByTime(10);
    const after = t.samples;
    vi.advanceTimersByTime(60_000);
    expect(t.samples).toBe(after);
    expect(vi.getTimerCount()).toBe(0);

    // The next I/O wakes it again.
    t.busy = true;
    t.io();
    vi.advanceTimersByTime(30);
    expect(t.samples).toBe(after + 3);

    stop();
    expect(vi.getTimerCount()).toBe(0);
    t.io();
    vi.advanceTimersByTime(1000);
    expect(t.samples).toBe(after + 3);
  });
});
