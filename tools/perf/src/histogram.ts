/**
 * An allocation-free latency histogram with log-linear buckets (HdrHistogram's layout, and the
 * idea behind SPDK's `include/spdk/histogram_data.h`): values below 2^SUB_BITS nanoseconds get
 * one bucket each; above that, every power-of-two range is split into 2^(SUB_BITS-1) equal
 * buckets. So a bucket is never wider than 1/2^(SUB_BITS-1) of its lower edge: with SUB_BITS 7,
 * a reported percentile is at most 1/64 (1.6 %) above the exact value.
 *
 * `record()` is the per-I/O call: a few integer operations and one typed-array increment. Counts
 * live in one preallocated Float64Array (exact up to 2^53, no overflow in any real run).
 */

/** Bits of the linear part: 2^SUB_BITS one-nanosecond buckets, then 2^(SUB_BITS-1) per octave. */
const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // 128
const HALF_COUNT = SUB_COUNT >> 1; // 64
/** Largest value kept exactly apart: 2^MAX_BITS ns (about 18 minutes); larger values clamp. */
const MAX_BITS = 40;
const MAX_VALUE = 2 ** MAX_BITS - 1;
const TWO_32 = 0x1_0000_0000;

/** Number of buckets: the linear range plus one half-range per octave up to MAX_BITS. */
export const HISTOGRAM_BUCKETS = SUB_COUNT + (MAX_BITS - SUB_BITS) * HALF_COUNT;

/** Index of the most significant set bit of a non-negative integer below 2^53. */
function msbOf(v: number): number {
  if (v < TWO_32) return 31 - Math.clz32(v);
  return 63 - Math.clz32(Math.floor(v / TWO_32));
}

/** Bucket index of an integer value in nanoseconds (clamped to [0, MAX_VALUE]). */
export function bucketIndex(ns: number): number {
  const v = ns <= 0 ? 0 : ns >= MAX_VALUE ? MAX_VALUE : Math.floor(ns);
  if (v < SUB_COUNT) return v;
  const shift = msbOf(v) - SUB_BITS + 1;
  // sub is in [HALF_COUNT, SUB_COUNT): the top SUB_BITS bits of v.
  const sub = v < TWO_32 ? v >>> shift : Math.floor(v / 2 ** shift);
  return shift * HALF_COUNT + sub;
}

/** Lowest value (ns) that falls in bucket `index`. */
export function bucketLow(index: number): number {
  if (index < SUB_COUNT) return index;
  const shift = Math.floor(index / HALF_COUNT) - 1;
  const sub = index - shift * HALF_COUNT;
  return sub * 2 ** shift;
}

/** Highest value (ns) that falls in bucket `index`. */
export function bucketHigh(index: number): number {
  if (index < SUB_COUNT) return index;
  const shift = Math.floor(index / HALF_COUNT) - 1;
  return bucketLow(index) + 2 ** shift - 1;
}

/** One non-empty bucket of {@link LatencyHistogram.buckets}. */
export interface HistogramBucket {
  /** Lowest latency of the bucket, ns. */
  readonly lowNs: number;
  /** Highest latency of the bucket, ns. */
  readonly highNs: number;
  /** I/Os in this bucket. */
  readonly count: number;
  /** Percentage of all I/Os at or below this bucket. */
  readonly cumulativePercent: number;
}

/** A latency histogram in nanoseconds; see the module comment. */
export class LatencyHistogram {
  /** Count per bucket. */
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  /** Values recorded. */
  count = 0;
  /** Sum of the values (ns), for the average. */
  sumNs = 0;
  /** Smallest value recorded (ns); Infinity when empty. */
  minNs = Infinity;
  /** Largest value recorded (ns); 0 when empty. */
  maxNs = 0;

  /** Records one latency in nanoseconds. Allocation free. */
  record(ns: number): void {
    const i = bucketIndex(ns);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sumNs += ns;
    if (ns < this.minNs) this.minNs = ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /** Adds another histogram's values to this one (per-qpair histograms into a total). */
  add(other: LatencyHistogram): void {
    const c = this.counts;
    const o = other.counts;
    for (let i = 0; i < c.length; i++) c[i] = (c[i] ?? 0) + (o[i] ?? 0);
    this.count += other.count;
    this.sumNs += other.sumNs;
    if (other.minNs < this.minNs) this.minNs = other.minNs;
    if (other.maxNs > this.maxNs) this.maxNs = other.maxNs;
  }

  /** Forgets everything. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumNs = 0;
    this.minNs = Infinity;
    this.maxNs = 0;
  }

  /** Average latency in ns (0 when empty). */
  get meanNs(): number {
    return this.count === 0 ? 0 : this.sumNs / this.count;
  }

  /**
   * The `p`-th percentile (0 < p <= 100) in ns: the highest value of the bucket holding the
   * value of rank ceil(p/100 × count) (nearest-rank), clamped to [min, max]. So it is never below
   * the exact percentile and at most one bucket width (≤ 1/64 relative) above it. 0 when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} not in (0, 100]`);
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      seen += c[i] ?? 0;
      if (seen >= rank) return Math.min(this.maxNs, Math.max(this.minNs, bucketHigh(i)));
    }
    return this.maxNs;
  }

  /** The non-empty buckets, lowest first, with cumulative percentages (for `-L` tables). */
  buckets(): HistogramBucket[] {
    const out: HistogramBucket[] = [];
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      const n = c[i] ?? 0;
      if (n === 0) continue;
      seen += n;
      out.push({ lowNs: bucketLow(i), highNs: bucketHigh(i), count: n, cumulativePercent: (seen / this.count) * 100 });
    }
    return out;
  }
}
