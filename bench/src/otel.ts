/**
 * `--otel off|drop|drop-off|metrics`: what OpenTelemetry the bench process runs the rows under, to measure
 * what the tiers' tracing and metrics cost (issue 15: "tracing off costs under 3 %").
 *
 * - `off`: no SDK, as an application that never installs one: every API call is the no-op.
 * - `drop`: a real SDK that keeps nothing: a tracer provider sampling nothing (AlwaysOffSampler)
 *   with async context and the W3C propagator, and a MeterProvider without a reader. Every span
 *   and instrument call goes through the SDK and is dropped there: the cost of "tracing off" in an
 *   application that has an SDK installed.
 * - `drop-off`: `drop`, with our tiers built with `tracing: false` (BENCH_TRACING=off, read by the
 *   rows through `benchTracing()`): no span started, no header written or read; the SDK's async
 *   context and the MeterProvider stay (what EVENTS_TRACING=off costs beside an SDK).
 * - `metrics`: `drop` plus a metric reader that is never collected, so every measurement is
 *   aggregated (the cost of metrics on, without the export).
 *
 * Installed once per process before any row runs: the API has no proxy meter provider, so a meter
 * taken before the provider is registered stays a no-op.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';

export const OTEL_MODES = ['off', 'drop', 'drop-off', 'metrics'] as const;
export type OtelMode = (typeof OTEL_MODES)[number];

/** Our tiers' `tracing` option in this process: `{ tracing: false }` when BENCH_TRACING=off (mode `drop-off`). */
export function benchTracing(): { tracing?: false } {
  return process.env.BENCH_TRACING === 'off' ? { tracing: false } : {};
}

export function isOtelMode(value: unknown): value is OtelMode {
  return typeof value === 'string' && (OTEL_MODES as readonly string[]).includes(value);
}

/** Registers the SDK parts of `mode` globally; resolves to the function that removes them. */
export async function installOtel(mode: OtelMode): Promise<() => Promise<void>> {
  if (mode === 'off') return async () => undefined;
  // Read by the rows as they build our tiers (child processes get the mode and set it too).
  if (mode === 'drop-off') process.env.BENCH_TRACING = 'off';
  const [{ AlwaysOffSampler, BasicTracerProvider }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { MeterProvider, MetricReader }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  /** A pull reader nobody pulls: measurements are aggregated and kept, never exported. */
  class UncollectedReader extends MetricReader {
    protected override async onShutdown(): Promise<void> {}
    protected override async onForceFlush(): Promise<void> {}
  }
  const tracerProvider = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
  const meterProvider = new MeterProvider({ readers: mode === 'metrics' ? [new UncollectedReader()] : [] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  };
}
