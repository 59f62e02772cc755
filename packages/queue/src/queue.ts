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
  createId,
  drainWithin,
  sleep,
  validateJobName,
  validatePayload,
  type AnyMessageMap,
  type CloseOptions,
  type JobCounts,
  type MessageMap,
  type NameOf,
  type QueueAdapter,
  type QueueAdapterConsumer,
  type QueueAdapterEvent,
  type SchemaMap,
  type StoredJobInfo,
  type TransactionClient,
} from '@events/core';
import type { BullmqAdapterOptions } from './adapters/bullmq.js';
import { createDeadLetters, type DeadLetters } from './dead-letters.js';
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
  /** `memory`, `bullmq`, or an adapter object. Default: `memory`. */
  adapter?: 'memory' | 'bullmq' | QueueAdapter;
  /** Options of the BullMQ adapter (`adapter: 'bullmq'`). Default: `redis://127.0.0.1:6379`, prefix `bull`. */
  bullmq?: BullmqAdapterOptions;
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
  /** Errors with nowhere else to go (a throwing event listener, a backend error). Default: console.error. */
  onError?: (error: Error) => void;
}

export interface ScheduleOptions extends Omit<JobOptions, 'jobId' | 'delay' | 'transaction'> {
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

export interface Queue<Jobs extends MessageMap = AnyMessageMap> {
  readonly kind: string;
  /** Connects and checks the backend (implicit on first use); rejects on a bad configuration. */
  start(): Promise<void>;
  /** Stores a job; resolves to its id. The same `jobId` twice stores one job. */
  enqueue<K extends NameOf<Jobs>>(name: K, payload: Jobs[K], options?: JobOptions): Promise<string>;
  /** Validates every item first: one bad item and nothing is stored. `transaction`: as in JobOptions. */
  enqueueMany(items: ReadonlyArray<EnqueueItem<Jobs>>, options?: { transaction?: TransactionClient }): Promise<string[]>;
  /** Starts handling jobs of `name` in this process. */
  process<K extends NameOf<Jobs>>(name: K, handler: JobHandler<Jobs[K]>, options?: ProcessOptions): Promise<void>;
  /** Repeats a job on a schedule (BullMQ job scheduler; timers in memory). */
  schedule<K extends NameOf<Jobs>>(name: K, payload: Jobs[K], options: ScheduleOptions): Promise<void>;
  unschedule(name: NameOf<Jobs>, id: string): Promise<boolean>;
  getJob(name: NameOf<Jobs>, id: string): Promise<StoredJobInfo | undefined>;
  counts(name: NameOf<Jobs>): Promise<JobCounts>;
  /** Resolves once no job of `names` (default: every name used here) is waiting, delayed or active. */
  waitUntilIdle(options?: { names?: ReadonlyArray<NameOf<Jobs>>; timeoutMs?: number }): Promise<void>;
  on<E extends QueueEventName>(event: E, listener: (event: QueueEventMap[E]) => void): () => void;
  readonly deadLetters: DeadLetters;
  /** Stops taking jobs, waits for active ones within `timeoutMs`, then releases connections. */
  close(options?: CloseOptions): Promise<void>;
}

async function loadAdapter(options: QueueOptions<MessageMap>): Promise<QueueAdapter> {
  const choice = options.adapter ?? 'memory';
  if (typeof choice === 'object') return choice;
  if (choice === 'memory') return new (await import('./adapters/memory.js')).MemoryQueueAdapter();
  if (choice === 'bullmq') return (await import('./adapters/bullmq.js')).createBullmqAdapter(options.bullmq);
  throw new InvalidOptionError('adapter', `must be "memory", "bullmq" or an adapter object, got ${JSON.stringify(choice)}`);
}

/** The transaction goes only to an adapter that can honour it: a silent non-transactional store would be a dual write. */
function addOptions(a: QueueAdapter, transaction: TransactionClient | undefined): { transaction?: TransactionClient } | undefined {
  if (transaction === undefined) return undefined;
  if (!a.transactional) throw new InvalidOptionError('transaction', `the ${a.kind} adapter cannot store a job inside your transaction (use the postgres adapter)`);
  return { transaction };
}

export function createQueue<Jobs extends MessageMap = AnyMessageMap>(options: QueueOptions<Jobs> = {}): Queue<Jobs> {
  const defaults = { ...DEFAULT_JOB_OPTIONS, ...options.defaults };
  validateDefaults(defaults);
  const onError = options.onError ?? ((error: Error) => console.error('[@events/queue]', error));
  const events = new JobEvents(onError);
  const names = new Set<string>();
  const consumers: Array<{ consumer: QueueAdapterConsumer; abort: AbortController }> = [];
  let state: 'open' | 'closing' | 'closed' = 'open';
  let ready: Promise<QueueAdapter> | undefined;
  let unwatch: (() => Promise<void>) | undefined;

  function adapter(): Promise<QueueAdapter> {
    if (state !== 'open') return Promise.reject(new ClosedError('queue'));
    ready ??= loadAdapter(options as QueueOptions<MessageMap>).then(async (a) => {
      await a.start();
      // Events then come back from the backend, our own workers' included: no local forwarding.
      if (options.events === 'all' && a.watch) unwatch = await a.watch((event) => emitEvent(event));
      return a;
    });
    return ready;
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

  function forward(event: QueueAdapterEvent): void {
    if (!unwatch) emitEvent(event);
  }

  function emitEvent(event: QueueAdapterEvent): void {
    if (event.type === 'completed') events.emit('completed', { id: event.id, name: event.name, attempt: event.attempt, result: event.result });
    else if (event.type === 'failed') events.emit('failed', { id: event.id, name: event.name, attempt: event.attempt, error: event.error, final: event.final });
    else events.emit('progress', { id: event.id, name: event.name, progress: event.progress });
  }

  const queue: Queue<Jobs> = {
    get kind() {
      const choice = options.adapter ?? 'memory';
      return typeof choice === 'object' ? choice.kind : choice;
    },
    async start() {
      await adapter();
    },
    async enqueue(name, payload, jobOptions) {
      const job = await prepare(name, payload, jobOptions);
      const a = await adapter();
      names.add(name);
      const [id] = await a.add([job], addOptions(a, jobOptions?.transaction));
      return id ?? job.id;
    },
    async enqueueMany(items, manyOptions) {
      const jobs = await Promise.all(items.map((item) => prepare(item.name, item.payload, item.options)));
      const a = await adapter();
      for (const job of jobs) names.add(job.name);
      return a.add(jobs, addOptions(a, manyOptions?.transaction));
    },
    async process(name, handler, processOptions = {}) {
      validateJobName(name);
      validateProcessOptions(processOptions);
      const a = await adapter();
      names.add(name);
      const abort = new AbortController();
      const run = { name, handler: handler as JobHandler<never>, timeoutMs: processOptions.timeoutMs, shutdown: abort.signal, schemas: options.schemas as SchemaMap<MessageMap> | undefined };
      const consumer = await a.consume(name, (job) => runJob(job, run), {
        concurrency: processOptions.concurrency ?? 1,
        limiter: processOptions.limiter,
        isFinal: (error) => isFinalError(error) || error instanceof ValidationError,
        onEvent: forward,
        signal: abort.signal,
      });
      consumers.push({ consumer, abort });
    },
    async schedule(name, payload, scheduleOptions) {
      const { id, every, cron, tz, ...jobOptions } = scheduleOptions;
      if (typeof id !== 'string' || id.length === 0 || id.includes(':')) throw new InvalidOptionError('id', 'must be a non-empty string without ":"');
      if ((every === undefined) === (cron === undefined)) throw new InvalidOptionError('every/cron', 'give exactly one of them');
      if (every !== undefined && !(Number.isInteger(every) && every > 0)) throw new InvalidOptionError('every', `must be an integer > 0 (ms), got ${every}`);
      const job = await prepare(name, payload, jobOptions);
      const a = await adapter();
      names.add(name);
      await a.schedule(id, { every, cron, tz }, { name, data: job.data, options: job.options });
    },
    async unschedule(name, id) {
      return (await adapter()).unschedule(name, id);
    },
    async getJob(name, id) {
      return (await adapter()).getJob(name, id);
    },
    async counts(name) {
      return (await adapter()).counts(name);
    },
    async waitUntilIdle(idleOptions = {}) {
      const a = await adapter();
      const timeoutMs = idleOptions.timeoutMs ?? 30_000;
      const deadline = Date.now() + timeoutMs;
      const watched = idleOptions.names ?? [...names];
      for (;;) {
        const all = await Promise.all(watched.map((n) => a.counts(n)));
        if (all.every((c) => c.waiting + c.delayed + c.active === 0)) return;
        if (Date.now() > deadline) throw new TimeoutError('waitUntilIdle', timeoutMs);
        await sleep(20);
      }
    },
    on(event, listener) {
      return events.on(event, listener);
    },
    deadLetters: createDeadLetters(
      async () => (await adapter()).deadLetters,
      (letter) =>
        queue.enqueue(letter.name as NameOf<Jobs>, letter.payload as Jobs[NameOf<Jobs>], {
          headers: { ...letter.envelope.headers, replayOf: letter.id },
          correlationId: letter.envelope.correlationId,
          causationId: letter.envelope.causationId,
        }),
    ),
    async close(closeOptions = {}) {
      if (state !== 'open') return;
      state = 'closing';
      const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      const a = ready ? await ready.catch(() => undefined) : undefined;
      const timer = setTimeout(() => consumers.forEach((c) => c.abort.abort(new ClosedError('queue'))), closeOptions.force ? 0 : timeoutMs);
      try {
        await drainWithin(Promise.all(consumers.map((c) => c.consumer.close(closeOptions))), timeoutMs + 1000);
        await unwatch?.();
        await a?.close(closeOptions);
      } finally {
        clearTimeout(timer);
        events.clear();
        state = 'closed';
      }
    },
  };
  return queue;
}
