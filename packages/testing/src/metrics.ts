/**
 * An OpenTelemetry metrics SDK for tests: a MeterProvider whose reader exports to an in-memory
 * exporter only when the test asks (`collect()`), registered globally for one test file
 * (`beforeAll(metrics.install)`, `afterAll(metrics.uninstall)`), so the platform's instruments can
 * be read back and checked. Register it before the code under test first asks for a meter.
 */
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

export interface InMemoryMetrics {
  readonly exporter: InMemoryMetricExporter;
  install(): void;
  uninstall(): Promise<void>;
  /** Collects every instrument now (observable callbacks included); cumulative since install. */
  collect(): Promise<MetricData[]>;
}

/** The data points of one metric in a collection, with its descriptor (undefined when absent). */
export function metricNamed(collected: readonly MetricData[], name: string): { metric: MetricData; points: ReadonlyArray<DataPoint<unknown>> } | undefined {
  const metric = collected.find((m) => m.descriptor.name === name);
  return metric ? { metric, points: metric.dataPoints as ReadonlyArray<DataPoint<unknown>> } : undefined;
}

export function inMemoryMetrics(): InMemoryMetrics {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval is never reached in a test: collections happen on forceFlush (collect()).
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 10_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    exporter,
    install() {
      metrics.setGlobalMeterProvider(provider);
    },
    async uninstall() {
      await provider.shutdown();
      metrics.disable();
    },
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      return exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    },
  };
}
