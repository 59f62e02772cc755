/**
 * The bus's metrics, through core's platformMeter and METRICS table: sends and their duration per
 * event name, deliveries, handler durations, retries and dead letters per consumer group, and the
 * lag of each group (events accepted for it and not yet handled) as an observable gauge.
 *
 * Counts are kept here and reported when a reader collects (observable counters): an SDK counter
 * hashes its attributes on every `add` (microseconds per call, measured), an increment here costs
 * a map lookup. Durations are histograms, recorded per call. Instruments and the one collection
 * callback are made on first use, once per bus, and the callback is removed when the bus closes;
 * with no MeterProvider registered at that point nothing is kept or counted at all (a call returns
 * at once). Per bus at most MAX_METRIC_SERIES attribute
 * sets per instrument are kept; counts past that go to one set marked `otel.metric.overflow`
 * (the SDK's own convention for its cardinality limit).
 */
import { errorType, type Failure, instrumentOptions, MAX_METRIC_SERIES, METRICS, platformMeter, type BusConsumerStats, Tallies, type Tally } from '@events/core';
import { createNoopMeter, type Attributes, type BatchObservableResult, type Histogram, type Meter, type ObservableCounter, type ObservableGauge } from '@opentelemetry/api';


export interface BusMetrics {
  /** One emit ended: accepted (no failure) or refused, after `seconds`. */
  sent(name: string, seconds: number, failure?: Failure): void;
  /** The instruments of one consumer group (bound once per subscription). */
  group(group: string): GroupMetrics;
  /** Removes the collection callback (the bus closed). Idempotent. */
  close(): void;
}

export interface GroupMetrics {
  /** A delivery reached the subscription. */
  consumed(name: string): void;
  /** One handler invocation ended after `seconds`. */
  processed(name: string, seconds: number, failure?: Failure): void;
  retried(name: string): void;
  deadLettered(name: string): void;
}

interface Instruments {
  readonly meter: Meter;
  readonly sent: ObservableCounter;
  readonly consumed: ObservableCounter;
  readonly retries: ObservableCounter;
  readonly deadLetters: ObservableCounter;
  readonly lag: ObservableGauge;
  readonly operation: Histogram;
  readonly process: Histogram;
}

type Spec = { readonly name: string; readonly unit: string; readonly description: string };

export function createBusMetrics(spec: { system: string; consumers: () => readonly BusConsumerStats[] }): BusMetrics {
  const { system } = spec;
  let instruments: Instruments | undefined;
  let closed = false;
  let off = false;
  const counts = { sent: new Tallies(), consumed: new Tallies(), retries: new Tallies(), deadLetters: new Tallies() };
  // Attribute sets of the histograms (their failures add error.type to a copy).
  const sendAttributes = new Tallies();
  const groupAttributes = new Tallies();

  const ofSend = (name: string): Attributes =>
    sendAttributes.of(name, () => ({ 'messaging.system': system, 'messaging.destination.name': name, 'messaging.operation.name': 'emit', 'events.tier': 'bus' })).attributes;
  const ofGroup = (key: string, name: string, group: string): Attributes =>
    groupAttributes.of(key, () => ({ 'messaging.system': system, 'messaging.destination.name': name, 'messaging.consumer.group.name': group, 'events.tier': 'bus' })).attributes;
  const failed = (attributes: Attributes, error: unknown): Attributes => ({ ...attributes, 'error.type': errorType(error) });

  function observe(result: BatchObservableResult): void {
    const i = get();
    if (!i) return;
    counts.sent.observe(result, i.sent);
    counts.consumed.observe(result, i.consumed);
    counts.retries.observe(result, i.retries);
    counts.deadLetters.observe(result, i.deadLetters);
    // Lag per (group, pattern): buffered in the adapter plus handed to a handler and not settled.
    const lag = new Map<string, { group: string; pattern: string; value: number }>();
    for (const c of spec.consumers()) {
      const key = `${c.group}\u0000${c.pattern}`;
      const entry = lag.get(key) ?? { group: c.group, pattern: c.pattern, value: 0 };
      entry.value += c.buffered + c.inFlight;
      lag.set(key, entry);
    }
    for (const [key, { group, pattern, value }] of lag) result.observe(i.lag, value, ofGroup(key, pattern, group));
  }

  /** The instruments, made on first use; undefined when no MeterProvider was registered then (the API has no proxy: it never will be). */
  function get(): Instruments | undefined {
    if (instruments || off) return instruments;
    const meter = platformMeter();
    if (meter === createNoopMeter()) {
      off = true;
      return undefined;
    }
    const counter = (m: Spec): ObservableCounter => meter.createObservableCounter(m.name, instrumentOptions(m));
    const histogram = (m: Spec): Histogram => meter.createHistogram(m.name, instrumentOptions(m));
    instruments = {
      meter,
      sent: counter(METRICS.sent),
      consumed: counter(METRICS.consumed),
      retries: counter(METRICS.busRetries),
      deadLetters: counter(METRICS.busDeadLetters),
      lag: meter.createObservableGauge(METRICS.busLag.name, instrumentOptions(METRICS.busLag)),
      operation: histogram(METRICS.operationDuration),
      process: histogram(METRICS.processDuration),
    };
    const i = instruments;
    if (!closed) meter.addBatchObservableCallback(observe, [i.sent, i.consumed, i.retries, i.deadLetters, i.lag]);
    return i;
  }

  return {
    sent(name, seconds, failure) {
      const i = get();
      if (!i) return;
      const attributes = failure === undefined ? ofSend(name) : failed(ofSend(name), failure.error);
      if (failure === undefined) counts.sent.of(name, () => attributes).value += 1;
      else counts.sent.of(`${name}\u0000${String(attributes['error.type'])}`, () => attributes).value += 1;
      i.operation.record(seconds, attributes);
    },
    group(group) {
      // The keys of this group's names, made once per name (no string built per event).
      const keys = new Map<string, string>();
      const keyOf = (name: string): string => {
        const hit = keys.get(name);
        if (hit !== undefined) return hit;
        const key = `${group}\u0000${name}`;
        if (keys.size < MAX_METRIC_SERIES) keys.set(name, key);
        return key;
      };
      const tally = (t: Tallies, name: string): Tally => {
        const key = keyOf(name);
        return t.of(key, () => ofGroup(key, name, group));
      };
      return {
        consumed(name) {
          if (get()) tally(counts.consumed, name).value += 1;
        },
        processed(name, seconds, failure) {
          const i = get();
          if (!i) return;
          const key = keyOf(name);
          const attributes = ofGroup(key, name, group);
          i.process.record(seconds, failure === undefined ? attributes : failed(attributes, failure.error));
        },
        retried(name) {
          if (get()) tally(counts.retries, name).value += 1;
        },
        deadLettered(name) {
          if (get()) tally(counts.deadLetters, name).value += 1;
        },
      };
    },
    close() {
      closed = true;
      const i = instruments;
      if (i) i.meter.removeBatchObservableCallback(observe, [i.sent, i.consumed, i.retries, i.deadLetters, i.lag]);
    },
  };
}
