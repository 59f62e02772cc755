/**
 * The bus's metrics, through core's platformMeter and METRICS table: sends and their duration per
 * event name, deliveries, handler durations, retries and dead letters per consumer group, and the
 * lag of each group (events accepted for it and not yet handled) as an observable gauge.
 *
 * Instruments are made on first use, once per bus; with no MeterProvider they are the API's no-op
 * instruments, so a call costs a cached attribute lookup and an empty method. The lag callback is
 * removed when the bus closes. Attribute sets are cached per name and group, bounded (names past
 * the bound are still measured, with a fresh attribute object each time).
 */
import { EventsError, METRICS, platformMeter, type BusConsumerStats } from '@events/core';
import type { Attributes, Counter, Histogram, ObservableGauge, ObservableResult } from '@opentelemetry/api';

/** Attribute sets kept per bus (event names x groups are normally a small fixed set). */
const MAX_CACHED_ATTRIBUTES = 1000;

export interface BusMetrics {
  /** One emit ended: accepted (no error) or refused, after `seconds`. */
  sent(name: string, seconds: number, error?: unknown): void;
  /** The instruments of one consumer group (bound once per subscription). */
  group(group: string): GroupMetrics;
  /** Removes the lag callback (the bus closed). Idempotent. */
  close(): void;
}

export interface GroupMetrics {
  /** A delivery reached the subscription. */
  consumed(name: string): void;
  /** One handler invocation ended after `seconds`. */
  processed(name: string, seconds: number, error?: unknown): void;
  retried(name: string): void;
  deadLettered(name: string): void;
}

interface Instruments {
  readonly sent: Counter;
  readonly operation: Histogram;
  readonly consumed: Counter;
  readonly process: Histogram;
  readonly retries: Counter;
  readonly deadLetters: Counter;
  readonly lag: ObservableGauge;
}

/** `error.type` (low cardinality, as the semantic conventions ask): our errors' stable code, else the error's class name. */
export function errorType(error: unknown): string {
  if (error instanceof EventsError) return error.code;
  return error instanceof Error && typeof error.name === 'string' && error.name.length > 0 ? error.name.slice(0, 100) : '_OTHER';
}

export function createBusMetrics(spec: { system: string; consumers: () => readonly BusConsumerStats[] }): BusMetrics {
  const { system } = spec;
  let instruments: Instruments | undefined;
  let closed = false;
  const sendAttributes = new Map<string, Attributes>();
  const groupAttributes = new Map<string, Attributes>();

  function cached(cache: Map<string, Attributes>, key: string, make: () => Attributes): Attributes {
    const hit = cache.get(key);
    if (hit) return hit;
    const made = make();
    if (cache.size < MAX_CACHED_ATTRIBUTES) cache.set(key, made);
    return made;
  }
  const ofSend = (name: string): Attributes =>
    cached(sendAttributes, name, () => ({ 'messaging.system': system, 'messaging.destination.name': name, 'messaging.operation.name': 'emit', 'events.tier': 'bus' }));
  const ofGroup = (name: string, group: string): Attributes =>
    cached(groupAttributes, `${group}\u0000${name}`, () => ({ 'messaging.system': system, 'messaging.destination.name': name, 'messaging.consumer.group.name': group, 'events.tier': 'bus' }));
  const failed = (attributes: Attributes, error: unknown): Attributes => ({ ...attributes, 'error.type': errorType(error) });

  /** Lag per (group, pattern): buffered in the adapter plus handed to a handler and not settled. */
  function observeLag(result: ObservableResult): void {
    const lag = new Map<string, { group: string; pattern: string; value: number }>();
    for (const c of spec.consumers()) {
      const key = `${c.group}\u0000${c.pattern}`;
      const entry = lag.get(key) ?? { group: c.group, pattern: c.pattern, value: 0 };
      entry.value += c.buffered + c.inFlight;
      lag.set(key, entry);
    }
    for (const { group, pattern, value } of lag.values()) result.observe(value, ofGroup(pattern, group));
  }

  function get(): Instruments {
    if (instruments) return instruments;
    const meter = platformMeter();
    const counter = (m: { name: string; unit: string; description: string }): Counter => meter.createCounter(m.name, { unit: m.unit, description: m.description });
    const histogram = (m: { name: string; unit: string; description: string }): Histogram => meter.createHistogram(m.name, { unit: m.unit, description: m.description });
    const lag = meter.createObservableGauge(METRICS.busLag.name, { unit: METRICS.busLag.unit, description: METRICS.busLag.description });
    if (!closed) lag.addCallback(observeLag);
    instruments = {
      sent: counter(METRICS.sent),
      operation: histogram(METRICS.operationDuration),
      consumed: counter(METRICS.consumed),
      process: histogram(METRICS.processDuration),
      retries: counter(METRICS.busRetries),
      deadLetters: counter(METRICS.busDeadLetters),
      lag,
    };
    return instruments;
  }

  return {
    sent(name, seconds, error) {
      const i = get();
      const attributes = error === undefined ? ofSend(name) : failed(ofSend(name), error);
      i.sent.add(1, attributes);
      i.operation.record(seconds, attributes);
    },
    group: (group) => ({
      consumed(name) {
        get().consumed.add(1, ofGroup(name, group));
      },
      processed(name, seconds, error) {
        get().process.record(seconds, error === undefined ? ofGroup(name, group) : failed(ofGroup(name, group), error));
      },
      retried(name) {
        get().retries.add(1, ofGroup(name, group));
      },
      deadLettered(name) {
        get().deadLetters.add(1, ofGroup(name, group));
      },
    }),
    close() {
      closed = true;
      instruments?.lag.removeCallback(observeLag);
    },
  };
}
