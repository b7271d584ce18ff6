import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HISTOGRAM_BUCKETS, LatencyHistogram, bucketHigh, bucketIndex, bucketLow } from '../src/histogram.js';

/** Nearest-rank percentile of a sorted array (the reference). */
function exact(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('bucket layout', () => {
  it('puts every value in a bucket whose bounds contain it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), (v) => {
        const i = bucketIndex(v);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(HISTOGRAM_BUCKETS);
        expect(bucketLow(i)).toBeLessThanOrEqual(v);
        expect(bucketHigh(i)).toBeGreaterThanOrEqual(v);
        // Log-linear: a bucket is at most 1/64 of its lower edge wide (exact below 128 ns).
        expect(bucketHigh(i) - bucketLow(i) + 1).toBeLessThanOrEqual(Math.max(1, bucketLow(i) / 64));
      }),
      { numRuns: 2000 },
    );
  });

  it('has contiguous buckets', () => {
    for (let i = 1; i < HISTOGRAM_BUCKETS; i++) expect(bucketLow(i)).toBe(bucketHigh(i - 1) + 1);
    expect(bucketHigh(HISTOGRAM_BUCKETS - 1)).toBe(2 ** 40 - 1);
  });

  it('clamps values out of range', () => {
    expect(bucketIndex(-5)).toBe(0);
    expect(bucketIndex(2 ** 50)).toBe(HISTOGRAM_BUCKETS - 1);
  });
});

describe('LatencyHistogram', () => {
  it('matches percentiles computed by sorting, within one bucket', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 0, max: 2 ** 36 })), { minLength: 1, maxLength: 2000 }),
        (values) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          for (const p of [1, 50, 90, 99, 99.9, 100]) {
            const ref = exact(sorted, p);
            const got = h.percentile(p);
            expect(got).toBeGreaterThanOrEqual(ref);
            expect(got).toBeLessThanOrEqual(ref + Math.max(0, ref / 64));
          }
          expect(h.count).toBe(values.length);
          expect(h.minNs).toBe(sorted[0]);
          expect(h.maxNs).toBe(sorted.at(-1));
          expect(h.meanNs).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('merges like recording everything in one', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 })), fc.array(fc.integer({ min: 0, max: 10_000_000 })), (a, b) => {
        const ha = new LatencyHistogram();
        const hb = new LatencyHistogram();
        const all = new LatencyHistogram();
        for (const v of a) {
          ha.record(v);
          all.record(v);
        }
        for (const v of b) {
          hb.record(v);
          all.record(v);
        }
        ha.add(hb);
        expect(Array.from(ha.counts)).toEqual(Array.from(all.counts));
        expect(ha.count).toBe(all.count);
        expect(ha.minNs).toBe(all.minNs);
        expect(ha.maxNs).toBe(all.maxNs);
        for (const p of [50, 99]) expect(ha.percentile(p)).toBe(all.percentile(p));
      }),
      { numRuns: 100 },
    );
  });

  it('lists non-empty buckets with cumulative percentages ending at 100', () => {
    const h = new LatencyHistogram();
    for (const v of [10, 10, 1000, 1_000_000]) h.record(v);
    const b = h.buckets();
    expect(b.map((x) => x.count)).toEqual([2, 1, 1]);
    expect(b.map((x) => x.cumulativePercent)).toEqual([50, 75, 100]);
    expect(b[0]).toMatchObject({ lowNs: 10, highNs: 10 });
  });

  it('is empty-safe and resettable', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(99)).toBe(0);
    expect(h.meanNs).toBe(0);
    h.record(5);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.buckets()).toEqual([]);
    expect(() => {
      h.record(1);
      h.percentile(0);
    }).toThrow(RangeError);
  });
});
