import { describe, expect, it } from 'vitest';
import { percentile, SampleStore, summarize } from './stats.js';
import { settingsFor } from './row.js';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
  });

  it('gives NaN for no samples and the value for one', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('summarize', () => {
  it('sorts its input and reports mean and max', () => {
    expect(summarize([3, 1, 2, 4])).toEqual({ samples: 4, p50: 2, p99: 4, max: 4, mean: 2.5 });
  });
});

describe('SampleStore', () => {
  it('keeps every sample below capacity', () => {
    const store = new SampleStore(10);
    for (const v of [5, 1, 3]) store.add(v);
    expect(store.count).toBe(3);
    expect(store.summary()).toMatchObject({ samples: 3, p50: 3, max: 5, mean: 3 });
  });

  it('stays bounded past capacity, with exact mean and max over everything seen', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const store = new SampleStore(1000, random);
    for (let i = 1; i <= 100_000; i += 1) store.add(i);
    const summary = store.summary();
    expect(store.count).toBe(100_000);
    expect(summary.samples).toBe(1000);
    expect(summary.max).toBe(100_000);
    expect(summary.mean).toBe(50_000.5);
    // A uniform reservoir of a uniform ramp: the median sits near the middle.
    expect(summary.p50).toBeGreaterThan(40_000);
    expect(summary.p50).toBeLessThan(60_000);
  });
});

describe('settingsFor', () => {
  it('shrinks the message window as fan-out grows, and caps rows that pile up in a broker', () => {
    expect(settingsFor({ fanout: 1, payloadBytes: 100 }, 'full').window).toBe(1000);
    expect(settingsFor({ fanout: 1000, payloadBytes: 100, inflight: 500 }, 'full').window).toBe(2);
    expect(settingsFor({ fanout: 1, payloadBytes: 10_240 }, 'quick').window).toBe(200);
    expect(settingsFor({ fanout: 1, payloadBytes: 100, maxMessages: 5000 }, 'full').messages).toBe(5000);
    expect(settingsFor({ fanout: 1, payloadBytes: 100 }, 'smoke').messages).toBeLessThan(settingsFor({ fanout: 1, payloadBytes: 100 }, 'quick').messages);
  });
});
