/**
 * The queue tier's public types: its options and the Queue interface (a core Lifecycle whose
 * `process` returns a SubscriptionHandle).
 */
import type { AnyMessageMap, CloseOptions, ErrorHook, Health, JobCounts, Journal, Lifecycle, MessageMap, NameOf, QueueAdapter, SchemaMap, StoredJobInfo, TracingMode } from '@events/core';
import type { QueueAdmin } from './admin.js';
import type { DeadLetters } from './dead-letters.js';
import type { EnqueueManyOptions } from './enqueue-bounds.js';
import type { QueueEventMap, QueueEventName } from './events.js';
import type { WorkerHandle } from './handles.js';
import type { JobDefaults, JobOptions, ProcessOptions } from './options.js';
import type { JobHandler } from './run-job.js';

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
  /**
   * Where the queue records each step of a job's path for the journey view (core's Journal): an
   * `enqueue` step per job stored, an `attempt` step per attempt run by this queue's workers, a
   * `replay` step when a dead letter is replayed. Recording never throws into the queue and never
   * waits. Default: none.
   */
  journal?: Journal;
  /**
   * How this tier traces its messages with an OpenTelemetry SDK registered (core's TracingMode;
   * docs/tracing.md): `join` (default) traces a message sent inside a trace and nothing else,
   * `always` also starts a trace for a message sent outside any, `off` starts no span and writes or
   * reads no trace header. Metrics and the journal go on under every mode (steps without `traceId`
   * when not traced).
   */
  tracing?: TracingMode;
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
  /** Job administration for an operator: list by state, a job's detail, retry in place, promote, remove, pause, clean, rates. */
  readonly admin: QueueAdmin;
  /**
   * Stops taking jobs, lets active ones finish within `timeoutMs` (then aborts their signals and
   * puts them back to waiting), then releases connections, within the timeout even when the
   * backend is unreachable. Every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Phase, backend connection, last error; counts: `workers`, `running`, `idleWaiters`, plus the adapter's. */
  health(): Health;
}

