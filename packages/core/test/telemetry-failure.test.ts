/**
 * A failure is whatever was thrown, `undefined` included: endSpan takes it wrapped, so a
 * `throw undefined` ends the span with the error status, and a hostile error still fails it.
 * Also: NO_SPAN records nothing and names no trace; the shared metric and journal helpers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { endSpan, NO_SPAN, platformTracer, traceIdOf, withConsumerSpan } from '../src/telemetry.js';
import { errorType, MAX_METRIC_SERIES, Tallies } from '../src/metrics.js';
import { journeyError } from '../src/journal.js';
import { ValidationError } from '../src/errors.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => void trace.setGlobalTracerProvider(provider));
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

const hostile = (): unknown =>
  new Proxy(new Error('x'), {
    get() {
      throw new Error('trap');
    },
    getPrototypeOf() {
      throw new Error('trap');
    },
  });

describe('endSpan', () => {
  it('no failure: ok; a failure of undefined (throw undefined): the error status and an exception event', () => {
    exporter.reset();
    endSpan(platformTracer().startSpan('ok'));
    endSpan(platformTracer().startSpan('undefined'), { error: undefined });
    const [ok, failed] = exporter.getFinishedSpans();
    expect(ok!.status.code).toBe(SpanStatusCode.UNSET);
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'undefined' });
    expect(failed!.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('whatever is thrown, the span ends failed and endSpan never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.constant(undefined), fc.constant(null), fc.constant(hostile())), (error) => {
        exporter.reset();
        endSpan(platformTracer().startSpan('any'), { error });
        const [span] = exporter.getFinishedSpans();
        expect(span!.status.code).toBe(SpanStatusCode.ERROR);
      }),
      { numRuns: 200 },
    );
  });

  it('withConsumerSpan: a work that throws undefined fails its span and rethrows undefined', async () => {
    exporter.reset();
    await expect(
      withConsumerSpan({ operation: 'process', tier: 'queue', system: 'memory', destination: 'job' }, { mode: 'always', headers: undefined }, () => {
        throw undefined;
      }),
    ).rejects.toBeUndefined();
    expect(exporter.getFinishedSpans()[0]!.status.code).toBe(SpanStatusCode.ERROR);
  });
});

describe('NO_SPAN and the shared helpers', () => {
  it('NO_SPAN records nothing and names no trace; a real span names its trace', () => {
    expect(NO_SPAN.isRecording()).toBe(false);
    expect(traceIdOf(NO_SPAN)).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
    const span = platformTracer().startSpan('t');
    expect(traceIdOf(span)).toBe(span.spanContext().traceId);
    span.end();
  });

  it('errorType: our code, else the class name, else _OTHER (hostile errors included); journeyError never throws', () => {
    expect(errorType(new ValidationError('x', []))).toBe('VALIDATION');
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType(undefined)).toBe('_OTHER');
    expect(errorType(hostile())).toBe('_OTHER');
    expect(journeyError(hostile())).toBe('unreadable error');
    expect(journeyError(undefined)).toBe('undefined');
    expect(journeyError(new Error('e'.repeat(2000)))).toHaveLength(1000);
  });

  it('Tallies: one tally per key, past MAX_METRIC_SERIES keys one overflow tally', () => {
    const tallies = new Tallies();
    expect(tallies.of('a', () => ({ k: 'a' }))).toBe(tallies.of('a', () => ({ k: 'other' })));
    for (let i = 0; i < MAX_METRIC_SERIES; i += 1) tallies.of(`k${i}`, () => ({ k: i }));
    expect(tallies.of('past', () => ({ k: 'past' })).attributes).toEqual({ 'otel.metric.overflow': true });
  });
});
