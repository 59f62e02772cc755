/**
 * Latency bookkeeping for one row: a bounded sample store (so a million deliveries never cost a
 * million doubles) and nearest-rank percentiles over what was kept.
 */

/** Nearest-rank percentile of an ascending-sorted array; `NaN` when it is empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

/** The median of `values` (the mean of the two middle ones when their count is even); `NaN` when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A 95 % interval for the median of `values` by the bootstrap (`resamples` resamplings with
 * replacement, from a fixed seed so a report reads the same twice): [NaN, NaN] when empty.
 */
export function medianInterval(values: readonly number[], resamples = 2_000): [number, number] {
  if (values.length === 0) return [Number.NaN, Number.NaN];
  // mulberry32: a small seeded generator; Math.random would make every report differ.
  let seed = 0x9e3779b9;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const medians = new Float64Array(resamples);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r += 1) {
    for (let i = 0; i < values.length; i += 1) sample[i] = values[Math.floor(random() * values.length)]!;
    medians[r] = median(sample);
  }
  medians.sort();
  return [percentile(medians, 2.5), percentile(medians, 97.5)];
}

/** What pairs of runs (a, b) of one row say, CPU µs per message: each mode's lowest and median, and the paired changes. */
export interface PairedSummary {
  readonly pairs: number;
  readonly a: { readonly min: number; readonly median: number };
  readonly b: { readonly min: number; readonly median: number };
  /** Median over the pairs of b / a - 1, in %: each pair ran next to itself in time, so a drifting machine weighs on both. */
  readonly pairedMedianPct: number;
  /** A 95 % interval for pairedMedianPct (medianInterval). */
  readonly pairedInterval: readonly [number, number];
}

/** Sums up pairs of runs, `[a, b]` each; undefined without one. */
export function summarizePairs(pairs: ReadonlyArray<readonly [number, number]>): PairedSummary | undefined {
  if (pairs.length === 0) return undefined;
  const as = pairs.map(([a]) => a);
  const bs = pairs.map(([, b]) => b);
  const changes = pairs.map(([a, b]) => (b / a - 1) * 100);
  return {
    pairs: pairs.length,
    a: { min: Math.min(...as), median: median(as) },
    b: { min: Math.min(...bs), median: median(bs) },
    pairedMedianPct: median(changes),
    pairedInterval: medianInterval(changes),
  };
}

export interface LatencySummary {
  /** Samples the percentiles were computed over (may be fewer than deliveries, see SampleStore). */
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Keeps at most `capacity` samples. Once full it keeps a uniform random subset (reservoir
 * sampling, Algorithm R), so long rows still give unbiased percentiles in constant memory.
 */
export class SampleStore {
  private readonly values: Float64Array;
  private seen = 0;
  private sum = 0;
  private maxSeen = 0;

  constructor(readonly capacity = 200_000, private readonly random: () => number = Math.random) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.sum += value;
    if (value > this.maxSeen) this.maxSeen = value;
    if (this.seen < this.capacity) {
      this.values[this.seen] = value;
    } else {
      const slot = Math.floor(this.random() * (this.seen + 1));
      if (slot < this.capacity) this.values[slot] = value;
    }
    this.seen += 1;
  }

  get count(): number {
    return this.seen;
  }

  /** A copy of the kept samples (for merging samples gathered in another process). */
  kept(): number[] {
    return Array.from(this.values.subarray(0, Math.min(this.seen, this.capacity)));
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, Math.min(this.seen, this.capacity)), {
      mean: this.seen === 0 ? Number.NaN : this.sum / this.seen,
      max: this.seen === 0 ? Number.NaN : this.maxSeen,
    });
  }
}

/** Percentiles of `values` (any order); `exact` overrides mean/max when they were tracked apart. */
export function summarize(values: ArrayLike<number>, exact?: { mean: number; max: number }): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: exact?.max ?? (sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
    mean: exact?.mean ?? (sorted.length ? sum / sorted.length : Number.NaN),
  };
}
