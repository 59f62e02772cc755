/**
 * Core's tracing helpers with an SDK registered, under each TracingMode: `join` traces what is sent
 * inside a trace and asks nothing of the SDK otherwise, `always` also starts traces, `off` never
 * traces; an unsampled trace makes no span and its decision travels in the headers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import {
  consumerTrace,
  contextFromHeaders,
  platformTracer,
  producerContext,
  startProducerSpan,
  TELEMETRY_SCOPE,
  tracingModeOption,
  TRACING_MODES,
  withConsumerSpan,
  type TracingMode,
} from '../src/telemetry.js';
import { InvalidOptionError } from '../src/errors.js';
import type { Headers } from '../src/envelope.js';

const exporter = new InMemorySpanExporter();
/** The SDK's default sampler, counted: `asked` is how many spans went through the SDK. */
let asked = 0;
const parentBased = new ParentBasedSampler({ root: new AlwaysOnSampler() });
const counting: Sampler = {
  shouldSample(ctx, traceId, name, kind, attributes, links) {
    asked += 1;
    return parentBased.shouldSample(ctx, traceId, name, kind, attributes, links);
  },
  toString: () => 'counting',
};
const provider = new BasicTracerProvider({ sampler: counting, spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** A second tracer whose sampler drops everything: the test's own "request" spans, unsampled. */
const dropping = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('test');
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

beforeEach(() => {
  exporter.reset();
  asked = 0;
});

const facts = { tier: 'bus', system: 'rabbitmq', destination: 'users.SignedUp', messageId: 'm-1', conversationId: 'c-1' } as const;

/** Runs `fn` with `span` active. */
function within<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Sends one message as a tier does: the producer span (if any) ended at once; the headers it wrote. */
function send(mode: TracingMode): Headers {
  const headers: Headers = {};
  const parent = producerContext(mode);
  if (parent !== undefined) startProducerSpan(parent, { ...facts, operation: 'emit' }, headers).end();
  return headers;
}

describe('producer and consumer spans in a sampled trace', () => {
  it('join, inside a trace: the producer span is a child of the active span and its context travels; the consumer span is its child, linked to it, with the messaging attributes', async () => {
    const request = platformTracer().startSpan('POST /signup');
    const headers = within(request, () => send('join'));
    request.end();
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const result = await withConsumerSpan({ ...facts, operation: 'handle', group: 'audit', attempt: 1 }, { mode: 'join', headers }, async () => {
      // A span the handler starts nests under the consumer span.
      platformTracer().startSpan('inner').end();
      return 42;
    });
    expect(result).toBe(42);

    const byName = new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
    const send_ = byName.get('emit users.SignedUp')!;
    const handle = byName.get('handle users.SignedUp')!;
    const inner = byName.get('inner')!;
    expect(send_.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(send_.kind).toBe(SpanKind.PRODUCER);
    expect(handle.kind).toBe(SpanKind.CONSUMER);
    expect(handle.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(handle.parentSpanContext?.spanId).toBe(send_.spanContext().spanId);
    expect(handle.links.map((l) => l.context.spanId)).toEqual([send_.spanContext().spanId]);
    expect(inner.parentSpanContext?.spanId).toBe(handle.spanContext().spanId);
    expect(send_.instrumentationScope.name).toBe(TELEMETRY_SCOPE);
    expect(send_.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'users.SignedUp',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'emit',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
    });
    expect(handle.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'audit', 'events.attempt': 1 });
  });

  it('always, outside any trace: a root producer span; a consumer of a message without trace context starts a root span', async () => {
    const headers = send('always');
    expect(headers.traceparent).toMatch(/-01$/);
    await withConsumerSpan({ ...facts, operation: 'process', tier: 'queue', system: 'bullmq', destination: 'mail' }, { mode: 'always', headers: {} }, () => undefined);
    const [producer, consumer] = exporter.getFinishedSpans();
    expect(producer!.parentSpanContext).toBeUndefined();
    expect(consumer!.parentSpanContext).toBeUndefined();
    expect(consumer!.links).toEqual([]);
  });

  it('always, a message without trace context handled inside some other span: the consumer span is a root, not a child of that span', async () => {
    const ambient = platformTracer().startSpan('timer tick');
    await within(ambient, () => withConsumerSpan({ ...facts, operation: 'handle' }, { mode: 'always', headers: {} }, () => undefined));
    ambient.end();
    const consumer = exporter.getFinishedSpans().find((s) => s.name === 'handle users.SignedUp')!;
    expect(consumer.parentSpanContext).toBeUndefined();
    expect(consumer.spanContext().traceId).not.toBe(ambient.spanContext().traceId);
  });

  it('a failing handler ends its span with an error status and the exception, and the error reaches the caller', async () => {
    await expect(withConsumerSpan({ ...facts, operation: 'process', tier: 'queue', system: 'bullmq', destination: 'sendWelcomeEmail' }, { mode: 'always', headers: {} }, () => Promise.reject(new Error('smtp down')))).rejects.toThrow('smtp down');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' });
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });
});

describe('what is not traced asks nothing of the SDK', () => {
  it('join, outside any trace: no span, no header, the sampler never asked; the consumer runs its work in the caller context', async () => {
    expect(producerContext('join')).toBeUndefined();
    const headers = send('join');
    expect(headers).toEqual({});
    expect(consumerTrace('join', headers)).toBeUndefined();
    const active = context.active();
    let seen: Context | undefined;
    await withConsumerSpan({ ...facts, operation: 'handle' }, { mode: 'join', headers }, () => void (seen = context.active()));
    expect(seen).toBe(active);
    expect(asked).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('off: no span and no header even inside a sampled trace; a trace header is not read', async () => {
    const request = platformTracer().startSpan('request');
    const headers = within(request, () => send('off'));
    expect(headers).toEqual({});
    const carried = within(request, () => send('join'));
    request.end();
    exporter.reset();
    asked = 0;
    let active: Span | undefined;
    await withConsumerSpan({ ...facts, operation: 'handle' }, { mode: 'off', headers: carried }, () => void (active = trace.getActiveSpan()));
    expect(active).toBeUndefined();
    expect(asked).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it.each(['join', 'always'] as const)('%s, inside a trace its sampler dropped: no span asked of the SDK; the unsampled context travels; the consumer runs in it with no span', async (mode) => {
    const request = dropping.startSpan('unsampled request');
    const headers = within(request, () => send(mode));
    expect(headers.traceparent).toBe(`00-${request.spanContext().traceId}-${request.spanContext().spanId}-00`);
    let traceId: string | undefined;
    let recording: boolean | undefined;
    let given: Span | undefined;
    await withConsumerSpan({ ...facts, operation: 'handle' }, { mode, headers }, (span) => {
      given = span;
      traceId = trace.getActiveSpan()?.spanContext().traceId;
      recording = trace.getActiveSpan()?.isRecording();
    });
    expect(traceId).toBe(request.spanContext().traceId);
    expect(recording).toBe(false);
    // The span `work` gets records nothing and still names the trace (a journal step's traceId).
    expect(given!.isRecording()).toBe(false);
    expect(given!.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(asked).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('hostile input', () => {
  it('never throws on hostile trace headers: any traceparent / tracestate gives a context, valid or ignored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 600 }), fc.constantFrom(...TRACING_MODES), async (traceparent, tracestate, mode) => {
        const headers = { traceparent, tracestate };
        const ctx = contextFromHeaders(headers);
        const span = trace.getSpanContext(ctx);
        if (span) expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
        await expect(withConsumerSpan({ ...facts, operation: 'handle' }, { mode, headers }, () => 'ok')).resolves.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('tracingModeOption: join when absent, a mode as given, anything else an InvalidOptionError naming the modes', () => {
    expect(tracingModeOption(undefined)).toBe('join');
    for (const mode of TRACING_MODES) expect(tracingModeOption(mode)).toBe(mode);
    fc.assert(
      fc.property(fc.anything().filter((v) => v !== undefined && !(TRACING_MODES as readonly unknown[]).includes(v)), (value) => {
        expect(() => tracingModeOption(value)).toThrow(InvalidOptionError);
        expect(() => tracingModeOption(value)).toThrow(/join, always, off/);
      }),
      { numRuns: 300 },
    );
    const hostile = { toJSON: () => { throw new Error('trap'); } };
    expect(() => tracingModeOption(hostile)).toThrow(InvalidOptionError);
    expect(() => tracingModeOption(10n)).toThrow(InvalidOptionError);
  });
});
