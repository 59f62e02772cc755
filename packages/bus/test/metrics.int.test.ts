/**
 * The bus's metrics with an OpenTelemetry MeterProvider registered (an in-memory exporter read on
 * demand): emits counted and timed per event name, deliveries, handler durations, retries and dead
 * letters per consumer group, and each group's lag, on memory and on RabbitMQ.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deferred, hostileThrown, inMemoryMetrics, metricNamed, waitFor } from '@events/testing';
import fc from 'fast-check';
import { METRICS, type JourneyStep } from '@events/core';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { createBus } from '../src/create-bus.js';
import { memoryBus } from '../src/adapters/memory.js';
import { targets } from './targets.js';

const telemetry = inMemoryMetrics();
beforeAll(telemetry.install);
afterAll(telemetry.uninstall);

type Events = { 'orders.Placed': { n: number }; 'orders.Broken': { n: number }; 'orders.Slow': { n: number } };

/** The points of `metric` (checked for its unit) whose attributes include `match`. */
function pointsOf(collected: readonly MetricData[], metric: { name: string; unit: string }, match: Record<string, string>): Array<DataPoint<unknown>> {
  const found = metricNamed(collected, metric.name);
  if (!found) return [];
  expect(found.metric.descriptor.unit).toBe(metric.unit);
  return found.points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

const sum = (points: ReadonlyArray<DataPoint<unknown>>): number => points.reduce((total, p) => total + (typeof p.value === 'number' ? p.value : (p.value as Histogram).count), 0);

describe.each(targets)('bus metrics on %s', (system, make) => {
  it('counts and times emits, deliveries, handler attempts, retries and dead letters with the semantic-convention names, units and attributes', async () => {
    const { adapter, cleanup } = await make();
    const bus = createBus<Events>({ adapter, retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, onError: () => undefined });
    let mailed = 0;
    let broken = 0;
    let collected: MetricData[] = [];
    try {
      await bus.on('orders.Placed', async () => undefined, { group: 'audit' });
      await bus.on('orders.Placed', async () => {
        mailed += 1;
        if (mailed === 1) throw new TypeError('smtp hiccup');
      }, { group: 'mail' });
      await bus.on('orders.Broken', async () => {
        broken += 1;
        throw new Error('never');
      }, { group: 'audit' });
      await bus.emit('orders.Placed', { n: 1 });
      await bus.emit('orders.Broken', { n: 2 });
      const settled = (c: MetricData[]): boolean =>
        sum(pointsOf(c, METRICS.busDeadLetters, { 'messaging.system': system })) === 1 && sum(pointsOf(c, METRICS.processDuration, { 'messaging.system': system, 'messaging.consumer.group.name': 'mail' })) === 2;
      await waitFor(async () => settled(await telemetry.collect()), 15_000, 'the retry and the dead letter');
      collected = await telemetry.collect();
    } finally {
      await bus.close();
      await cleanup();
    }
    const base = { 'messaging.system': system, 'events.tier': 'bus' };
    const placed = { ...base, 'messaging.destination.name': 'orders.Placed' };
    const brokenAt = { ...base, 'messaging.destination.name': 'orders.Broken', 'messaging.consumer.group.name': 'audit' };

    const sent = pointsOf(collected, METRICS.sent, { ...placed, 'messaging.operation.name': 'emit' });
    expect(sent.map((p) => p.value)).toEqual([1]);
    expect(sent[0]?.attributes['error.type']).toBeUndefined();
    const sendTimes = pointsOf(collected, METRICS.operationDuration, placed);
    expect(sum(sendTimes)).toBe(1);
    expect((sendTimes[0]?.value as Histogram).sum).toBeLessThan(30); // seconds, not milliseconds
    expect((sendTimes[0]?.value as Histogram).buckets.boundaries.slice(0, 2)).toEqual([0.001, 0.005]); // buckets in seconds

    expect(sum(pointsOf(collected, METRICS.consumed, { ...placed, 'messaging.consumer.group.name': 'audit' }))).toBe(1);
    expect(sum(pointsOf(collected, METRICS.consumed, { ...placed, 'messaging.consumer.group.name': 'mail' }))).toBe(1);
    expect(sum(pointsOf(collected, METRICS.consumed, brokenAt))).toBe(1);

    const mailTimes = pointsOf(collected, METRICS.processDuration, { ...placed, 'messaging.consumer.group.name': 'mail' });
    expect(sum(mailTimes)).toBe(2);
    expect(mailTimes.map((p) => p.attributes['error.type']).sort()).toEqual(['TypeError', undefined]);
    expect(sum(pointsOf(collected, METRICS.processDuration, { ...brokenAt, 'error.type': 'Error' }))).toBe(2);

    expect(sum(pointsOf(collected, METRICS.busRetries, { ...placed, 'messaging.consumer.group.name': 'mail' }))).toBe(1);
    expect(sum(pointsOf(collected, METRICS.busRetries, brokenAt))).toBe(1);
    expect(sum(pointsOf(collected, METRICS.busRetries, { ...placed, 'messaging.consumer.group.name': 'audit' }))).toBe(0);
    expect(sum(pointsOf(collected, METRICS.busDeadLetters, brokenAt))).toBe(1);
    expect(sum(pointsOf(collected, METRICS.busDeadLetters, placed))).toBe(0);
    expect(broken).toBe(2);
  });

  it('a refused emit is counted with its error.type', async () => {
    const { adapter, cleanup } = await make();
    const bus = createBus<Events>({ adapter, onError: () => undefined });
    try {
      await bus.start();
      const aborted = AbortSignal.abort(new Error('caller gave up'));
      await expect(bus.emit('orders.Slow', { n: 1 }, { signal: aborted })).rejects.toThrow('caller gave up');
      // Counts are reported while the bus is open (its collection callback goes with it).
      const refused = pointsOf(await telemetry.collect(), METRICS.sent, { 'messaging.system': system, 'messaging.destination.name': 'orders.Slow', 'error.type': 'Error' });
      expect(sum(refused)).toBe(1);
    } finally {
      await bus.close();
      await cleanup();
    }
  });

  it('consumer lag per group: events accepted and not yet handled, back to 0 once handled; the gauge stops with the bus', async () => {
    const { adapter, cleanup } = await make();
    const stats = vi.spyOn(adapter, 'stats');
    const bus = createBus<Events>({ adapter, onError: () => undefined });
    const release = deferred();
    let started = 0;
    let handled = 0;
    const lagOf = async (): Promise<number | undefined> => {
      const points = pointsOf(await telemetry.collect(), METRICS.busLag, { 'messaging.system': system, 'messaging.consumer.group.name': 'slow', 'messaging.destination.name': 'orders.Slow' });
      return points.length === 0 ? undefined : sum(points);
    };
    try {
      await bus.on('orders.Slow', async () => {
        started += 1;
        await release.promise;
        handled += 1;
      }, { group: 'slow', concurrency: 1 });
      for (let n = 0; n < 3; n += 1) await bus.emit('orders.Slow', { n });
      // Memory holds the two waiting events in its buffer; RabbitMQ's broker holds them (prefetch 1): only the one in flight is known here.
      const expected = system === 'memory' ? 3 : 1;
      await waitFor(async () => started === 1 && (await lagOf()) === expected, 10_000, `a lag of ${expected}`);
      release.resolve();
      await waitFor(() => handled === 3, 10_000, 'every event handled');
      await waitFor(async () => (await lagOf()) === 0, 10_000, 'a lag of 0');
      expect(stats).toHaveBeenCalled();
    } finally {
      release.resolve();
      await bus.close();
      await cleanup();
    }
    // Closed: the lag callback is unregistered, so a collection no longer reads this bus's adapter.
    stats.mockClear();
    await telemetry.collect();
    expect(stats).not.toHaveBeenCalled();
  });
});

describe('bus metrics and journal under hostile failures (memory)', () => {
  it('whatever a handler throws, the attempt is counted with a string error.type and journaled with an error text, and the bus goes on', async () => {
    const hostile = hostileThrown();
    const steps: JourneyStep[] = [];
    const bus = createBus<Events>({ adapter: memoryBus(), journal: { record: (s) => void steps.push(s) }, retry: { attempts: 1 }, onError: () => undefined });
    let thrown: unknown;
    let calls = 0;
    try {
      await bus.on('orders.Broken', async () => {
        calls += 1;
        throw thrown;
      }, { group: 'hostile' });
      await fc.assert(
        fc.asyncProperty(hostile, async (value) => {
          thrown = value;
          const before = calls;
          const event = await bus.emit('orders.Broken', { n: calls });
          await waitFor(() => steps.some((s) => s.kind === 'handle' && s.envelopeId === event.id), 5_000, 'the handle step');
          const step = steps.find((s) => s.kind === 'handle' && s.envelopeId === event.id)!;
          expect(calls).toBe(before + 1);
          expect(step.outcome).toBe('dead_letter');
          expect(typeof step.error).toBe('string');
        }),
        { numRuns: 60 },
      );
      const times = pointsOf(await telemetry.collect(), METRICS.processDuration, { 'messaging.system': 'memory', 'messaging.consumer.group.name': 'hostile' });
      expect(sum(times)).toBeGreaterThanOrEqual(60);
      for (const p of times) expect(typeof p.attributes['error.type']).toBe('string');
      expect(sum(pointsOf(await telemetry.collect(), METRICS.busDeadLetters, { 'messaging.consumer.group.name': 'hostile' }))).toBe(sum(times));
    } finally {
      await bus.close();
    }
  });
});
