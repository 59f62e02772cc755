/**
 * The bus's tracing modes with an OpenTelemetry SDK registered. `off`: no span is started, no trace
 * header is written into the envelope, an incoming `traceparent` is not continued, while metrics
 * and the journal go on (steps without a traceId). `join` (the default) traces what is emitted
 * inside a trace and asks nothing of the SDK for what is emitted outside one; `always` starts a
 * trace for that too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryMetrics, inMemoryTracing, metricNamed, waitFor } from '@events/testing';
import { context, propagation, SpanStatusCode } from '@opentelemetry/api';
import { METRICS, type Envelope, type JourneyStep, type TracingMode } from '@events/core';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { createBus } from '../src/create-bus.js';
import { memoryBus } from '../src/adapters/memory.js';

const [tracing, telemetry] = [inMemoryTracing(), inMemoryMetrics()];
beforeAll(() => [tracing, telemetry].forEach((sdk) => sdk.install()));
afterAll(() => Promise.all([tracing.uninstall(), telemetry.uninstall()]));

type Events = { 'orders.Placed': { n: number } };
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The spans of the bus (the test's own `request` span left out). */
const ours = () => tracing.exporter.getFinishedSpans().filter((s) => s.name !== 'request');

async function run(options: { tracing?: TracingMode }): Promise<{ got: Envelope[]; steps: JourneyStep[]; collected: MetricData[] }> {
  tracing.exporter.reset();
  const steps: JourneyStep[] = [];
  const bus = createBus<Events>({ adapter: memoryBus(), ...options, retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } }, journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
  const got: Envelope[] = [];
  let calls = 0;
  await bus.on('orders.Placed', async (event) => {
    calls += 1;
    if (calls === 1) throw new Error('once');
    got.push(event);
  }, { group: 'audit' });
  // Inside a trace: what an HTTP request handler emits.
  await tracing.inSpan('request', async () => {
    await bus.emit('orders.Placed', { n: 1 });
    await bus.emit('orders.Placed', { n: 2 }, { headers: { traceparent: PARENT } });
  });
  await waitFor(() => got.length === 2 && steps.filter((s) => s.kind === 'handle').length === 3, 5000, 'both events handled');
  const collected = await telemetry.collect(); // before close: a closed bus reports no more
  await bus.close();
  return { got, steps, collected };
}

describe('bus tracing modes', () => {
  it('off records no span and writes no trace header, even inside a trace and over an incoming traceparent; metrics and journal steps go on', async () => {
    const { got, steps, collected } = await run({ tracing: 'off' });
    expect(ours()).toEqual([]);
    expect(got[0]!.headers.traceparent).toBeUndefined();
    expect(got[0]!.headers.tracestate).toBeUndefined();
    expect(got[1]!.headers.traceparent).toBe(PARENT); // the application's own header travels untouched
    expect(steps.map((s) => [s.kind, s.outcome])).toEqual(expect.arrayContaining([['emit', 'ok'], ['handle', 'retry'], ['handle', 'ok']]));
    expect(steps.filter((s) => s.kind === 'emit')).toHaveLength(2);
    expect(steps.every((s) => s.traceId === undefined)).toBe(true);
    const sent = metricNamed(collected, METRICS.sent.name);
    expect(sent?.points.some((p) => p.attributes['messaging.operation.name'] === 'emit')).toBe(true);
    expect(metricNamed(collected, METRICS.processDuration.name)?.points.length).toBeGreaterThan(0);
  });

  it('by default (join) the same bus traces what is emitted inside a trace: emit and handle spans, a traceparent written, steps naming the trace', async () => {
    const { got, steps } = await run({});
    const names = ours().map((s) => s.name);
    expect(names.filter((n) => n === 'emit orders.Placed')).toHaveLength(2);
    expect(names.filter((n) => n === 'handle orders.Placed')).toHaveLength(3);
    expect(got[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(steps.every((s) => typeof s.traceId === 'string')).toBe(true);
  });

  it.each([[undefined, 0], ['join', 0], ['always', 2]] as const)('tracing %s, emitted outside any trace: %i spans per emit and its handler, the SDK asked only then', async (mode, perEvent) => {
    tracing.exporter.reset();
    tracing.sampled.count = 0;
    const steps: JourneyStep[] = [];
    const bus = createBus<Events>({ adapter: memoryBus(), ...(mode ? { tracing: mode } : {}), journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    const got: Envelope[] = [];
    await bus.on('orders.Placed', async (event) => void got.push(event), { group: 'audit' });
    for (let n = 0; n < 3; n += 1) await bus.emit('orders.Placed', { n });
    await waitFor(() => got.length === 3 && steps.filter((s) => s.kind === 'handle').length === 3, 5000, 'three events handled');
    await bus.close();
    expect(tracing.exporter.getFinishedSpans()).toHaveLength(3 * perEvent);
    expect(tracing.sampled.count).toBe(3 * perEvent);
    expect(got.every((e) => (e.headers.traceparent !== undefined) === (perEvent > 0))).toBe(true);
    expect(steps.every((s) => (s.traceId !== undefined) === (perEvent > 0))).toBe(true);
  });

  it('in a trace its sampler dropped: no span, the SDK never asked, and every step (emit and handle) names that trace', async () => {
    tracing.exporter.reset();
    tracing.sampled.count = 0;
    const steps: JourneyStep[] = [];
    const bus = createBus<Events>({ adapter: memoryBus(), journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    let handled = 0;
    await bus.on('orders.Placed', async () => void (handled += 1), { group: 'audit' });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const upstream = propagation.extract(context.active(), { traceparent: `00-${traceId}-b7ad6b7169203331-00` });
    await context.with(upstream, () => bus.emit('orders.Placed', { n: 1 }));
    await waitFor(() => handled === 1 && steps.some((s) => s.kind === 'handle'), 5000, 'the event handled');
    await bus.close();
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
    expect(tracing.sampled.count).toBe(0);
    expect(steps.map((s) => s.kind).sort()).toEqual(['emit', 'handle']);
    expect(steps.every((s) => s.traceId === traceId)).toBe(true);
  });

  it('refuses a tracing option that is not a mode', () => {
    expect(() => createBus({ tracing: false as never })).toThrow(/tracing/);
    expect(() => createBus({ tracing: 'on' as never })).toThrow(/join, always, off/);
  });
});

describe('bus emit failing with undefined', () => {
  it('a transport that throws undefined ends the emit span with the error status and journals an error step', async () => {
    tracing.exporter.reset();
    const steps: JourneyStep[] = [];
    const adapter = memoryBus();
    const bus = createBus<Events>({ adapter: { ...adapter, kind: adapter.kind, start: (o) => adapter.start(o), stats: () => adapter.stats(), close: (o) => adapter.close(o), consume: (...a) => adapter.consume(...a), publish: () => Promise.reject(undefined) }, journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    await expect(tracing.inSpan('request', () => bus.emit('orders.Placed', { n: 1 }))).rejects.toBeUndefined();
    await bus.close();
    const [emit] = tracing.exporter.getFinishedSpans(); // ended before the request span
    expect(emit!.name).toBe('emit orders.Placed');
    expect(emit!.status.code).toBe(SpanStatusCode.ERROR);
    expect(steps.map((s) => [s.kind, s.outcome, s.error])).toEqual([['emit', 'error', 'undefined']]);
  });
});
