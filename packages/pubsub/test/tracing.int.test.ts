/**
 * Pubsub joins OpenTelemetry traces: with an SDK registered (the in-memory exporter here), a
 * broadcast inside a trace (a request span of the test) is a producer span whose context travels in the envelope headers (through Redis too),
 * each handler call of every node a consumer span parented by and linked to it, and the websocket
 * gateway hands the producer's trace context to the browser client. Hostile trace headers from
 * Redis never break a handler and never reach a client beyond what W3C allows.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Envelope, ErrorEvent, JourneyStep } from '@events/core';
import { inMemoryTracing, randomId, REDIS_URL, waitFor } from '@events/testing';
import { Redis } from 'ioredis';
import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { createPubSubClient, type ClientMessageMeta, type PubSubClient } from '../src/client/index.js';
import { createWebSocketGateway } from '../src/websocket/index.js';
import { RawClient, startGateway } from './websocket-helpers.js';

const tracing = inMemoryTracing();
const { exporter } = tracing;
beforeAll(tracing.install);
afterAll(tracing.uninstall);

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

interface Nodes {
  a: PubSub;
  b: PubSub;
  close(): Promise<void>;
}

function nodes(system: string, options: { journal?: { record(step: JourneyStep): void } } = {}): Nodes {
  const namespace = randomId('trace');
  const onError = (): void => undefined;
  if (system === 'memory') {
    const hub = createMemoryHub();
    const a = createPubSub({ adapter: memoryPubSub({ hub }), onError, ...options });
    const b = createPubSub({ adapter: memoryPubSub({ hub }), onError });
    return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
  }
  const a = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, onError, ...options });
  const b = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, onError });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

const spansNamed = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);

describe.each(['memory', 'redis'])('pubsub tracing on %s', (system) => {
  it('one trace: request span -> broadcast -> a handler here and one on the other node (parented and linked), a span a handler starts nests under its consumer span', async () => {
    exporter.reset();
    const steps: JourneyStep[] = [];
    const { a, b, close } = nodes(system, { journal: { record: (step) => void steps.push(step) } });
    const ch = `${randomId('room')}:news`;
    const got: Envelope[] = [];
    await a.subscribe(ch, (_m, meta) => void got.push(meta.envelope));
    await b.subscribe(ch, async (_m, meta) => {
      got.push(meta.envelope);
      await trace.getTracer('test').startActiveSpan('render', async (span) => span.end());
    });
    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('POST /news');
    const receivers = await context.with(trace.setSpan(context.active(), request), () => a.broadcast(ch, { text: 'hi' }, { correlationId: 'corr-1' }));
    request.end();
    expect(receivers).toBeGreaterThanOrEqual(2);
    await waitFor(() => got.length === 2 && spansNamed(`handle ${ch}`).length === 2 && spansNamed('render').length === 1, 10_000, 'both handlers and their spans');
    await close();

    const [producer] = spansNamed(`broadcast ${ch}`);
    expect(producer).toBeDefined();
    expect(producer!.kind).toBe(SpanKind.PRODUCER);
    expect(producer!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer!.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(producer!.attributes).toMatchObject({
      'messaging.system': system,
      'messaging.destination.name': ch,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'broadcast',
      'messaging.message.id': got[0]!.id,
      'messaging.message.conversation_id': 'corr-1',
      'events.tier': 'pubsub',
      'events.pubsub.receivers': receivers,
    });
    // The envelope carries the producer's context, so any transport does.
    const { traceId, spanId } = producer!.spanContext();
    for (const envelope of got) expect(envelope.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);

    const handles = spansNamed(`handle ${ch}`);
    for (const handle of handles) {
      expect(handle.kind).toBe(SpanKind.CONSUMER);
      expect(handle.spanContext().traceId).toBe(traceId);
      expect(handle.parentSpanContext?.spanId).toBe(spanId);
      expect(handle.links.map((l) => l.context.spanId)).toEqual([spanId]);
      expect(handle.attributes).toMatchObject({
        'messaging.system': system,
        'messaging.destination.name': ch,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'handle',
        'messaging.message.id': got[0]!.id,
        'messaging.message.conversation_id': 'corr-1',
      });
    }
    const render = spansNamed('render')[0]!;
    expect(handles.map((h) => h.spanContext().spanId)).toContain(render.parentSpanContext?.spanId);

    // The journal step of the broadcast names the trace.
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ kind: 'broadcast', tier: 'pubsub', system, name: ch, envelopeId: got[0]!.id, correlationId: 'corr-1', outcome: 'ok', traceId });
  });

  it('request -> the replier (a consumer span) -> its reply (a producer span under it) -> the requester\'s inbox: one trace, reply spans named after the inbox template', async () => {
    exporter.reset();
    const { a, b, close } = nodes(system);
    const ch = `${randomId('rpc')}:price`;
    await b.reply(ch, (symbol) => ({ symbol, price: 42 }));
    const answer = await tracing.inSpan('GET /price', () => a.request(ch, 'ACME', { timeoutMs: 5000 }));
    expect(answer).toEqual({ symbol: 'ACME', price: 42 });
    await waitFor(() => spansNamed('handle _pubsub:reply').length === 1, 10_000, 'the inbox span');
    await close();
    const request = spansNamed(`broadcast ${ch}`)[0]!;
    const served = spansNamed(`handle ${ch}`)[0]!;
    const reply = spansNamed('broadcast _pubsub:reply')[0]!;
    const inbox = spansNamed('handle _pubsub:reply')[0]!;
    expect(served.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(reply.parentSpanContext?.spanId).toBe(served.spanContext().spanId);
    expect(inbox.parentSpanContext?.spanId).toBe(reply.spanContext().spanId);
    for (const span of [served, reply, inbox]) expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(String(reply.attributes['messaging.destination.name'])).toMatch(/^_pubsub:reply:/);
    expect(reply.attributes['messaging.destination.temporary']).toBe(true);
    expect(inbox.attributes['messaging.destination.template']).toBe('_pubsub:reply:*');
  });

  it('a broadcast in a trace that is not sampled: no span is kept, the decision (flags 00) travels to every handler, which runs in that context', async () => {
    exporter.reset();
    const { a, b, close } = nodes(system);
    const ch = `${randomId('room')}:quiet`;
    const seen: Array<{ traceparent: string | undefined; active: string | undefined }> = [];
    const handler = (_m: unknown, meta: { envelope: Envelope }) => void seen.push({ traceparent: meta.envelope.headers.traceparent, active: trace.getActiveSpan()?.spanContext().traceId });
    await a.subscribe(ch, handler);
    await b.subscribe(ch, handler);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const upstream = propagation.extract(context.active(), { traceparent: `00-${traceId}-b7ad6b7169203331-00` });
    await context.with(upstream, () => a.broadcast(ch, 1));
    await waitFor(() => seen.length === 2, 10_000, 'both handlers');
    await close();
    expect(exporter.getFinishedSpans().filter((s) => s.name.endsWith(ch))).toEqual([]);
    for (const { traceparent, active } of seen) {
      expect(traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
      expect(active).toBe(traceId);
    }
  });

  it('a handler that throws: its consumer span has the error status and exception; the other handler is unharmed', async () => {
    exporter.reset();
    const { a, b, close } = nodes(system);
    const ch = `${randomId('room')}:fail`;
    let other = 0;
    await b.subscribe(ch, () => {
      throw new Error('render failed');
    });
    await b.subscribe(ch, () => void (other += 1));
    await tracing.inSpan('request', () => a.broadcast(ch, 1));
    await waitFor(() => other === 1 && spansNamed(`handle ${ch}`).length === 2, 10_000, 'both handler spans');
    await close();
    const handles = spansNamed(`handle ${ch}`);
    const failed = handles.filter((h) => h.status.code === SpanStatusCode.ERROR);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status.message).toBe('render failed');
    expect(failed[0]!.events.map((e) => e.name)).toEqual(['exception']);
  });
});

describe('websocket gateway with tracing', () => {
  const clients: PubSubClient[] = [];
  function client(url: string): PubSubClient {
    const c = createPubSubClient({ url, WebSocket: WebSocket as never, reconnect: false });
    clients.push(c);
    return c;
  }

  it("the client library gets the producer's traceparent and tracestate; the gateway's per-client subscriptions make no spans", async () => {
    exporter.reset();
    const fx = await startGateway();
    try {
      const ch = `${randomId('ws')}:feed`;
      const c = client(fx.url);
      const metas: ClientMessageMeta[] = [];
      await c.subscribe(ch, (_m, meta) => void metas.push(meta));
      // An upstream service called us with its own trace context (and a vendor tracestate).
      const upstream = propagation.extract(context.active(), { traceparent: `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`, tracestate: 'congo=t61rcWkgMzE' });
      await context.with(upstream, () => fx.pubsub.broadcast(ch, { n: 1 }));
      await waitFor(() => metas.length === 1, 10_000, 'the message at the client');
      const [producer] = spansNamed(`broadcast ${ch}`);
      const { traceId, spanId } = producer!.spanContext();
      expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(metas[0]!.trace).toEqual({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'congo=t61rcWkgMzE' });
      expect(spansNamed(`handle ${ch}`)).toHaveLength(0);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await fx.close();
    }
  });

  it('hostile traceparent / tracestate arriving from Redis: handlers still run in spans (tracing always), nothing throws, and a client gets only a trace context W3C allows (or none)', async () => {
    const namespace = randomId('hostile');
    const closers: Array<() => void> = [];
    const errors: ErrorEvent[] = [];
    // `always`: a message whose trace context is unreadable still gets a (root) handler span.
    const pubsub = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, tracing: 'always', onError: (e) => void errors.push(e) });
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gateway = createWebSocketGateway({ pubsub, server, insecure: true, onError: (e) => void errors.push(e) });
    const raw = new Redis(REDIS_URL);
    const c = client(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`);
    try {
      const ch = `${randomId('ws')}:hostile`;
      const metas = new Map<number, ClientMessageMeta>();
      let handled = 0;
      await c.subscribe(ch, (m, meta) => void metas.set((m as { i: number }).i, meta));
      await pubsub.subscribe(ch, () => void (handled += 1));
      // The frame as the gateway sent it, before the client library checks it again.
      const rawClient = new RawClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`);
      closers.push(() => rawClient.ws.terminate());
      await rawClient.opened;
      rawClient.send({ type: 'subscribe', id: 1, topic: ch });
      await waitFor(() => rawClient.of('subscribed').length === 1);
      const frameOf = (i: number) => rawClient.of('message').find((f) => (f.data as { i: number }).i === i);
      const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
      const validParent = fc.tuple(hex(32), hex(16), fc.constantFrom('00', '01')).map(([t, s, f]) => `00-${t}-${s}-${f}`);
      const header = fc.oneof(
        validParent,
        validParent.map((v) => v.toUpperCase()),
        validParent.map((v) => `${v}-extra`),
        fc.constantFrom(`00-${ZERO_TRACE}-00f067aa0ba902b7-01`, `ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`, `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future`),
        fc.string({ maxLength: 80 }),
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.string({ minLength: 600, maxLength: 2000 }),
      );
      const state = fc.oneof(
        fc.constant(undefined),
        fc.constantFrom('congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'a=1,a=2', 'tenant@vendor=x', 'Bad=1', 'k=v\u0000', ' ,k=v, '),
        fc.string({ maxLength: 100 }),
        fc.array(fc.constant('k=v'), { minLength: 33, maxLength: 40 }).map((m) => m.map((x, i) => x.replace('k', `k${i}`)).join(',')),
      );
      let i = 0;
      // A parent whose sampled flag is off makes an unsampled (unrecorded) handler span: as asked.
      let unsampled = 0;
      await fc.assert(
        fc.asyncProperty(header, state, async (traceparent, tracestate) => {
          i += 1;
          const flags = /^\s?[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-([0-9a-f]{2})/.exec(traceparent)?.[1];
          if (flags !== undefined && (Number.parseInt(flags, 16) & 1) === 0) unsampled += 1;
          const headers: Record<string, string> = { traceparent, ...(tracestate !== undefined ? { tracestate } : {}) };
          const envelope = { id: randomId('e'), name: ch, payload: { i }, occurredAt: new Date().toISOString(), headers };
          await raw.publish(`${namespace}:${ch}`, JSON.stringify(envelope));
          await waitFor(() => metas.has(i) && handled >= i && frameOf(i) !== undefined, 10_000, `message ${i}`);
          const got = metas.get(i)!.trace;
          // What the gateway put on the wire is what the client hands over: the gateway checked it.
          const frame = frameOf(i)!;
          expect(got).toEqual(frame.traceparent === undefined ? undefined : { traceparent: frame.traceparent, ...(frame.tracestate !== undefined ? { tracestate: frame.tracestate } : {}) });
          if (frame.traceparent === undefined) expect(frame.tracestate).toBeUndefined();
          const lower = traceparent.match(/^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-/);
          const valid00 = TRACEPARENT.exec(traceparent);
          // A well-formed version-00 traceparent with real ids always reaches the client.
          if (valid00 && valid00[1] !== ZERO_TRACE && valid00[2] !== ZERO_SPAN) expect(got?.traceparent).toBe(traceparent);
          if (got === undefined) return;
          const parsed = TRACEPARENT.exec(got.traceparent);
          expect(parsed).not.toBeNull();
          expect(parsed![1]).not.toBe(ZERO_TRACE);
          expect(parsed![2]).not.toBe(ZERO_SPAN);
          expect([lower?.[1], lower?.[2]]).toEqual([parsed![1], parsed![2]]);
          expect(traceparent.startsWith('ff-')).toBe(false);
          if (got.tracestate !== undefined) {
            expect(got.tracestate.length).toBeLessThanOrEqual(512);
            const members = got.tracestate.split(',');
            expect(members.length).toBeLessThanOrEqual(32);
            for (const member of members) {
              expect(member).toMatch(/^[a-z0-9][_0-9a-z\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/);
              expect(tracestate!.split(',').map((m) => m.trim())).toContain(member);
            }
          }
        }),
        { numRuns: 60 },
      );
      // Every hostile message was handled, in a span of its own unless its parent said not sampled; no error anywhere.
      expect(handled).toBe(i);
      await waitFor(() => spansNamed(`handle ${ch}`).length >= i - unsampled, 5000, 'the handler spans');
      expect(errors).toEqual([]);
    } finally {
      for (const close of closers.splice(0)) close();
      await Promise.all(clients.splice(0).map((x) => x.close()));
      raw.disconnect();
      await gateway.close();
      await pubsub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
