/**
 * createQueue: the worker queue tier. At-least-once: a job is stored before `enqueue` resolves and
 * is retried until it succeeds or its attempts run out; a handler may therefore run more than once
 * for one job (after a crash, a stall or a timeout), so handlers should be idempotent.
 */
import {
  ClosedError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  InvalidOptionError,
  ValidationError,
  assertSerializable,
  createEnvelope,
  createErrorReporter,
  createId,
  createLifecycle,
  drainWithin,
  endSpan,
  journeyKeys,
  producerContext,
  startProducerSpan,
  tracingModeOption,
  validateJobName,
  validatePayload,
  type AnyMessageMap,
  type CloseOptions,
  type Failure,
  type MessageMap,
  type NameOf,
  type QueueAdapter,
  type QueueAdapterEvent,
  type SchemaMap,
} from '@events/core';
import { createMemoryAdapter } from './adapters/memory.js';
import { createDeadLetters } from './dead-letters.js';
import { addOptions, bounded, decodeKind } from './enqueue-bounds.js';
import { createWorkerHandle, type WorkerHandle } from './handles.js';
import { IdleSignal } from './idle.js';
import { recordEnqueue } from './journal.js';
import { createQueueMetrics } from './metrics.js';
import { createQueueAdmin } from './admin.js';
import { RateRecorder } from './rates.js';
import { runJob, type JobHandler } from './run-job.js';

export type { JobContext, JobHandler } from './run-job.js';
export type { EnqueueManyOptions } from './enqueue-bounds.js';
export type { EnqueueItem, Queue, QueueOptions, ScheduleOptions } from './queue-types.js';
import type { Queue, QueueOptions } from './queue-types.js';
import { isFinalError } from './errors.js';
import { JobEvents } from './events.js';
import {
  DEFAULT_JOB_OPTIONS,
  resolveJobOptions,
  validateDefaults,
  validateProcessOptions,
  type JobOptions,
  type ProcessOptions,
} from './options.js';

export const DEFAULT_ENQUEUE_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export function createQueue<Jobs extends MessageMap = AnyMessageMap>(options: QueueOptions<Jobs> = {}): Queue<Jobs> {
  const defaults = { ...DEFAULT_JOB_OPTIONS, ...options.defaults };
  validateDefaults(defaults);
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
  if (!(Number.isInteger(enqueueTimeoutMs) && enqueueTimeoutMs > 0)) throw new InvalidOptionError('enqueueTimeoutMs', `must be an integer > 0, got ${enqueueTimeoutMs}`);
  const adapter: QueueAdapter = options.adapter ?? createMemoryAdapter();
  const reporter = createErrorReporter('queue', options.onError);
  const events = new JobEvents((error) => reporter.report('listener', error));
  const idle = new IdleSignal();
  const names = new Set<string>(options.names ?? []);
  for (const name of names) validateJobName(name);
  const handles = new Set<WorkerHandle>();
  const registering = new Set<Promise<unknown>>();
  let unwatch: (() => Promise<void>) | undefined;
  let attempted = false;
  // Rates for the dashboard's charts (rates.ts): counted here, added to the backend's series each second.
  const journal = options.journal;
  const tracing = tracingModeOption(options.tracing);
  const metrics = createQueueMetrics({ system: adapter.kind, adapter, open: () => lifecycle.phase === 'ready' || lifecycle.phase === 'starting', names: () => names });
  const rates = new RateRecorder(() => adapter.admin, (error) => reporter.report('transport', error, { detail: { op: 'rates' } }));

  const lifecycle = createLifecycle({
    what: 'queue',
    async open() {
      attempted = true;
      await adapter.start({ report: (kind, error, facts) => reporter.report(kind, error, facts), names: () => [...names], signal: lifecycle.closing });
      metrics.observe();
      // Events then come back from the backend, our own workers' included: no local forwarding.
      if (options.events === 'all' && adapter.watch) unwatch = await adapter.watch((event) => emitEvent(event));
    },
    async release() {
      await adapter.close({ force: true, timeoutMs: 1000 });
    },
    shutdown,
  });

  async function shutdown(closeOptions: CloseOptions): Promise<void> {
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    try {
      // Registrations in flight finish first (each refuses itself with ClosedError): none escapes the snapshot.
      await drainWithin(Promise.allSettled([...registering]), timeoutMs);
      const left = (): number => Math.max(0, deadline - Date.now());
      await Promise.all([...handles].map((h) => h.close({ drain: closeOptions.force !== true, timeoutMs: left() })));
      if (attempted) await drainWithin(rates.close(), Math.min(Math.max(left(), 100), 1000));
      rates.abandon();
      if (unwatch) await drainWithin(unwatch(), Math.max(left(), 100));
      // The adapter settles within its timeout even when the backend is unreachable.
      if (attempted) await drainWithin(adapter.close({ ...closeOptions, timeoutMs: Math.max(left(), 100) }), Math.max(left(), 100) + 1000);
    } catch (err) {
      reporter.report('close', err);
    } finally {
      idle.notify();
      events.clear();
      // After the drain: what the last jobs counted is reported until here (the gauges stopped reading when close began).
      metrics.close();
    }
  }

  async function ready(action: string): Promise<QueueAdapter> {
    lifecycle.assertOpen(action);
    await lifecycle.start();
    lifecycle.assertOpen(action);
    return adapter;
  }

  /** Validates and wraps one job; `traced`: its enqueue span starts here (a schedule's template has none). */
  async function prepare(name: string, payload: unknown, spec: { jobOptions?: JobOptions | undefined; traced: boolean }) {
    validateJobName(name);
    resolveJobOptions(spec.jobOptions ?? {}, defaults); // a bad option fails before the schema runs
    return prepareNow(name, await validatePayload(options.schemas, name as NameOf<Jobs>, payload), spec);
  }

  /** prepare() once the payload is validated (`value`: the schema's output). */
  function prepareNow(name: string, value: unknown, spec: { jobOptions?: JobOptions | undefined; traced: boolean }) {
    const jobOptions = spec.jobOptions ?? {};
    validateJobName(name);
    const resolved = resolveJobOptions(jobOptions, defaults);
    assertSerializable(value);
    const id = jobOptions.jobId ?? createId();
    const headers = { ...jobOptions.headers };
    // The producer span's context travels in the job's envelope (none when this enqueue is not traced: TracingMode).
    const parent = spec.traced ? producerContext(tracing) : undefined;
    const span = parent !== undefined ? startProducerSpan(parent, { operation: 'enqueue', tier: 'queue', system: adapter.kind, destination: name, messageId: id, conversationId: jobOptions.correlationId ?? id }, headers) : undefined;
    const envelope = createEnvelope(name, value, { id, headers, correlationId: jobOptions.correlationId, causationId: jobOptions.causationId });
    // The operator's search keys, asked once per enqueue (a schedule's template is none).
    const keys = journal && spec.traced ? journeyKeys(journal, name, value) : undefined;
    return { job: { id: envelope.id, name, data: envelope, options: resolved }, envelope, span, keys };
  }

  type Prepared = Awaited<ReturnType<typeof prepare>>;

  /** Ends the enqueue spans with the outcome of `work` (the jobs' ids), measures it and records each job's step. */
  async function stored(prepared: readonly Prepared[], work: () => Promise<string[]>): Promise<string[]> {
    const started = performance.now();
    try {
      const ids = await work();
      prepared.forEach((p, index) => settle(p, { kind: 'enqueue', started, id: ids[index] }));
      return ids;
    } catch (error) {
      for (const p of prepared) settle(p, { kind: 'enqueue', started, failure: { error } });
      throw error;
    }
  }

  /** One job's store ended (stored: its id; refused: whatever was thrown): its span, its metrics, its journal step. */
  function settle(p: Prepared, outcome: { kind: 'enqueue' | 'replay'; started: number; id?: string | undefined; failure?: Failure }): void {
    const { failure } = outcome;
    if (p.span) endSpan(p.span, failure);
    const durationMs = performance.now() - outcome.started;
    metrics.sent(p.envelope.name, durationMs / 1000, failure);
    if (!journal) return;
    recordEnqueue(journal, { kind: outcome.kind, system: adapter.kind, envelope: p.envelope, jobId: outcome.id ?? p.envelope.id, keys: p.keys, at: Date.now() - durationMs, durationMs, span: p.span, failure });
  }

  /** One job stored: an `enqueue`, or a dead letter's `replay` (its journal step says which). */
  async function enqueueOne(name: string, payload: unknown, spec: { jobOptions: JobOptions; kind: 'enqueue' | 'replay' }): Promise<string> {
    const { jobOptions } = spec;
    lifecycle.assertOpen('enqueue');
    const started = performance.now();
    // Without schemas nothing in prepare waits: no promise hop per job (the enqueue profile showed them).
    const prepared = options.schemas ? await prepare(name, payload, { jobOptions, traced: true }) : prepareNow(name, payload, { jobOptions, traced: true });
    const { job } = prepared;
    try {
      const timeoutMs = jobOptions.timeoutMs ?? enqueueTimeoutMs;
      // Started already (the usual case): no wait to bound, no timer.
      const a = lifecycle.phase === 'ready' ? adapter : await bounded(ready('enqueue'), () => `queue.enqueue("${name}") waiting for the ${adapter.kind} backend to start`, { timeoutMs, signal: jobOptions.signal });
      names.add(name);
      const add = a.add([job], addOptions(a, jobOptions, timeoutMs));
      const [added] = await bounded(add, () => `queue.enqueue("${name}") on ${adapter.kind}`, { timeoutMs: timeoutMs + 100, signal: jobOptions.signal });
      rates.count(name, 'enqueued');
      const id = added ?? job.id;
      settle(prepared, { kind: spec.kind, started, id });
      return id;
    } catch (error) {
      settle(prepared, { kind: spec.kind, started, failure: { error } });
      throw error;
    }
  }

  /** Events of this process's workers: reported, woken idle waiters, and emitted unless the backend feed does. */
  function local(event: QueueAdapterEvent): void {
    if (event.type === 'completed') {
      rates.count(event.name, 'completed');
      metrics.finished(event.name, event.attempt, false);
    } else if (event.type === 'failed' && event.final) {
      rates.count(event.name, 'failed');
      metrics.finished(event.name, event.attempt, true);
    }
    if (event.type === 'failed' && event.final) {
      reporter.report(decodeKind(event.error) ? 'decode' : 'handler', event.error, { name: event.name, id: event.id, detail: { attempt: event.attempt } });
    }
    if (!unwatch) emitEvent(event);
  }

  function emitEvent(event: QueueAdapterEvent): void {
    if (event.type !== 'progress') idle.notify();
    if (!events.listening(event.type)) return; // no listener: no payload built per job
    if (event.type === 'completed') events.emit('completed', { id: event.id, name: event.name, attempt: event.attempt, result: event.result });
    else if (event.type === 'failed') events.emit('failed', { id: event.id, name: event.name, attempt: event.attempt, error: event.error, final: event.final });
    else events.emit('progress', { id: event.id, name: event.name, progress: event.progress });
  }

  async function register(name: string, handler: JobHandler<never>, processOptions: ProcessOptions): Promise<WorkerHandle> {
    const a = await ready('process');
    names.add(name);
    const abort = new AbortController();
    const isFinal = (error: unknown): boolean => isFinalError(error) || error instanceof ValidationError;
    const run = { name, handler, timeoutMs: processOptions.timeoutMs, shutdown: abort.signal, schemas: options.schemas as SchemaMap<MessageMap> | undefined, system: a.kind, isFinal, journal, metrics, tracing };
    const consumer = await a.consume(name, (job) => runJob(job, run), {
      concurrency: processOptions.concurrency ?? 1,
      limiter: processOptions.limiter,
      isFinal,
      onEvent: local,
      signal: abort.signal,
    });
    const handle = createWorkerHandle({ name, consumer, abort }, (h) => handles.delete(h));
    if (lifecycle.phase === 'closing' || lifecycle.phase === 'closed') {
      // close() began while this consumer was being made: it is not in the snapshot, so stop it here.
      await handle.close({ drain: false, timeoutMs: 1000 });
      throw new ClosedError('queue (process)');
    }
    handles.add(handle);
    return handle;
  }

  const queue: Queue<Jobs> = {
    get kind() {
      return adapter.kind;
    },
    start: () => lifecycle.start(),
    ready: () => lifecycle.start(),
    enqueue: (name, payload, jobOptions = {}) => enqueueOne(name, payload, { jobOptions, kind: 'enqueue' }),
    async enqueueMany(items, manyOptions = {}) {
      lifecycle.assertOpen('enqueue');
      const prepared = options.schemas
        ? await Promise.all(items.map((item) => prepare(item.name, item.payload, { jobOptions: item.options, traced: true })))
        : items.map((item) => prepareNow(item.name, item.payload, { jobOptions: item.options, traced: true }));
      const jobs = prepared.map((p) => p.job);
      return stored(
        prepared,
        async () => {
          const timeoutMs = manyOptions.timeoutMs ?? enqueueTimeoutMs;
          const a = lifecycle.phase === 'ready' ? adapter : await bounded(ready('enqueue'), () => `queue.enqueueMany waiting for the ${adapter.kind} backend to start`, { timeoutMs, signal: manyOptions.signal });
          for (const job of jobs) names.add(job.name);
          const ids = await bounded(a.add(jobs, addOptions(a, manyOptions, timeoutMs)), () => `queue.enqueueMany(${jobs.length} jobs) on ${adapter.kind}`, { timeoutMs: timeoutMs + 100, signal: manyOptions.signal });
          for (const job of jobs) rates.count(job.name, 'enqueued');
          return ids;
        },
      );
    },
    async process(name, handler, processOptions = {}) {
      validateJobName(name);
      validateProcessOptions(processOptions);
      lifecycle.assertOpen('process');
      const registration = register(name, handler as JobHandler<never>, processOptions);
      registering.add(registration);
      try {
        return await registration;
      } finally {
        registering.delete(registration);
      }
    },
    async schedule(name, payload, scheduleOptions) {
      const { id, every, cron, tz, ...jobOptions } = scheduleOptions;
      if (typeof id !== 'string' || id.length === 0 || id.includes(':')) throw new InvalidOptionError('id', 'must be a non-empty string without ":"');
      if ((every === undefined) === (cron === undefined)) throw new InvalidOptionError('every/cron', 'give exactly one of them');
      if (every !== undefined && !(Number.isInteger(every) && every > 0)) throw new InvalidOptionError('every', `must be an integer > 0 (ms), got ${every}`);
      // Each occurrence starts a trace of its own: the template carries no span.
      const { job } = await prepare(name, payload, { jobOptions, traced: false });
      const a = await ready('schedule');
      names.add(name);
      await a.schedule(id, { every, cron, tz }, { name, data: job.data, options: job.options });
    },
    async unschedule(name, id) {
      validateJobName(name);
      return (await ready('unschedule')).unschedule(name, id);
    },
    async getJob(name, id) {
      validateJobName(name);
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new InvalidOptionError('id', 'must be a non-empty string of at most 256 characters');
      return (await ready('getJob')).getJob(name, id);
    },
    async counts(name) {
      validateJobName(name);
      return (await ready('counts')).counts(name);
    },
    async waitUntilIdle(idleOptions = {}) {
      const a = await ready('waitUntilIdle');
      const timeoutMs = idleOptions.timeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
      const watched = idleOptions.names ?? [...names];
      await idle.waitUntilIdle(() => Promise.all(watched.map((n) => a.counts(n))), timeoutMs, lifecycle.closing);
    },
    on(event, listener) {
      return events.on(event, listener);
    },
    deadLetters: createDeadLetters(
      async () => (await ready('deadLetters')).deadLetters,
      // A replay is caused by its dead letter, in its flow: the journey shows it under the failed job.
      (letter) =>
        enqueueOne(letter.name, letter.payload, {
          kind: 'replay',
          jobOptions: { headers: { ...letter.envelope.headers, replayOf: letter.id }, correlationId: letter.envelope.correlationId ?? letter.envelope.id, causationId: letter.envelope.id },
        }),
    ),
    admin: createQueueAdmin((action) => ready(action)),
    close: (closeOptions) => lifecycle.close(closeOptions),
    health() {
      const facts = adapter.health?.();
      let running = 0;
      for (const h of handles) running += h.running;
      return {
        phase: lifecycle.phase,
        connected: facts ? facts.connected && lifecycle.phase === 'ready' : lifecycle.phase === 'ready',
        ...(reporter.lastError ? { lastError: reporter.lastError } : {}),
        counts: { workers: handles.size, running, idleWaiters: idle.waiting, ...facts?.counts },
      };
    },
  };
  return queue;
}
