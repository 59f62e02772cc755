/**
 * The pubsub tracing modes with an OpenTelemetry SDK registered. `off`: no broadcast or handle span,
 * no trace header in the envelope nor in the websocket frame, an incoming `traceparent` not
 * continued, while metrics and the journal go on (steps without a traceId). `join` (the default)
 * traces what is broadcast inside a trace and asks nothing of the SDK for a broadcast outside one;
 * `always` starts a trace for that too.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryMetrics, inMemoryTracing, metricNamed, randomId, waitFor } from '@events/testing';
import { METRICS, type Envelope, type JourneyStep, type TracingMode } from '@events/core';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { createPubSub, memoryPubSub } from '../src/index.js';
import { createWebSocketGateway } from '../src/websocket/index.js';
import { RawClient } from './websocket-helpers.js';

const [tracing, telemetry] = [inMemoryTracing(), inMemoryMetrics()];
beforeAll(() => [tracing, telemetry].forEach((sdk) => sdk.install()));
afterAll(() => Promise.all([tracing.uninstall(), telemetry.uninstall()]));

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

interface Seen {
  got: Envelope[];
  frames: Array<Record<string, unknown>>;
  steps: JourneyStep[];
  collected: MetricData[];
}

/** A local subscriber and a websocket client on one channel; two broadcasts, the second over a foreign traceparent. */
/** The spans of the PubSub (the test's own `request` span left out). */
const ours = () => tracing.exporter.getFinishedSpans().filter((s) => s.name !== 'request');

async function run(options: { tracing?: TracingMode }): Promise<Seen> {
  tracing.exporter.reset();
  const steps: JourneyStep[] = [];
  const pubsub = createPubSub({ adapter: memoryPubSub(), ...options, journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gateway = createWebSocketGateway({ pubsub, server, insecure: true, onError: () => undefined });
  const raw = new RawClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`);
  try {
    await raw.opened;
    const ch = `${randomId('off')}:room`;
    const got: Envelope[] = [];
    await pubsub.subscribe(ch, (_m, meta) => void got.push(meta.envelope));
    raw.send({ type: 'subscribe', id: 1, topic: ch });
    await waitFor(() => raw.of('subscribed').length === 1, 5000, 'subscribed');
    // Inside a trace: what an HTTP request handler broadcasts.
    await tracing.inSpan('request', async () => {
      await pubsub.broadcast(ch, { i: 1 });
      await pubsub.broadcast(ch, { i: 2 }, { headers: { traceparent: PARENT } });
    });
    await waitFor(() => got.length === 2 && raw.of('message').length === 2, 5000, 'both messages, both sides');
    const collected = await telemetry.collect();
    return { got, frames: raw.of('message') as unknown as Array<Record<string, unknown>>, steps, collected };
  } finally {
    raw.ws.terminate();
    await gateway.close();
    await pubsub.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('pubsub tracing modes', () => {
  it('off records no span, writes no trace header and sends none to the browser, even inside a trace and over an incoming traceparent; metrics and journal steps go on', async () => {
    const { got, frames, steps, collected } = await run({ tracing: 'off' });
    expect(ours()).toEqual([]);
    expect(got[0]!.headers.traceparent).toBeUndefined();
    expect(got[0]!.headers.tracestate).toBeUndefined();
    expect(frames[0]!.traceparent).toBeUndefined();
    expect(frames[0]!.tracestate).toBeUndefined();
    expect(got[1]!.headers.traceparent).toBe(PARENT); // the application's own header travels untouched
    expect(frames[1]!.traceparent).toBeUndefined(); // and is not read: not sent to the browser
    expect(steps.map((s) => [s.kind, s.outcome])).toEqual([['broadcast', 'ok'], ['broadcast', 'ok']]);
    expect(steps.every((s) => s.traceId === undefined)).toBe(true);
    expect(metricNamed(collected, METRICS.sent.name)?.points.some((p) => p.attributes['messaging.operation.name'] === 'broadcast')).toBe(true);
    expect(metricNamed(collected, METRICS.consumed.name)?.points.length).toBeGreaterThan(0);
  });

  it('by default (join) the same PubSub traces what is broadcast inside a trace: broadcast and handle spans, a traceparent in the envelope and the frame, steps naming the trace', async () => {
    const { got, frames, steps } = await run({});
    const names = ours().map((s) => s.name);
    expect(names.filter((n) => n.startsWith('broadcast '))).toHaveLength(2);
    expect(names.filter((n) => n.startsWith('handle '))).toHaveLength(2);
    expect(got[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(frames[0]!.traceparent).toBe(got[0]!.headers.traceparent);
    expect(steps.every((s) => typeof s.traceId === 'string')).toBe(true);
  });

  it.each([[undefined, 0], ['join', 0], ['always', 2]] as const)('tracing %s, broadcast outside any trace: %i spans per broadcast and its handler, the SDK asked only then', async (mode, perMessage) => {
    tracing.exporter.reset();
    tracing.sampled.count = 0;
    const steps: JourneyStep[] = [];
    const pubsub = createPubSub({ adapter: memoryPubSub(), ...(mode ? { tracing: mode } : {}), journal: { record: (s) => void steps.push(s) }, onError: () => undefined });
    const got: Envelope[] = [];
    await pubsub.subscribe('room', (_m, meta) => void got.push(meta.envelope));
    for (let i = 0; i < 3; i += 1) await pubsub.broadcast('room', { i });
    await pubsub.close();
    expect(got).toHaveLength(3);
    expect(tracing.exporter.getFinishedSpans()).toHaveLength(3 * perMessage);
    expect(tracing.sampled.count).toBe(3 * perMessage);
    expect(got.every((e) => (e.headers.traceparent !== undefined) === (perMessage > 0))).toBe(true);
    expect(steps.every((s) => (s.traceId !== undefined) === (perMessage > 0))).toBe(true);
  });

  it('refuses a tracing option that is not a mode', () => {
    expect(() => createPubSub({ tracing: false as never })).toThrow(/tracing/);
    expect(() => createPubSub({ tracing: 'on' as never })).toThrow(/join, always, off/);
  });
});
