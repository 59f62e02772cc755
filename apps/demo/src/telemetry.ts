/**
 * The demo's OpenTelemetry SDK, registered globally before the platform starts (the tiers record
 * through `@opentelemetry/api` and find it there):
 *
 * - **Traces**, only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a batch of spans goes to that
 *   collector over OTLP/HTTP (`<endpoint>/v1/traces`), with the W3C trace context propagator and
 *   async context, as service `OTEL_SERVICE_NAME` (default `events-demo`). Unset (the default),
 *   no tracing module is even loaded and every span is the API's no-op.
 * - **Metrics**, unless `DEMO_METRICS=off`: a MeterProvider read by the Prometheus exporter, which
 *   opens no port of its own; the demo's HTTP server answers `GET /metrics` with it (behind the
 *   dashboard's token, see http.ts).
 *
 * Both are shut down with a deadline (a collector that does not answer loses the last batch, it
 * does not hold the process). Metrics must be registered before the platform creates its
 * instruments: `@opentelemetry/api` has no proxy meter provider, an instrument made earlier stays
 * a no-op.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { ConfigError, drainWithin } from '@events/core';
import { SECURITY_HEADERS } from '@events/dashboard/http';

/** Longest wait for one scrape of `/metrics` (observable gauges may ask a broker). */
export const METRICS_COLLECT_TIMEOUT_MS = 5000;
/** Default deadline of `shutdown()`: the last batch of spans has this long to reach the collector. */
export const TELEMETRY_SHUTDOWN_MS = 5000;

export interface TelemetryEnv {
  /** Where spans go (OTLP/HTTP); unset: no tracing SDK. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** `service.name` of the spans and metrics. Default: `events-demo`. */
  OTEL_SERVICE_NAME?: string | undefined;
  /** `off`: no MeterProvider and no `/metrics`. Default: on. */
  DEMO_METRICS?: string | undefined;
}

/** Answers one scrape in the Prometheus text format (collection bounded by METRICS_COLLECT_TIMEOUT_MS). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface DemoTelemetry {
  /** `otlp` when spans go to a collector, else `off`. */
  readonly tracing: 'otlp' | 'off';
  /** `GET /metrics`, or undefined with `DEMO_METRICS=off`. */
  readonly metrics: MetricsHandler | undefined;
  /** One line for the start log. */
  describe(): string;
  /** Flushes and stops both providers, waiting at most `timeoutMs` (default TELEMETRY_SHUTDOWN_MS), and unregisters them. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export interface TelemetrySettings {
  /** The OTLP/HTTP collector; undefined: no tracing SDK. */
  readonly endpoint: string | undefined;
  readonly serviceName: string;
  readonly metrics: boolean;
}

/** The settings from the environment; a ConfigError names the variable and what it accepts. */
export function telemetrySettings(env: TelemetryEnv): TelemetrySettings {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  const metricsMode = (env.DEMO_METRICS?.trim() || 'on').toLowerCase();
  if (metricsMode !== 'on' && metricsMode !== 'off') {
    throw new ConfigError(`DEMO_METRICS=${JSON.stringify(env.DEMO_METRICS)} is not a mode; valid values: on, off`);
  }
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_ENDPOINT=${JSON.stringify(endpoint)} must be an http:// or https:// URL, e.g. http://localhost:4318`);
  }
  return { endpoint, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'events-demo', metrics: metricsMode === 'on' };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Reads the settings, loads the SDK parts they ask for and registers them globally. */
export async function startTelemetry(env: TelemetryEnv = process.env): Promise<DemoTelemetry> {
  const { endpoint, serviceName, metrics: metricsOn } = telemetrySettings(env);
  const stops: Array<() => Promise<void>> = [];
  let serve: MetricsHandler | undefined;
  try {
    if (metricsOn) {
      const started = await startMetrics(serviceName);
      serve = started.serve;
      stops.push(started.stop);
    }
    if (endpoint !== undefined) stops.push(await startTracing(endpoint, serviceName));
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    tracing: endpoint === undefined ? 'off' : 'otlp',
    metrics: serve,
    describe: () =>
      `telemetry: traces ${endpoint === undefined ? 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export)' : `to ${endpoint} as ${serviceName}`}; metrics ${serve ? 'at GET /metrics (dashboard token)' : 'off'}`,
    shutdown(timeoutMs = TELEMETRY_SHUTDOWN_MS) {
      stopping ??= (async () => {
        await drainWithin(Promise.allSettled(stops.map((stop) => stop())), timeoutMs);
      })();
      return stopping;
    },
  };
}

async function startTracing(endpoint: string, serviceName: string): Promise<() => Promise<void>> {
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
    ]);
  // `<endpoint>/v1/traces`, as the spec builds it from OTEL_EXPORTER_OTLP_ENDPOINT; the exporter
  // still reads OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT itself.
  const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return async () => {
    try {
      await provider.shutdown();
    } finally {
      trace.disable();
      propagation.disable();
      context.disable();
    }
  };
}

async function startMetrics(serviceName: string): Promise<{ serve: MetricsHandler; stop: () => Promise<void> }> {
  const [{ MeterProvider }, { PrometheusExporter, PrometheusSerializer }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/resources'),
  ]);
  // No server of its own: the demo's server answers /metrics, behind its token.
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  const serializer = new PrometheusSerializer();
  const serve: MetricsHandler = async (req, res) => {
    // Collected here rather than through the exporter's own handler, for the deadline and the headers.
    const { resourceMetrics, errors } = await reader.collect({ timeoutMillis: METRICS_COLLECT_TIMEOUT_MS });
    const body = serializer.serialize(resourceMetrics) + (errors.length > 0 ? `# ${errors.length} instrument(s) failed to collect\n` : '');
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  return {
    serve,
    stop: async () => {
      try {
        await provider.shutdown();
      } finally {
        metrics.disable();
      }
    },
  };
}
