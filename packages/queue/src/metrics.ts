/**
 * The queue's metrics, through core's platformMeter and METRICS table: enqueues and their
 * duration, attempts delivered and timed, dead letters and attempts per finished job, per job
 * name; and, as observable gauges, each name's depth (waiting + prioritized + delayed) and the age
 * of the job at the head of its line (waiting or prioritized, by enqueue time).
 *
 * Instruments are made on first use, once per queue; with no MeterProvider they are the API's
 * no-op instruments. The gauges never block a collection: it observes what the last refresh read,
 * and starts a new refresh in the background when that one is older than `refreshMs` (the first
 * collection after start may therefore see nothing yet). A refresh reads at most MAX_GAUGE_NAMES
 * names, a few at a time, within `deadlineMs`; a name it could not read in time is left out until
 * a refresh reads it (no stale figure), and no refresh starts while an earlier one's reads are
 * still out (a slow backend is not piled on). The callback is removed when the queue closes.
 */
import { EventsError, METRICS, platformMeter, type QueueAdapter } from '@events/core';
import type { Attributes, BatchObservableResult, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';

/** Job names a refresh reads at most (the first ones this queue knows). */
export const MAX_GAUGE_NAMES = 1000;
/** Attribute sets kept per queue. */
const MAX_CACHED_ATTRIBUTES = 1000;
/** Names read at once during a refresh. */
const READS_AT_ONCE = 4;

export interface QueueMetricsSpec {
  readonly system: string;
  readonly adapter: QueueAdapter;
  /** True once the backend is started (gauges read it only then). */
  readonly ready: () => boolean;
  /** The job names this queue knows (processed, enqueued, scheduled, `names`). */
  readonly names: () => Iterable<string>;
  /** Least time between two refreshes of the gauges. Default: 1 000 ms. */
  readonly refreshMs?: number;
  /** Longest a refresh may take. Default: 5 000 ms. */
  readonly deadlineMs?: number;
}

export interface QueueMetrics {
  /** One enqueue of a job ended: stored (no error) or refused, after `seconds`. */
  sent(name: string, seconds: number, error?: unknown): void;
  /** One attempt ended after `seconds`. */
  processed(name: string, seconds: number, error?: unknown): void;
  /** A job of this queue's workers completed or dead-lettered after `attempts` attempts. */
  finished(name: string, attempts: number, deadLetter: boolean): void;
  /** Registers the depth and age gauges, once the backend has started (idempotent; not after close). */
  observe(): void;
  /** Removes the gauges' callback. Idempotent. */
  close(): void;
}

interface Instruments {
  readonly meter: Meter;
  readonly sent: Counter;
  readonly operation: Histogram;
  readonly consumed: Counter;
  readonly process: Histogram;
  readonly deadLetters: Counter;
  readonly attempts: Histogram;
  readonly depth: ObservableGauge;
  readonly age: ObservableGauge;
}

interface Reading {
  readonly depth: number;
  /** Enqueue time of the job at the head of the line, when one waits. */
  readonly headAt?: number | undefined;
}

/** `error.type` (low cardinality, as the semantic conventions ask): our errors' stable code, else the error's class name. */
export function errorType(error: unknown): string {
  if (error instanceof EventsError) return error.code;
  return error instanceof Error && typeof error.name === 'string' && error.name.length > 0 ? error.name.slice(0, 100) : '_OTHER';
}

/** What the backend says of one name's line: its depth and its head's enqueue time. */
async function readLine(adapter: QueueAdapter, name: string): Promise<Reading> {
  const admin = adapter.admin;
  if (!admin) {
    const c = await adapter.counts(name);
    return { depth: c.waiting + c.delayed };
  }
  const c = await admin.counts(name);
  const heads = await Promise.all(
    (['waiting', 'prioritized'] as const).filter((state) => c[state] > 0).map((state) => admin.list(name, state, { offset: 0, limit: 1 })),
  );
  let headAt: number | undefined;
  for (const [job] of heads) if (job && (headAt === undefined || job.enqueuedAt < headAt)) headAt = job.enqueuedAt;
  return { depth: c.waiting + c.prioritized + c.delayed, headAt };
}

export function createQueueMetrics(spec: QueueMetricsSpec): QueueMetrics {
  const { system, adapter } = spec;
  const refreshMs = spec.refreshMs ?? 1000;
  const deadlineMs = spec.deadlineMs ?? 5000;
  let instruments: Instruments | undefined;
  let observing = false;
  let closed = false;
  const attributeCache = new Map<string, Attributes>();
  let readings = new Map<string, Reading>();
  let refreshing: Promise<void> | undefined;
  let refreshedAt = -Infinity;

  function attributesOf(name: string): Attributes {
    const hit = attributeCache.get(name);
    if (hit) return hit;
    const made = { 'messaging.system': system, 'messaging.destination.name': name, 'events.tier': 'queue' };
    if (attributeCache.size < MAX_CACHED_ATTRIBUTES) attributeCache.set(name, made);
    return made;
  }
  const failed = (name: string, error: unknown): Attributes => ({ ...attributesOf(name), 'error.type': errorType(error) });

  function get(): Instruments {
    if (instruments) return instruments;
    const meter = platformMeter();
    const counter = (m: { name: string; unit: string; description: string }): Counter => meter.createCounter(m.name, { unit: m.unit, description: m.description });
    const histogram = (m: { name: string; unit: string; description: string }): Histogram => meter.createHistogram(m.name, { unit: m.unit, description: m.description });
    const gauge = (m: { name: string; unit: string; description: string }): ObservableGauge => meter.createObservableGauge(m.name, { unit: m.unit, description: m.description });
    instruments = {
      meter,
      sent: counter(METRICS.sent),
      operation: histogram(METRICS.operationDuration),
      consumed: counter(METRICS.consumed),
      process: histogram(METRICS.processDuration),
      deadLetters: counter(METRICS.queueDeadLetters),
      attempts: histogram(METRICS.queueAttempts),
      depth: gauge(METRICS.queueDepth),
      age: gauge(METRICS.queueOldestAge),
    };
    return instruments;
  }

  /** Reads every known name (bounded) within the deadline; what was not read in time is dropped. */
  async function refresh(): Promise<void> {
    const names: string[] = [];
    for (const name of spec.names()) {
      if (names.length >= MAX_GAUGE_NAMES) break;
      names.push(name);
    }
    const next = new Map<string, Reading>();
    let cursor = 0;
    let late = false;
    const reader = async (): Promise<void> => {
      while (!late && !closed && cursor < names.length) {
        const name = names[cursor++]!;
        try {
          const reading = await readLine(adapter, name);
          if (!late) next.set(name, reading);
        } catch {
          // A name the backend could not answer for is left out of this round.
        }
      }
    };
    const work = Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, names.length) }, reader));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([work, deadline]);
    clearTimeout(timer);
    late = true;
    readings = next;
    // The next refresh waits for this one's reads still out.
    await work;
  }

  /** Starts a refresh in the background unless one is under way (never awaited by a collection). */
  function kick(): void {
    if (refreshing !== undefined || closed) return;
    refreshing = refresh()
      .catch(() => undefined)
      .finally(() => {
        refreshing = undefined;
        refreshedAt = Date.now();
      });
  }

  function observeLines(result: BatchObservableResult): void {
    const i = get();
    const now = Date.now();
    if (spec.ready() && now - refreshedAt >= refreshMs) kick();
    for (const [name, reading] of readings) {
      const attributes = attributesOf(name);
      result.observe(i.depth, reading.depth, attributes);
      if (reading.headAt !== undefined) result.observe(i.age, Math.max(0, now - reading.headAt) / 1000, attributes);
    }
  }

  return {
    sent(name, seconds, error) {
      const i = get();
      const attributes = error === undefined ? attributesOf(name) : failed(name, error);
      i.sent.add(1, attributes);
      i.operation.record(seconds, attributes);
    },
    processed(name, seconds, error) {
      const i = get();
      i.consumed.add(1, attributesOf(name));
      i.process.record(seconds, error === undefined ? attributesOf(name) : failed(name, error));
    },
    finished(name, attempts, deadLetter) {
      const i = get();
      i.attempts.record(attempts, attributesOf(name));
      if (deadLetter) i.deadLetters.add(1, attributesOf(name));
    },
    observe() {
      if (observing || closed) return;
      observing = true;
      const i = get();
      i.meter.addBatchObservableCallback(observeLines, [i.depth, i.age]);
      // Called once the backend has started: warm the readings so the first collection has figures.
      kick();
    },
    close() {
      closed = true;
      if (observing && instruments) instruments.meter.removeBatchObservableCallback(observeLines, [instruments.depth, instruments.age]);
      observing = false;
    },
  };
}
