import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CpuProfile, median, slope, topSelfTime } from '../src/index.js';

describe('median and slope', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('slope recovers a line', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (a, b) => {
        const xs = Array.from({ length: 30 }, (_, i) => i + 0.5);
        expect(slope(xs, xs.map((x) => a * x + b))).toBeCloseTo(a, 3);
      }),
    );
    expect(slope([1], [5])).toBe(0);
  });
});

describe('topSelfTime', () => {
  it('sums the time after each sample per function, idle left out', () => {
    const frame = (functionName: string, url = 'file:///a/b/c.js', lineNumber = 9) => ({ functionName, url, lineNumber });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('hot'), children: [5] },
        { id: 3, callFrame: frame('cold') },
        { id: 4, callFrame: frame('(idle)', '') },
        { id: 5, callFrame: frame('', '') },
      ],
      samples: [2, 3, 2, 4, 2, 5],
      timeDeltas: [0, 100, 300, 50, 1000, 7, 20, 0],
    };
    const t = topSelfTime(profile, 10);
    expect(t.idleMs).toBeCloseTo(1, 9);
    expect(t.busyMs).toBeCloseTo(0.477, 9);
    expect(t.rows[0]).toEqual({ name: 'cold (b/c.js:10)', selfMs: 0.3, percent: (100 * 300) / 477 });
    expect(t.rows[1]?.name).toBe('hot (b/c.js:10)');
    expect(t.rows[1]?.selfMs).toBeCloseTo(0.157, 9);
    expect(t.rows[2]?.name).toBe('(native, called by hot)');
    expect(t.rows[2]?.selfMs).toBeCloseTo(0.02, 9);
    expect(t.rows).toHaveLength(3);
  });
});
