import { describe, expect, it } from 'vitest';
import { median, medianInterval } from './stats.js';
import { summarizeAb, type AbSample } from './tracing-ab.js';

const sample = (tracing: AbSample['tracing'], cpuUsPerMsg: number): AbSample => ({ tracing, cpuUsPerMsg, perSecond: 1e6 / cpuUsPerMsg });

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('medianInterval', () => {
  it('holds the median, is a point for equal values, and is the same on every call', () => {
    const values = [-2, 5, 1, 0.5, 3, -1, 2, 1.5, 0, 4];
    const [low, high] = medianInterval(values);
    expect(low).toBeLessThanOrEqual(median(values));
    expect(high).toBeGreaterThanOrEqual(median(values));
    expect(low).toBeGreaterThanOrEqual(-2);
    expect(high).toBeLessThanOrEqual(5);
    expect(medianInterval(values)).toEqual([low, high]);
    expect(medianInterval([2, 2, 2])).toEqual([2, 2]);
    expect(medianInterval([]).every(Number.isNaN)).toBe(true);
  });
});

describe('summarizeAb', () => {
  it('pairs the runs in the order they ran and takes the median of the paired changes', () => {
    // Pairs: (1.00, 1.02) off first, (1.03, 1.50) join first, (2.00, 2.04): a drifting machine
    // moves both halves of a pair, and one wild run moves the median of the changes little.
    const samples = [sample('off', 1), sample('join', 1.02), sample('join', 1.5), sample('off', 1.03), sample('off', 2), sample('join', 2.04)];
    const summary = summarizeAb(samples)!;
    expect(summary.pairs).toBe(3);
    expect(summary.a).toEqual({ min: 1, median: 1.03 }); // off
    expect(summary.b).toEqual({ min: 1.02, median: 1.5 }); // join
    expect(summary.pairedMedianPct).toBeCloseTo(2, 6);
    expect(summary.pairedInterval[0]).toBeLessThanOrEqual(summary.pairedMedianPct);
    expect(summary.pairedInterval[1]).toBeGreaterThanOrEqual(summary.pairedMedianPct);
  });

  it('is undefined without a whole pair', () => {
    expect(summarizeAb([sample('off', 1)])).toBeUndefined();
    expect(summarizeAb([])).toBeUndefined();
  });
});
