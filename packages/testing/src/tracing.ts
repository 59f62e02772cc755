/**
 * An OpenTelemetry SDK for tracing tests: the W3C propagator, async context and an in-memory span
 * exporter registered globally for one test file (`beforeAll(tracing.install)`,
 * `afterAll(tracing.uninstall)`), so the platform's spans can be read back and checked.
 *
 * The tiers trace a message sent inside a trace (their default mode, `join`): `inSpan` runs code
 * inside a sampled span of the test's own, as an HTTP request would. `sampler` replaces the SDK's
 * default (parent-based, always on), and `sampled` counts the sampler's decisions.
 */
import { context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

export interface InMemoryTracing {
  readonly exporter: InMemorySpanExporter;
  /** How many times the SDK asked its sampler (every span started through the SDK, dropped or not). */
  readonly sampled: { count: number };
  install(): void;
  uninstall(): Promise<void>;
  /** Runs `fn` inside a span `name` of the test (active while it runs, ended after it settles). */
  inSpan<T>(name: string, fn: (span: Span) => Promise<T> | T): Promise<T>;
}

export function inMemoryTracing(options: { sampler?: Sampler } = {}): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const inner = options.sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() });
  const sampled = { count: 0 };
  const counting: Sampler = {
    shouldSample(ctx: Context, ...rest: Parameters<Sampler['shouldSample']> extends [Context, ...infer R] ? R : never): SamplingResult {
      sampled.count += 1;
      return inner.shouldSample(ctx, ...rest);
    },
    toString: () => `Counting(${inner.toString()})`,
  };
  const provider = new BasicTracerProvider({ sampler: counting, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    exporter,
    sampled,
    install() {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(provider);
    },
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
    async inSpan<T>(name: string, fn: (span: Span) => Promise<T> | T): Promise<T> {
      const span = trace.getTracer('@events/testing').startSpan(name);
      try {
        return await context.with(trace.setSpan(context.active(), span), () => fn(span));
      } finally {
        span.end();
      }
    },
  };
}
