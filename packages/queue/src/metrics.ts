/**
 * The queue's metrics, through core's platformMeter and METRICS table: enqueues and their
 * duration, attempts delivered and timed, dead letters and attempts per finished job, per job
 * name; and, as observable gauges, each name's depth (waiting + prioritized + delayed) and the age
 * of the job at the head of its line (waiting or prioritized, by enqueue time).
 *
 * Counts are kept here and reported when a reader collects (observable counters): an SDK counter
 * hashes its attributes on every `add` (microseconds per call, measured), an increment here costs
 * a map lookup. Durations and attempts are histograms, recorded per call. Instruments and the one
 * collection callback are made on first use, once per queue; with no MeterProvider they are the
 * API's no-op instruments; with no MeterProvider registered at that point nothing is kept, counted
 * or read at all (a call returns at once, the backend is never asked). At most MAX_METRIC_SERIES attribute sets per instrument are kept; counts past
 * that go to one set marked `otel.metric.overflow`. The gauges never block a collection: it observes what the last refresh read,
 * and starts a new refresh in the background when that one is older than `refreshMs` (the first
 * collection after start may therefore see nothing yet). A refresh reads at most MAX_GAUGE_NAMES
 * names, a few at a time, within `deadlineMs`; a name it could not read in time is left out until
 * a refresh reads it (no stale figure), and no refresh starts while an earlier one's reads are
 * still out (a slow backend is not piled on), and none starts once the queue is closing. The
 * callback is removed when the queue has closed.
 */
import { errorType, type Failure, instrumentOptions, METRICS, platformMeter, type QueueAdapter, Tallies } from '@events/core';
import { createNoopMeter, type Attributes, type BatchObservableResult, type Histogram, type Meter, type Observable, type ObservableCounter, type ObservableGauge } from '@opentelemetry/api';

/** Job names a refresh reads at most (the first ones this queue knows). */
export const MAX_GAUGE_NAMES = 1000;
/** Names read at once during a refresh. */
const READS_AT_ONCE = 4;

export interface QueueMetricsSpec {
  readonly system: string;
  readonly adapter: QueueAdapter;
  /** True while the backend may be read: started (or starting) and the queue not closing. */
  readonly open: () => boolean;
  /** The job names this queue knows (processed, enqueued, scheduled, `names`). */
  readonly names: () => Iterable<string>;
  /** Least time between two refreshes of the gauges. Default: 1 000 ms. */
  readonly refreshMs?: number;
  /** Longest a refresh may take. Default: 5 000 ms. */
  readonly deadlineMs?: number;
}

export interface QueueMetrics {
  /** One enqueue of a job ended: stored (no failure) or refused, after `seconds`. */
  sent(name: string, seconds: number, failure?: Failure): void;
  /** One attempt ended after `seconds`. */
  processed(name: string, seconds: number, failure?: Failure): void;
  /** A job of this queue's workers completed or dead-lettered after `attempts` attempts. */
  finished(name: string, attempts: number, deadLetter: boolean): void;
  /** Registers the depth and age gauges, once the backend has started (idempotent; not after close). */
  observe(): void;
  /** Removes the collection callback (the queue closed). Idempotent. */
  close(): void;
}

interface Instruments {
  readonly meter: Meter;
  readonly sent: ObservableCounter;
  readonly consumed: ObservableCounter;
  readonly deadLetters: ObservableCounter;
  readonly depth: ObservableGauge;
  readonly age: ObservableGauge;
  readonly operation: Histogram;
  readonly process: Histogram;
  readonly attempts: Histogram;
}

type Spec = { readonly name: string; readonly unit: string; readonly description: string };

interface Reading {
  readonly depth: number;
  /** Enqueue time of the job at the head of the line, when one waits. */
  readonly headAt?: number | undefined;
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
  let off = false;
  let closed = false;
  const attributeSets = new Tallies();
  const counts = { sent: new Tallies(), consumed: new Tallies(), deadLetters: new Tallies() };
  let readings = new Map<string, Reading>();
  let refreshing: Promise<void> | undefined;
  let refreshedAt = -Infinity;

  const attributesOf = (name: string): Attributes => attributeSets.of(name, () => ({ 'messaging.system': system, 'messaging.destination.name': name, 'events.tier': 'queue' })).attributes;
  const failed = (name: string, error: unknown): Attributes => ({ ...attributesOf(name), 'error.type': errorType(error) });
  const count = (tallies: Tallies, name: string): void => {
    tallies.of(name, () => attributesOf(name)).value += 1;
  };

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
    const gauge = (m: Spec): ObservableGauge => meter.createObservableGauge(m.name, instrumentOptions(m));
    const i: Instruments = {
      meter,
      sent: counter(METRICS.sent),
      consumed: counter(METRICS.consumed),
      deadLetters: counter(METRICS.queueDeadLetters),
      depth: gauge(METRICS.queueDepth),
      age: gauge(METRICS.queueOldestAge),
      operation: histogram(METRICS.operationDuration),
      process: histogram(METRICS.processDuration),
      // Attempts are small whole numbers: buckets of their own (the SDK's default ones start at 0, 5, 10).
      attempts: meter.createHistogram(METRICS.queueAttempts.name, { ...instrumentOptions(METRICS.queueAttempts), advice: { explicitBucketBoundaries: [1, 2, 3, 4, 5, 7, 10, 15, 25, 50, 100] } }),
    };
    instruments = i;
    if (!closed) meter.addBatchObservableCallback(observeAll, observables(i));
    return i;
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
      while (!late && !closed && spec.open() && cursor < names.length) {
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

  /**
   * Starts a refresh in the background unless one is under way (never awaited by a collection).
   * The next may start `refreshMs` after this one ends, or ten times as long as it took when that
   * is more: reading the backend takes at most about a tenth of the time, however slow it is.
   */
  function kick(): void {
    if (refreshing !== undefined || closed) return;
    const started = Date.now();
    refreshing = refresh()
      .catch(() => undefined)
      .finally(() => {
        refreshing = undefined;
        const now = Date.now();
        refreshedAt = now + Math.max(0, 9 * (now - started) - refreshMs);
      });
  }

  const observables = (i: Instruments): Observable[] => [i.sent, i.consumed, i.deadLetters, i.depth, i.age];

  function observeAll(result: BatchObservableResult): void {
    const i = get();
    if (!i) return;
    counts.sent.observe(result, i.sent);
    counts.consumed.observe(result, i.consumed);
    counts.deadLetters.observe(result, i.deadLetters);
    if (!observing) return;
    const now = Date.now();
    if (spec.open() && now - refreshedAt >= refreshMs) kick();
    for (const [name, reading] of readings) {
      const attributes = attributesOf(name);
      result.observe(i.depth, reading.depth, attributes);
      if (reading.headAt !== undefined) result.observe(i.age, Math.max(0, now - reading.headAt) / 1000, attributes);
    }
  }

  return {
    sent(name, seconds, failure) {
      const i = get();
      if (!i) return;
      if (failure === undefined) {
        count(counts.sent, name);
        i.operation.record(seconds, attributesOf(name));
        return;
      }
      const attributes = failed(name, failure.error);
      counts.sent.of(`${name}\u0000${String(attributes['error.type'])}`, () => attributes).value += 1;
      i.operation.record(seconds, attributes);
    },
    processed(name, seconds, failure) {
      const i = get();
      if (!i) return;
      count(counts.consumed, name);
      i.process.record(seconds, failure === undefined ? attributesOf(name) : failed(name, failure.error));
    },
    finished(name, attempts, deadLetter) {
      const i = get();
      if (!i) return;
      i.attempts.record(attempts, attributesOf(name));
      if (deadLetter) count(counts.deadLetters, name);
    },
    observe() {
      if (observing || closed || !get()) return;
      observing = true;
      // Called once the backend has started: warm the readings so the first collection has figures.
      kick();
    },
    close() {
      closed = true;
      observing = false;
      const i = instruments;
      if (i) i.meter.removeBatchObservableCallback(observeAll, observables(i));
    },
  };
}
