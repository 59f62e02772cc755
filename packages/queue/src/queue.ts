/**
 * createQueue: the worker queue tier. At-least-once: a job is stored before `enqueue` resolves and
 * is retried until it succeeds or its attempts run out; a handler may therefore run more than once
 * for one job (after a crash, a stall or a timeout), so handlers should be idempotent.
 */
import {
  ClosedError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  InvalidOptionError,
  TimeoutError,
  ValidationError,
  assertSerializable,
  createEnvelope,
  createErrorReporter,
  createId,
  createLifecycle,
  drainWithin,
  validateJobName,
  validatePayload,
  type AddOptions,
  type AnyMessageMap,
  type CloseOptions,
  type ErrorHook,
  type Health,
  type JobCounts,
  type Lifecycle,
  type MessageMap,
  type NameOf,
  type QueueAdapter,
  type QueueAdapterEvent,
  type SchemaMap,
  type StoredJobInfo,
  type TransactionClient,
} from '@events/core';
import { createMemoryAdapter } from './adapters/memory.js';
import { createDeadLetters, type DeadLetters } from './dead-letters.js';
import { createWorkerHandle, type WorkerHandle } from './handles.js';
import { IdleSignal } from './idle.js';
import { runJob, type JobHandler } from './run-job.js';

export type { JobContext, JobHandler } from './run-job.js';
import { isFinalError } from './errors.js';
import { JobEvents, type QueueEventMap, type QueueEventName } from './events.js';
import {
  DEFAULT_JOB_OPTIONS,
  resolveJobOptions,
  validateDefaults,
  validateProcessOptions,
  type JobDefaults,
  type JobOptions,
  type ProcessOptions,
} from './options.js';

export interface QueueOptions<Jobs extends MessageMap = AnyMessageMap> {
  /**
   * The backend, as a value: `memoryQueue()` (from `@events/queue/memory`), `bullmqQueue({ url,
   * prefix })` (from `@events/queue/bullmq`), or any QueueAdapter. Default: a new `memoryQueue()`.
   */
  adapter?: QueueAdapter;
  /** Defaults for every job's options. Default: see JobDefaults. */
  defaults?: JobDefaults;
  /** Standard Schema per job name, checked at enqueue and before the handler runs. Default: none. */
  schemas?: SchemaMap<Jobs>;
  /**
   * Which job events `on()` delivers: `local` = jobs run by this queue object's workers; `all` =
   * jobs run by any worker on the same backend (BullMQ: Redis pub/sub on the prefix, at-most-once;
   * workers publish only while an observer listens and notice a new one within about a second;
   * memory: the same as `local`). Default: `local`.
   */
  events?: 'local' | 'all';
  /**
   * Job names this queue serves, besides those it processes, enqueues or schedules here. The
   * dead-letter view includes the backend's failed jobs of these names (a plain BullMQ worker's
   * too); reading any other name (`counts`, `getJob`) never creates anything. Default: none.
   */
  names?: readonly string[];
  /** Longest wait of `enqueue`/`enqueueMany` for the backend (per call: `timeoutMs`). Default: 5 000 ms. */
  enqueueTimeoutMs?: number;
  /**
   * The one error hook (tier `queue`). Kinds: `handler` (a job failed for good), `decode` (job data
   * not decodable, no handler for its name, or refused by its schema), `dead-letter` (a dead-letter
   * write failed: the job stays in the backend's failed set), `stall`, `transport`, `listener` (a
   * job-event listener threw), `close`. `name` = job name, `id` = job id. Default: console, rate-limited.
   */
  onError?: ErrorHook;
}

export interface ScheduleOptions extends Omit<JobOptions, 'jobId' | 'delay' | 'transaction' | 'timeoutMs' | 'signal'> {
  /** Scheduler id: scheduling the same id again replaces it. */
  id: string;
  /** Run every N ms. One of `every` and `cron` is required. */
  every?: number;
  /** Cron pattern, 5 fields (minute precision) or 6 (seconds first). */
  cron?: string;
  /** IANA time zone for `cron`. Default: the process's. */
  tz?: string;
}

export interface EnqueueItem<Jobs extends MessageMap, K extends NameOf<Jobs> = NameOf<Jobs>> {
  name: K;
  payload: Jobs[K];
  options?: JobOptions;
}

export interface Queue<Jobs extends MessageMap = AnyMessageMap> extends Lifecycle {
  readonly kind: string;
  /** Connects and checks the backend (implicit on first use); rejects on a bad configuration. May be retried. */
  start(): Promise<void>;
  /** Resolves once started (starting if needed). */
  ready(): Promise<void>;
  /** Stores a job; resolves to its id. The same `jobId` twice stores one job. Bounded by `timeoutMs`/`signal`. */
  enqueue<K extends NameOf<Jobs>>(name: K, payload: Jobs[K], options?: JobOptions): Promise<string>;
  /** Validates every item first: one bad item and nothing is stored. `transaction`: as in JobOptions. */
  enqueueMany(items: ReadonlyArray<EnqueueItem<Jobs>>, options?: EnqueueManyOptions): Promise<string[]>;
  /** Starts handling jobs of `name` in this process; the handle stops this worker alone. */
  process<K extends NameOf<Jobs>>(name: K, handler: JobHandler<Jobs[K]>, options?: ProcessOptions): Promise<WorkerHandle>;
  /** Repeats a job on a schedule (BullMQ job scheduler; timers in memory). */
  schedule<K extends NameOf<Jobs>>(name: K, payload: Jobs[K], options: ScheduleOptions): Promise<void>;
  unschedule(name: NameOf<Jobs>, id: string): Promise<boolean>;
  /** Reads one job. Never creates anything in the backend, whatever the name. */
  getJob(name: NameOf<Jobs>, id: string): Promise<StoredJobInfo | undefined>;
  /** Counts a name's jobs. Never creates anything in the backend, whatever the name. */
  counts(name: NameOf<Jobs>): Promise<JobCounts>;
  /** Resolves once no job of `names` (default: every name used here) is waiting, delayed or active. Default timeout: 30 000 ms. */
  waitUntilIdle(options?: { names?: ReadonlyArray<NameOf<Jobs>>; timeoutMs?: number }): Promise<void>;
  on<E extends QueueEventName>(event: E, listener: (event: QueueEventMap[E]) => void): () => void;
  readonly deadLetters: DeadLetters;
  /**
   * Stops taking jobs, lets active ones finish within `timeoutMs` (then aborts their signals and
   * puts them back to waiting), then releases connections, within the timeout even when the
   * backend is unreachable. Every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Phase, backend connection, last error; counts: `workers`, `running`, `idleWaiters`, plus the adapter's. */
  health(): Health;
}

export interface EnqueueManyOptions {
  /** As in JobOptions. Default: none. */
  transaction?: TransactionClient;
  /** As in JobOptions. Default: the queue's `enqueueTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_ENQUEUE_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** The transaction goes only to an adapter that can honour it: a silent non-transactional store would be a dual write. */
function addOptions(a: QueueAdapter, o: EnqueueManyOptions, timeoutMs: number): AddOptions {
  if (o.transaction !== undefined && !a.transactional) {
    throw new InvalidOptionError('transaction', `the ${a.kind} adapter cannot store a job inside your transaction (use the postgres adapter)`);
  }
  return { ...(o.transaction ? { transaction: o.transaction } : {}), timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
}

/** Rejects at the deadline or on abort; the work itself may still complete (at-least-once). */
function bounded<T>(work: Promise<T>, what: string, limits: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<T> {
  const { timeoutMs, signal } = limits;
  if (signal?.aborted) return Promise.reject(signal.reason);
  work.catch(() => undefined); // its outcome may arrive after ours
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      done();
      reject(new TimeoutError(`${what} (the job may still be stored: enqueue again with the same jobId to be sure)`, timeoutMs));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => (done(), resolve(v)),
      (e: unknown) => (done(), reject(e)),
    );
  });
}

function decodeKind(error: Error): boolean {
  return ['DecodeError', 'UnknownJobError', 'ValidationError'].includes(error.name);
}

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

  const lifecycle = createLifecycle({
    what: 'queue',
    async open() {
      attempted = true;
      await adapter.start({ report: (kind, error, facts) => reporter.report(kind, error, facts), names: () => [...names], signal: lifecycle.closing });
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
      if (unwatch) await drainWithin(unwatch(), Math.max(left(), 100));
      // The adapter settles within its timeout even when the backend is unreachable.
      if (attempted) await drainWithin(adapter.close({ ...closeOptions, timeoutMs: Math.max(left(), 100) }), Math.max(left(), 100) + 1000);
    } catch (err) {
      reporter.report('close', err);
    } finally {
      idle.notify();
      events.clear();
    }
  }

  async function ready(action: string): Promise<QueueAdapter> {
    lifecycle.assertOpen(action);
    await lifecycle.start();
    lifecycle.assertOpen(action);
    return adapter;
  }

  async function prepare(name: string, payload: unknown, jobOptions: JobOptions = {}) {
    validateJobName(name);
    const resolved = resolveJobOptions(jobOptions, defaults);
    const value = await validatePayload(options.schemas, name as NameOf<Jobs>, payload);
    assertSerializable(value);
    const envelope = createEnvelope(name, value, {
      id: jobOptions.jobId ?? createId(),
      headers: jobOptions.headers,
      correlationId: jobOptions.correlationId,
      causationId: jobOptions.causationId,
    });
    return { id: envelope.id, name, data: envelope, options: resolved };
  }

  /** Events of this process's workers: reported, woken idle waiters, and emitted unless the backend feed does. */
  function local(event: QueueAdapterEvent): void {
    if (event.type === 'failed' && event.final) {
      reporter.report(decodeKind(event.error) ? 'decode' : 'handler', event.error, { name: event.name, id: event.id, detail: { attempt: event.attempt } });
    }
    if (!unwatch) emitEvent(event);
  }

  function emitEvent(event: QueueAdapterEvent): void {
    if (event.type !== 'progress') idle.notify();
    if (event.type === 'completed') events.emit('completed', { id: event.id, name: event.name, attempt: event.attempt, result: event.result });
    else if (event.type === 'failed') events.emit('failed', { id: event.id, name: event.name, attempt: event.attempt, error: event.error, final: event.final });
    else events.emit('progress', { id: event.id, name: event.name, progress: event.progress });
  }

  async function register(name: string, handler: JobHandler<never>, processOptions: ProcessOptions): Promise<WorkerHandle> {
    const a = await ready('process');
    names.add(name);
    const abort = new AbortController();
    const run = { name, handler, timeoutMs: processOptions.timeoutMs, shutdown: abort.signal, schemas: options.schemas as SchemaMap<MessageMap> | undefined };
    const consumer = await a.consume(name, (job) => runJob(job, run), {
      concurrency: processOptions.concurrency ?? 1,
      limiter: processOptions.limiter,
      isFinal: (error) => isFinalError(error) || error instanceof ValidationError,
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
    async enqueue(name, payload, jobOptions = {}) {
      lifecycle.assertOpen('enqueue');
      const job = await prepare(name, payload, jobOptions);
      const timeoutMs = jobOptions.timeoutMs ?? enqueueTimeoutMs;
      const a = await bounded(ready('enqueue'), `queue.enqueue("${name}") waiting for the ${adapter.kind} backend to start`, { timeoutMs, signal: jobOptions.signal });
      names.add(name);
      const add = a.add([job], addOptions(a, jobOptions, timeoutMs));
      const [id] = await bounded(add, `queue.enqueue("${name}") on ${adapter.kind}`, { timeoutMs: timeoutMs + 100, signal: jobOptions.signal });
      return id ?? job.id;
    },
    async enqueueMany(items, manyOptions = {}) {
      lifecycle.assertOpen('enqueue');
      const jobs = await Promise.all(items.map((item) => prepare(item.name, item.payload, item.options)));
      const timeoutMs = manyOptions.timeoutMs ?? enqueueTimeoutMs;
      const a = await bounded(ready('enqueue'), `queue.enqueueMany waiting for the ${adapter.kind} backend to start`, { timeoutMs, signal: manyOptions.signal });
      for (const job of jobs) names.add(job.name);
      return bounded(a.add(jobs, addOptions(a, manyOptions, timeoutMs)), `queue.enqueueMany(${jobs.length} jobs) on ${adapter.kind}`, { timeoutMs: timeoutMs + 100, signal: manyOptions.signal });
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
      const job = await prepare(name, payload, jobOptions);
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
      (letter) =>
        queue.enqueue(letter.name as NameOf<Jobs>, letter.payload as Jobs[NameOf<Jobs>], {
          headers: { ...letter.envelope.headers, replayOf: letter.id },
          correlationId: letter.envelope.correlationId,
          causationId: letter.envelope.causationId,
        }),
    ),
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
