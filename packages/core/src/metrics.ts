/**
 * Metrics of every tier, through `@opentelemetry/api` alone: a no-op until the application
 * registers a MeterProvider. Names and units follow the OpenTelemetry semantic conventions for
 * messaging where one exists (`messaging.client.sent.messages`, `messaging.process.duration`...);
 * what they do not cover is named under `events.` with the same rules (dots, units in UCUM, counts
 * in curly braces). Attributes: `messaging.system`, `messaging.destination.name`,
 * `messaging.consumer.group.name`, `messaging.operation.name`, `events.tier`, and
 * `error.type` on failures.
 */
import { metrics, type Attributes, type BatchObservableResult, type Meter, type MetricOptions, type ObservableCounter } from '@opentelemetry/api';
import { EventsError } from './errors.js';
import { TELEMETRY_SCOPE } from './telemetry.js';

export type { Failure } from './telemetry.js';

/** `error.type` (low cardinality, as the semantic conventions ask): our errors' stable code, else the error's class name, else `_OTHER`. */
export function errorType(error: unknown): string {
  try {
    if (error instanceof EventsError) return error.code;
    const name: unknown = error instanceof Error ? error.name : undefined;
    return typeof name === 'string' && name.length > 0 ? name.slice(0, 100) : '_OTHER';
  } catch {
    // A hostile error (a throwing getter, a revoked proxy) is still counted.
    return '_OTHER';
  }
}

/** Attribute sets a tier keeps per instrument (names x groups are normally a small fixed set). */
export const MAX_METRIC_SERIES = 1000;

/** One attribute set's count, reported at collection. */
export interface Tally {
  readonly attributes: Attributes;
  value: number;
}

/**
 * Counts per attribute set, bounded, reported at collection (observable counters): an SDK counter
 * hashes its attributes on every `add`, an increment here is a map lookup. Past MAX_METRIC_SERIES
 * sets, counts go to one set marked `otel.metric.overflow` (the SDK's own convention).
 */
export class Tallies {
  private readonly byKey = new Map<string, Tally>();
  private overflow: Tally | undefined;

  /** The tally of `key`, made with `attributes()` on first use (past the bound: the overflow tally). */
  of(key: string, attributes: () => Attributes): Tally {
    const hit = this.byKey.get(key);
    if (hit) return hit;
    if (this.byKey.size >= MAX_METRIC_SERIES) return (this.overflow ??= { attributes: { 'otel.metric.overflow': true }, value: 0 });
    const made = { attributes: attributes(), value: 0 };
    this.byKey.set(key, made);
    return made;
  }

  observe(result: BatchObservableResult, instrument: ObservableCounter): void {
    for (const t of this.byKey.values()) result.observe(instrument, t.value, t.attributes);
    if (this.overflow) result.observe(instrument, this.overflow.value, this.overflow.attributes);
  }
}

/**
 * The platform's meter, from the MeterProvider registered now. Unlike the tracer, the metrics API
 * has no proxy: instruments made before the application registers its MeterProvider stay no-ops.
 * So register the SDK before building the tiers (as OpenTelemetry asks of every library); each
 * tier makes its instruments when it is built or on first use, never at import.
 */
export function platformMeter(): Meter {
  return metrics.getMeter(TELEMETRY_SCOPE);
}

/**
 * Bucket boundaries, in seconds, for the duration histograms (those of the HTTP and messaging
 * semantic conventions): the SDK's default ones (0 to 10,000) suit milliseconds, not seconds.
 */
export const DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60] as const;

/** The options of an instrument from its row of METRICS: unit, description, and buckets for a duration. */
export function instrumentOptions(m: { readonly unit: string; readonly description: string }): MetricOptions {
  return m.unit === 's' ? { unit: m.unit, description: m.description, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] } } : { unit: m.unit, description: m.description };
}

/** Every instrument's name and unit, in one place. */
export const METRICS = {
  // Semantic conventions for messaging.
  sent: { name: 'messaging.client.sent.messages', unit: '{message}', description: 'Messages a producer handed to the transport (emit, enqueue, broadcast).' },
  consumed: { name: 'messaging.client.consumed.messages', unit: '{message}', description: 'Messages delivered to a handler (per consumer group, per subscriber).' },
  processDuration: { name: 'messaging.process.duration', unit: 's', description: 'Duration of one handler invocation or job attempt.' },
  operationDuration: { name: 'messaging.client.operation.duration', unit: 's', description: 'Duration of a send until the transport accepted it.' },
  // Queue.
  queueDepth: { name: 'events.queue.depth', unit: '{job}', description: 'Jobs waiting (waiting + delayed + prioritized) per job name.' },
  queueOldestAge: { name: 'events.queue.oldest_waiting.age', unit: 's', description: 'Age of the oldest waiting job per job name.' },
  queueDeadLetters: { name: 'events.queue.dead_letters', unit: '{job}', description: 'Jobs that failed their last attempt, per job name.' },
  queueAttempts: { name: 'events.queue.job.attempts', unit: '{attempt}', description: 'Attempts a job took, recorded when it completes or dead-letters.' },
  // Bus.
  busRetries: { name: 'events.bus.retries', unit: '{delivery}', description: 'Handler invocations that failed and will be tried again, per group.' },
  busDeadLetters: { name: 'events.bus.dead_letters', unit: '{event}', description: 'Events dead-lettered by a consumer group.' },
  busLag: { name: 'events.bus.consumer.lag', unit: '{event}', description: 'Events accepted but not yet handled, per consumer group.' },
  // Pubsub.
  pubsubReceivers: { name: 'events.pubsub.receivers', unit: '{subscriber}', description: 'Subscribers broadcasts reached, summed (over the sent count without error.type: the mean fan-out).' },
  pubsubGaps: { name: 'events.pubsub.gaps', unit: '{gap}', description: 'Gaps reported to subscribers (transport down, resume refused).' },
  pubsubDrops: { name: 'events.pubsub.drops', unit: '{message}', description: 'Messages dropped by a slow-subscriber policy, per policy.' },
  pubsubConflations: { name: 'events.pubsub.conflations', unit: '{message}', description: 'Messages replaced by a newer one under the conflate policy.' },
  wsClients: { name: 'events.websocket.clients', unit: '{connection}', description: 'Websocket clients connected to a gateway.' },
  wsFramesDropped: { name: 'events.websocket.frames_dropped', unit: '{frame}', description: 'Frames not sent to a client because its buffer was full.' },
} as const;
