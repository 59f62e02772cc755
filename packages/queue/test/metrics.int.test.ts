/**
 * The queue's metrics with an OpenTelemetry MeterProvider registered (an in-memory exporter read on
 * demand), on memory, BullMQ and PostgreSQL: enqueues counted and timed, attempts delivered and
 * timed, dead letters and attempts per finished job, per job name; the depth and head-of-line age
 * gauges read from the backend in the background, and unregistered when the queue closes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hostileThrown, inMemoryMetrics, metricNamed, waitFor } from '@events/testing';
import fc from 'fast-check';
import { METRICS, type JourneyStep } from '@events/core';
import { metrics } from '@opentelemetry/api';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { createQueue } from '../src/queue.js';
import { memoryQueue } from '../src/adapters/memory.js';
import { targets } from './targets.js';

const telemetry = inMemoryMetrics();
beforeAll(telemetry.install);
afterAll(telemetry.uninstall);

type Jobs = { sendWelcomeEmail: { email: string }; neverWorks: { n: number }; backlog: { n: number }; quiet: { n: number } };

/** The points of `metric` (checked for its unit) whose attributes include `match`. */
function pointsOf(collected: readonly MetricData[], metric: { name: string; unit: string }, match: Record<string, string>): Array<DataPoint<unknown>> {
  const found = metricNamed(collected, metric.name);
  if (!found) return [];
  expect(found.metric.descriptor.unit).toBe(metric.unit);
  return found.points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

const count = (points: ReadonlyArray<DataPoint<unknown>>): number => points.reduce((total, p) => total + (typeof p.value === 'number' ? p.value : (p.value as Histogram).count), 0);
const histogramSum = (points: ReadonlyArray<DataPoint<unknown>>): number => points.reduce((total, p) => total + ((p.value as Histogram).sum ?? 0), 0);

describe.each(targets)('queue metrics on %s', (system, make) => {
  it('counts and times enqueues and attempts, dead letters and attempts per job, with the semantic-convention names, units and attributes', async () => {
    const { adapter, cleanup } = make();
    const queue = createQueue<Jobs>({ adapter, onError: () => undefined });
    let calls = 0;
    let collected: MetricData[] = [];
    const retry = { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } as const;
    try {
      await queue.process('sendWelcomeEmail', async () => {
        calls += 1;
        if (calls === 1) throw new TypeError('smtp down');
      });
      await queue.process('neverWorks', async () => {
        throw new Error('always');
      });
      await queue.enqueue('sendWelcomeEmail', { email: 'a@example.com' }, retry);
      await queue.enqueue('neverWorks', { n: 1 }, retry);
      // Refused to its caller (the job may still be stored: no worker serves `backlog` here).
      const aborted = AbortSignal.abort(new Error('caller gave up'));
      await expect(queue.enqueue('backlog', { n: 1 }, { signal: aborted })).rejects.toThrow('caller gave up');
      await waitFor(async () => count(pointsOf(await telemetry.collect(), METRICS.queueAttempts, { 'messaging.system': system })) === 2, 20_000, 'both jobs finished');
      // Counts are reported while the queue is open (its collection callback goes with it).
      collected = await telemetry.collect();
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
    const at = (name: string) => ({ 'messaging.system': system, 'messaging.destination.name': name, 'events.tier': 'queue' });

    const sent = pointsOf(collected, METRICS.sent, at('sendWelcomeEmail'));
    expect(sent.map((p) => [p.attributes['error.type'], p.value])).toEqual([[undefined, 1]]);
    expect(pointsOf(collected, METRICS.sent, at('backlog')).map((p) => [p.attributes['error.type'], p.value])).toEqual([['Error', 1]]);
    expect(count(pointsOf(collected, METRICS.operationDuration, at('neverWorks')))).toBe(1);
    expect(histogramSum(pointsOf(collected, METRICS.operationDuration, at('neverWorks')))).toBeLessThan(30); // seconds
    expect((pointsOf(collected, METRICS.processDuration, at('neverWorks'))[0]?.value as Histogram).buckets.boundaries.slice(0, 2)).toEqual([0.001, 0.005]);

    expect(count(pointsOf(collected, METRICS.consumed, at('sendWelcomeEmail')))).toBe(2);
    expect(count(pointsOf(collected, METRICS.consumed, at('neverWorks')))).toBe(2);
    const welcomeTimes = pointsOf(collected, METRICS.processDuration, at('sendWelcomeEmail'));
    expect(welcomeTimes.map((p) => [p.attributes['error.type'] ?? 'none', (p.value as Histogram).count]).sort()).toEqual([
      ['TypeError', 1],
      ['none', 1],
    ]);
    expect(count(pointsOf(collected, METRICS.processDuration, { ...at('neverWorks'), 'error.type': 'Error' }))).toBe(2);

    expect(count(pointsOf(collected, METRICS.queueDeadLetters, at('neverWorks')))).toBe(1);
    expect(count(pointsOf(collected, METRICS.queueDeadLetters, at('sendWelcomeEmail')))).toBe(0);
    for (const name of ['sendWelcomeEmail', 'neverWorks']) {
      const attempts = pointsOf(collected, METRICS.queueAttempts, at(name));
      expect(count(attempts)).toBe(1);
      expect(histogramSum(attempts)).toBe(2);
    }
  });

  it('with no MeterProvider registered, the queue keeps no metrics and never reads its backend for them', async () => {
    metrics.disable();
    const { adapter, cleanup } = make();
    const counts = vi.spyOn(adapter.admin!, 'counts');
    const queue = createQueue<Jobs>({ adapter, onError: () => undefined });
    let ran = 0;
    try {
      await queue.process('quiet', async () => void (ran += 1));
      await queue.enqueue('quiet', { n: 1 });
      await waitFor(() => ran === 1, 20_000, 'the job');
      const collected = await telemetry.collect();
      expect(pointsOf(collected, METRICS.sent, { 'messaging.system': system, 'messaging.destination.name': 'quiet' })).toEqual([]);
      expect(counts).not.toHaveBeenCalled();
    } finally {
      telemetry.install(); // registered again for the tests after this one
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });

  it('the depth gauge shows the jobs waiting with no worker running (delayed included), the age gauge the head of the line; both stop with the queue', async () => {
    const { adapter, cleanup } = make();
    const queue = createQueue<Jobs>({ adapter, onError: () => undefined });
    const enqueuedFrom = Date.now();
    const readsOf = vi.fn();
    const observe = async () => {
      const collected = await telemetry.collect();
      const where = { 'messaging.system': system, 'messaging.destination.name': 'backlog', 'events.tier': 'queue' };
      return { depth: pointsOf(collected, METRICS.queueDepth, where).map((p) => p.value), age: pointsOf(collected, METRICS.queueOldestAge, where).map((p) => p.value as number) };
    };
    try {
      for (let n = 0; n < 4; n += 1) await queue.enqueue('backlog', { n });
      await queue.enqueue('backlog', { n: 4 }, { delay: 60_000 });
      await waitFor(async () => (await observe()).depth[0] === 5, 20_000, 'a depth of 5');
      const { age } = await observe();
      expect(age).toHaveLength(1);
      expect(age[0]).toBeGreaterThanOrEqual(0);
      expect(age[0]).toBeLessThanOrEqual((Date.now() - enqueuedFrom) / 1000 + 1);
      // Reads go to the backend's admin seam in the background of collections.
      const admin = adapter.admin!;
      const counts = vi.spyOn(admin, 'counts').mockImplementation(async (name) => {
        readsOf(name);
        return { waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0, paused: false };
      });
      await waitFor(async () => (await observe()).depth[0] === 0, 20_000, 'the next refresh read by a collection');
      expect(readsOf).toHaveBeenCalledWith('backlog');
      await queue.close({ timeoutMs: 5_000 });
      readsOf.mockClear();
      counts.mockClear();
      await telemetry.collect();
      await telemetry.collect();
      expect(counts).not.toHaveBeenCalled();
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });
});

describe('queue metrics and journal under hostile failures (memory)', () => {
  it('whatever a handler throws (undefined included), the attempt is counted with a string error.type and journaled with an error text, and the worker goes on', async () => {
    const hostile = hostileThrown();
    const steps: JourneyStep[] = [];
    const queue = createQueue<Jobs>({ adapter: memoryQueue(), journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    let thrown: unknown;
    let runs = 0;
    try {
      await queue.process('quiet', async () => {
        runs += 1;
        throw thrown;
      });
      await fc.assert(
        fc.asyncProperty(hostile, async (value) => {
          thrown = value;
          const id = await queue.enqueue('quiet', { n: runs }, { attempts: 1 });
          await waitFor(() => steps.some((s) => s.kind === 'attempt' && s.jobId === id), 5_000, 'the attempt step');
          const step = steps.find((s) => s.kind === 'attempt' && s.jobId === id)!;
          expect(step.outcome).toBe('dead_letter');
          expect(typeof step.error).toBe('string');
        }),
        { numRuns: 60 },
      );
      const times = pointsOf(await telemetry.collect(), METRICS.processDuration, { 'messaging.system': 'memory', 'messaging.destination.name': 'quiet' });
      expect(count(times)).toBe(runs);
      for (const p of times) expect(typeof p.attributes['error.type']).toBe('string');
    } finally {
      await queue.close({ timeoutMs: 5_000 });
    }
  });
});
