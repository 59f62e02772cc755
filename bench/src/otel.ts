/**
 * `--otel off|load|drop|drop-off|drop-always|metrics|ab`: what OpenTelemetry the bench process runs the rows under,
 * to measure what the tiers' tracing and metrics cost (issue 15: "tracing off costs under 3 %").
 *
 * - `off`: no SDK, as an application that never installs one: every API call is the no-op.
 * - `load`: the SDK's modules loaded, nothing registered (every API call still the no-op): a
 *   control for what loading them alone does to a row.
 * - `drop`: a real tracing SDK that keeps nothing: a tracer provider sampling nothing
 *   (AlwaysOffSampler) with async context and the W3C propagator; no MeterProvider. The tiers run
 *   with their default tracing mode (`join`): the cost of "tracing off" in an application that
 *   installed an SDK. The rows send outside any trace, as a timer or a consumer loop would.
 * - `drop-off`: `drop`, with our tiers built with `tracing: 'off'` (BENCH_TRACING=off, read by
 *   the rows through `benchTracing()`): no context read, no span, no header (what `off` costs
 *   beside an SDK: the SDK's async context alone).
 * - `drop-always`: `drop`, with our tiers built with `tracing: 'always'` (BENCH_TRACING=always):
 *   every message asks the SDK for a root span, which the sampler drops (what `always` costs beside
 *   an SDK that samples nothing).
 * - `ab`: the SDK of `drop`, and each row run in pairs in one process, our tiers built with
 *   `tracing: 'off'` then with the default, or the other way round (tracing-ab.ts): `join`'s own
 *   cost, beside which the machine's drift between processes is not in the way.
 * - `metrics`: a MeterProvider with a metric reader that is never collected, so every measurement
 *   is aggregated (the cost of metrics on, without the export); no tracing SDK.
 *
 * Installed once per process before any row runs: the API has no proxy meter provider, so a meter
 * taken before the provider is registered stays a no-op.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';

export const OTEL_MODES = ['off', 'load', 'drop', 'drop-off', 'drop-always', 'metrics', 'ab'] as const;
export type OtelMode = (typeof OTEL_MODES)[number];

/** Our tiers' `tracing` option in this process: BENCH_TRACING (set by modes `drop-off` and `drop-always`), else the default. */
export function benchTracing(): { tracing?: 'off' | 'always' } {
  const mode = process.env.BENCH_TRACING;
  return mode === 'off' || mode === 'always' ? { tracing: mode } : {};
}

export function isOtelMode(value: unknown): value is OtelMode {
  return typeof value === 'string' && (OTEL_MODES as readonly string[]).includes(value);
}

/** Registers the SDK parts of `mode` globally; resolves to the function that removes them. */
export async function installOtel(mode: OtelMode): Promise<() => Promise<void>> {
  if (mode === 'off') return async () => undefined;
  // Read by the rows as they build our tiers (child processes get the mode and set it too).
  if (mode === 'drop-always') process.env.BENCH_TRACING = 'always';
  if (mode === 'drop-off') process.env.BENCH_TRACING = 'off';
  const [{ AlwaysOffSampler, BasicTracerProvider }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { MeterProvider, MetricReader }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  if (mode === 'load') return async () => undefined;
  /** A pull reader nobody pulls: measurements are aggregated and kept, never exported. */
  class UncollectedReader extends MetricReader {
    protected override async onShutdown(): Promise<void> {}
    protected override async onForceFlush(): Promise<void> {}
  }
  const tracerProvider = mode === 'metrics' ? undefined : new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
  const meterProvider = mode === 'metrics' ? new MeterProvider({ readers: [new UncollectedReader()] }) : undefined;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (tracerProvider) trace.setGlobalTracerProvider(tracerProvider);
  if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  };
}
