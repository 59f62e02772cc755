/**
 * The worker queue adapter seam (owned by @events/queue). An adapter stores jobs, hands them to a
 * handler with the attempt bookkeeping of its backend, and keeps dead letters. Everything else
 * (typed maps, envelope encoding, validation, timeouts, the "do not retry" rule, dead-letter
 * queries and replay, idle waiting) is written once above the seam in @events/queue.
 */
import type { BackoffOptions } from '../retry.js';
import type { CloseOptions } from '../lifecycle.js';
import type { QueueAdapterAdmin } from './queue-admin.js';

export * from './queue-admin.js';

export interface QueueAdapterInfo {
  /** Adapter kind, for diagnostics: `memory`, `bullmq`, `postgres`. */
  readonly kind: string;
  /** True when `add` can store jobs inside the caller's own database transaction (`AddOptions.transaction`). */
  readonly transactional?: boolean;
}

/**
 * A database client inside the caller's open transaction (`BEGIN` sent, no `COMMIT` yet): a `pg`
 * Client or PoolClient fits. The adapter runs its INSERT on it, so the job exists if and only if
 * the caller's transaction commits.
 */
export interface TransactionClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface AddOptions {
  /** Store the jobs in this transaction (only adapters with `transactional: true`). Default: none. */
  readonly transaction?: TransactionClient;
  /**
   * Longest wait for the backend (added): an adapter that waits for a connection during an outage
   * gives up here with TimeoutError instead of buffering. The tier always passes it (its
   * `enqueueTimeoutMs`, default 5 000 ms). Default for direct callers: the adapter's own.
   */
  readonly timeoutMs?: number;
  /** Ends the wait early with the signal's reason (added). Default: none. */
  readonly signal?: AbortSignal;
}

/** Retention of finished jobs: `true` removes at once, `false` keeps all, or keep within limits. */
export type JobRetention = boolean | { readonly count?: number; readonly ageMs?: number };

/** Job options after validation and defaults: what an adapter receives. */
export interface ResolvedJobOptions {
  readonly attempts: number;
  readonly backoff: BackoffOptions;
  readonly delayMs: number;
  /** 0 = none; otherwise 1 is the most urgent (BullMQ's convention). */
  readonly priority: number;
  readonly removeOnComplete: JobRetention;
  readonly removeOnFail: JobRetention;
}

export interface QueueAdapterJob {
  readonly id: string;
  readonly name: string;
  /** A JSON-serializable value (already checked): the job's data as stored. */
  readonly data: unknown;
  readonly options: ResolvedJobOptions;
}

/** The stored data of an active job: parsed, or the raw text when it is not valid JSON. */
export type StoredJobData = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly raw: string; readonly reason: string };

export type JobProgress = number | Record<string, unknown>;

export interface QueueAdapterActiveJob {
  readonly id: string;
  readonly name: string;
  readonly data: StoredJobData;
  /** 1-based attempt number. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Epoch ms when the job was stored. */
  readonly enqueuedAt: number;
  updateProgress(progress: JobProgress): Promise<void>;
  /** Optional (added): appends one line to the job's log (the adapter keeps a bounded number of lines). */
  log?(line: string): Promise<void>;
}

export type QueueAdapterEvent =
  | { readonly type: 'completed'; readonly id: string; readonly name: string; readonly attempt: number; readonly result: unknown }
  | { readonly type: 'failed'; readonly id: string; readonly name: string; readonly attempt: number; readonly error: Error; readonly final: boolean }
  | { readonly type: 'progress'; readonly id: string; readonly name: string; readonly progress: JobProgress };

export interface QueueAdapterConsumeOptions {
  readonly concurrency: number;
  readonly limiter?: { readonly max: number; readonly durationMs: number };
  /** True when an error must end the job now (no further attempts). */
  isFinal(error: unknown): boolean;
  onEvent(event: QueueAdapterEvent): void;
  /** Fires (with the abort reason) when the consumer is shut down with jobs still running. */
  readonly signal: AbortSignal;
}

export interface QueueAdapterConsumer {
  /**
   * Stops taking jobs and waits for running ones within `timeoutMs`. Jobs still running past it
   * should go back to waiting without counting as an attempt or a stall, where the backend can.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Optional (added): jobs this consumer is running now. */
  readonly running?: number;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'prioritized';

export interface StoredJobInfo {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  readonly data: StoredJobData;
  readonly attemptsMade: number;
  readonly progress: JobProgress;
  readonly result?: unknown;
  readonly failedReason?: string;
}

export interface JobCounts {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
}

/** A job that failed for good, as the dead-letter store keeps it. */
export interface DeadLetterRecord {
  /** The failed job's id. */
  readonly id: string;
  readonly name: string;
  readonly data: StoredJobData;
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
  readonly attemptsMade: number;
  readonly enqueuedAt: number;
  readonly failedAt: number;
}

/**
 * Which dead letters a query or count concerns. A store must push every member into its own query
 * (Redis: `ZRANGEBYSCORE ... LIMIT offset limit`; SQL: `WHERE ... ORDER BY failed_at, id LIMIT
 * $limit OFFSET $offset`) and never load a whole time range to cut it in memory: the dead-letter
 * view pages through a store with `limit`/`offset` (the error-text filter is applied above the
 * store, page by page). Added for every store (memory, BullMQ, PostgreSQL): `limit`, `offset`, `ids`.
 */
export interface DeadLetterRange {
  readonly name?: string;
  /** Epoch ms, inclusive. */
  readonly from?: number;
  /** Epoch ms, inclusive. */
  readonly to?: number;
  /** Only these job ids (still within name/from/to). Default: any. */
  readonly ids?: readonly string[];
  /** `query` only: at most this many records (oldest failure first). Default: no limit. */
  readonly limit?: number;
  /** `query` only: skip this many records first (in the same order). Default: 0. */
  readonly offset?: number;
}

export interface DeadLetterStore {
  /** Stores (or overwrites, by id) one record. */
  put(record: DeadLetterRecord): Promise<void>;
  /** Records in the range, oldest failure first (ties by id), honouring `limit` and `offset`. */
  query(range: DeadLetterRange): Promise<DeadLetterRecord[]>;
  /** Records in the range (`limit`/`offset` ignored). */
  count(range: DeadLetterRange): Promise<number>;
  remove(ids: readonly string[]): Promise<number>;
}

export interface ScheduleSpec {
  /** Repeat every N ms. */
  readonly every?: number;
  /** Cron pattern (5 or 6 fields). */
  readonly cron?: string;
  /** IANA time zone for `cron`. */
  readonly tz?: string;
}

/**
 * What the tier gives an adapter at start (added; an adapter may ignore it): where to report
 * errors that have no caller, which job names the tier has registered, and a signal that aborts
 * when the tier begins to close (a start still waiting for its backend gives up at once).
 */
export interface QueueAdapterContext {
  /**
   * Reports through the tier's one error hook (never throws). Kinds the queue documents:
   * `transport` (backend connection), `stall`, `dead-letter` (a dead-letter write failed), `decode`.
   */
  report(kind: string, error: unknown, facts?: { readonly name?: string; readonly id?: string; readonly detail?: Readonly<Record<string, string | number | boolean | undefined>> }): void;
  /** Job names registered with this queue (process, enqueue, schedule, or the tier's `names` option). */
  names(): readonly string[];
  /** Aborts when the tier begins to close. */
  readonly signal: AbortSignal;
}

/** Facts for the tier's `health()` (added, optional): cheap, no I/O. */
export interface QueueAdapterHealth {
  readonly connected: boolean;
  /** Adapter counters (`waitingForConnection`, `readers`, ...), merged into the tier's counts. */
  readonly counts?: Readonly<Record<string, number>>;
}

export interface QueueAdapter extends QueueAdapterInfo {
  /**
   * Connects and checks the backend; called before any other member. After a failed start the
   * tier calls `close({ force: true })` and may call `start` again: open connections in `start`,
   * not in the factory. `context` is added (additive) and may be ignored.
   */
  start(context?: QueueAdapterContext): Promise<void>;
  /** Optional (added): connection state and counters for the tier's `health()`. */
  health?(): QueueAdapterHealth;
  /** Stores jobs; an id already present is not stored again. Resolves to the ids. */
  add(jobs: readonly QueueAdapterJob[], options?: AddOptions): Promise<string[]>;
  consume(name: string, handler: (job: QueueAdapterActiveJob) => Promise<unknown>, options: QueueAdapterConsumeOptions): Promise<QueueAdapterConsumer>;
  schedule(id: string, spec: ScheduleSpec, template: Omit<QueueAdapterJob, 'id'>): Promise<void>;
  unschedule(name: string, id: string): Promise<boolean>;
  getJob(name: string, id: string): Promise<StoredJobInfo | undefined>;
  counts(name: string): Promise<JobCounts>;
  readonly deadLetters: DeadLetterStore;
  /**
   * Optional: job events of every worker on this backend, not only this process's. Resolves to an
   * unsubscribe function. An adapter without it has only local events.
   */
  watch?(onEvent: (event: QueueAdapterEvent) => void): Promise<() => Promise<void>>;
  /** Optional (added): job administration (listing, retry in place, pause, clean, rates). See queue-admin.ts. */
  readonly admin?: QueueAdapterAdmin;
  /** Releases every connection; settles within `timeoutMs` (default 10 000 ms) even when the backend is unreachable. */
  close(options?: CloseOptions): Promise<void>;
}
