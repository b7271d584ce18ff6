import { describe, expect, it, beforeAll } from 'vitest';
import { POLL_SETTINGS, RAW_POLL_SETTINGS, formatLatency, runLatency } from '../src/latency.js';
import { buildPackage } from './build.js';

describe('a tiny latency run (busy-poll off / server / client / both, nvmu and raw)', () => {
  beforeAll(() => {
    buildPackage();
  }, 120_000);

  it('measures every pair and setting, and an idle connected client and target', async () => {
    const r = await runLatency({ seconds: 0.3, warmupSeconds: 0.1, repetitions: 1, windowUs: 50, idleSeconds: 0.5, command: 'test', log: () => undefined });
    expect(r.rows.map((row) => `${row.pair} ${row.poll}`)).toEqual([...POLL_SETTINGS.map((p) => `nvmu ${p}`), ...RAW_POLL_SETTINGS.map((p) => `raw ${p}`)]);
    for (const row of r.rows) {
      expect(row.runs).toHaveLength(1);
      expect(row.median.iops, `${row.pair} ${row.poll}`).toBeGreaterThan(0);
      expect(row.median.p99).toBeGreaterThanOrEqual(row.median.p50);
    }
    expect(r.idle?.on.seconds).toBe(0.5);
    expect(r.idle?.on.windowUs).toBe(50);
    expect(r.idle?.off.windowUs).toBe(0);
    expect(r.idle?.on.targetCpuUsPerSec).toBeGreaterThanOrEqual(0);
    const md = formatLatency(r);
    expect(md).toContain('| raw TCP pair | both ends |');
    expect(md).toContain('mode on (50 µs) target');
  });
});
