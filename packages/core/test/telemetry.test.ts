import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { contextFromHeaders, platformTracer, startProducerSpan, TELEMETRY_SCOPE, withConsumerSpan } from '../src/telemetry.js';
import type { Headers } from '../src/envelope.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

const facts = { tier: 'bus', system: 'rabbitmq', destination: 'users.SignedUp', messageId: 'm-1', conversationId: 'c-1' } as const;

describe('telemetry with an SDK registered', () => {
  it('carries the producer span in the headers; the consumer span is its child in the same trace, linked to it, with the messaging attributes', async () => {
    exporter.reset();
    const headers: Headers = {};
    const producer = startProducerSpan({ ...facts, operation: 'emit' }, headers);
    producer.end();
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const result = await withConsumerSpan({ ...facts, operation: 'handle', group: 'audit', attempt: 1 }, headers, async () => {
      // A span the handler starts nests under the consumer span.
      platformTracer().startSpan('inner').end();
      return 42;
    });
    expect(result).toBe(42);

    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const send = byName.get('emit users.SignedUp')!;
    const handle = byName.get('handle users.SignedUp')!;
    const inner = byName.get('inner')!;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(handle.kind).toBe(SpanKind.CONSUMER);
    expect(handle.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(handle.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(handle.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
    expect(inner.parentSpanContext?.spanId).toBe(handle.spanContext().spanId);
    expect(send.instrumentationScope.name).toBe(TELEMETRY_SCOPE);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'users.SignedUp',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'emit',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
    });
    expect(handle.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'audit', 'events.attempt': 1 });
  });

  it('a failing handler ends its span with an error status and the exception, and the error reaches the caller', async () => {
    exporter.reset();
    await expect(withConsumerSpan({ ...facts, operation: 'process', tier: 'queue', system: 'bullmq', destination: 'sendWelcomeEmail' }, {}, () => Promise.reject(new Error('smtp down')))).rejects.toThrow('smtp down');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' });
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
    // No traceparent in the headers: a root span, no link.
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links).toEqual([]);
  });

  it('never throws on hostile trace headers: any traceparent / tracestate gives a context, valid or ignored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 600 }), async (traceparent, tracestate) => {
        const headers = { traceparent, tracestate };
        const ctx = contextFromHeaders(headers);
        const span = trace.getSpanContext(ctx);
        if (span) expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
        await expect(withConsumerSpan({ ...facts, operation: 'handle' }, headers, () => 'ok')).resolves.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });
});
