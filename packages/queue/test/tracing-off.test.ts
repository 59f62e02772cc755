/**
 * The queue's tracing modes with an OpenTelemetry SDK registered. `off`: no enqueue or attempt
 * span, no trace header in the job's envelope, an incoming `traceparent` not continued, while
 * metrics and the journal go on (steps without a traceId). `join` (the default) traces what is
 * enqueued inside a trace and asks nothing of the SDK for a job enqueued outside one; `always`
 * starts a trace for that job too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryMetrics, inMemoryTracing, metricNamed, waitFor } from '@events/testing';
import { METRICS, type Envelope, type JourneyStep, type TracingMode } from '@events/core';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { createQueue } from '../src/queue.js';
import { memoryQueue } from '../src/adapters/memory.js';

const [tracing, telemetry] = [inMemoryTracing(), inMemoryMetrics()];
beforeAll(() => [tracing, telemetry].forEach((sdk) => sdk.install()));
afterAll(() => Promise.all([tracing.uninstall(), telemetry.uninstall()]));

type Jobs = { sendWelcomeEmail: { n: number } };
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The spans of the queue (the test's own `request` span left out). */
const ours = () => tracing.exporter.getFinishedSpans().filter((s) => s.name !== 'request');

async function run(options: { tracing?: TracingMode }): Promise<{ got: Envelope[]; steps: JourneyStep[]; collected: MetricData[] }> {
  tracing.exporter.reset();
  const steps: JourneyStep[] = [];
  const queue = createQueue<Jobs>({ adapter: memoryQueue(), ...options, journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
  const got: Envelope[] = [];
  let calls = 0;
  await queue.process('sendWelcomeEmail', async (_payload, ctx) => {
    calls += 1;
    if (calls === 1) throw new Error('once');
    got.push(ctx.envelope);
  });
  const retry = { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } } as const;
  // Inside a trace: what an HTTP request handler enqueues.
  await tracing.inSpan('request', async () => {
    await queue.enqueue('sendWelcomeEmail', { n: 1 }, retry);
    await queue.enqueue('sendWelcomeEmail', { n: 2 }, { ...retry, headers: { traceparent: PARENT } });
  });
  await waitFor(() => got.length === 2 && steps.filter((s) => s.kind === 'attempt').length === 3, 5000, 'both jobs done');
  const collected = await telemetry.collect();
  await queue.close();
  return { got, steps, collected };
}

describe('queue tracing modes', () => {
  it('off records no span and writes no trace header, even inside a trace and over an incoming traceparent; metrics and journal steps go on', async () => {
    const { got, steps, collected } = await run({ tracing: 'off' });
    expect(ours()).toEqual([]);
    const own = got.find((e) => (e.payload as { n: number }).n === 1)!;
    const foreign = got.find((e) => (e.payload as { n: number }).n === 2)!;
    expect(own.headers.traceparent).toBeUndefined();
    expect(own.headers.tracestate).toBeUndefined();
    expect(foreign.headers.traceparent).toBe(PARENT); // the application's own header travels untouched
    expect(steps.filter((s) => s.kind === 'enqueue').map((s) => s.outcome)).toEqual(['ok', 'ok']);
    expect(steps.filter((s) => s.kind === 'attempt').map((s) => s.outcome).sort()).toEqual(['ok', 'ok', 'retry']);
    expect(steps.every((s) => s.traceId === undefined)).toBe(true);
    expect(metricNamed(collected, METRICS.sent.name)?.points.length).toBeGreaterThan(0);
    expect(metricNamed(collected, METRICS.processDuration.name)?.points.length).toBeGreaterThan(0);
  });

  it('by default (join) the same queue traces what is enqueued inside a trace: enqueue and process spans, a traceparent written, steps naming the trace', async () => {
    const { got, steps } = await run({});
    const names = ours().map((s) => s.name);
    expect(names.filter((n) => n === 'enqueue sendWelcomeEmail')).toHaveLength(2);
    expect(names.filter((n) => n === 'process sendWelcomeEmail')).toHaveLength(3);
    expect(got.every((e) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(e.headers.traceparent ?? ''))).toBe(true);
    expect(steps.every((s) => typeof s.traceId === 'string')).toBe(true);
  });

  it.each([[undefined, 0], ['join', 0], ['always', 2]] as const)('tracing %s, enqueued outside any trace: %i spans per job (enqueue, attempt), the SDK asked only then', async (mode, perJob) => {
    tracing.exporter.reset();
    tracing.sampled.count = 0;
    const steps: JourneyStep[] = [];
    const queue = createQueue<Jobs>({ adapter: memoryQueue(), ...(mode ? { tracing: mode } : {}), journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    const got: Envelope[] = [];
    await queue.process('sendWelcomeEmail', async (_payload, ctx) => void got.push(ctx.envelope));
    for (let n = 0; n < 3; n += 1) await queue.enqueue('sendWelcomeEmail', { n });
    await waitFor(() => got.length === 3 && steps.filter((s) => s.kind === 'attempt').length === 3, 5000, 'three jobs done');
    await queue.close();
    expect(tracing.exporter.getFinishedSpans()).toHaveLength(3 * perJob);
    expect(tracing.sampled.count).toBe(3 * perJob);
    expect(got.every((e) => (e.headers.traceparent !== undefined) === (perJob > 0))).toBe(true);
    expect(steps.every((s) => (s.traceId !== undefined) === (perJob > 0))).toBe(true);
  });

  it('refuses a tracing option that is not a mode', () => {
    expect(() => createQueue({ tracing: false as never })).toThrow(/tracing/);
    expect(() => createQueue({ tracing: 'on' as never })).toThrow(/join, always, off/);
  });
});
