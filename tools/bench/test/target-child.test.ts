import { beforeAll, describe, expect, it } from 'vitest';
import { BENCH_NQN, type Pinning, startTarget } from '../src/index.js';
import { buildPackage } from './build.js';

const unpinned: Pinning = { enabled: false, note: 'test' };

describe('target child', () => {
  beforeAll(buildPackage);

  it('starts, listens and reports CPU time and memory, with and without a GC first', async () => {
    const t = await startTarget(unpinned);
    try {
      expect(t.port).toBeGreaterThan(0);
      expect(t.nqn).toBe(BENCH_NQN);
      const s = await t.child.stats();
      expect(s.cpuUs).toBeGreaterThan(0);
      expect(s.ios).toBe(0);
      expect(s.mem.rss).toBeGreaterThan(0);
      expect(s.mem.heapUsed).toBeGreaterThan(0);
      const g = await t.child.stats(true);
      expect(g.mem.heapUsed).toBeGreaterThan(0);
      expect(g.cpuUs).toBeGreaterThanOrEqual(s.cpuUs);
    } finally {
      await t.child.stop();
    }
    expect(t.child.proc.exitCode).toBe(0);
  });
});
