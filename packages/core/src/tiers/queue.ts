/**
 * The worker queue adapter seam (owned by @events/queue). An adapter stores jobs, hands them to a
 * handler with the attempt bookkeeping of its backend, and keeps dead letters. Everything else
 * (typed maps, envelope encoding, validation, timeouts, the "do not retry" rule, dead-letter
 * queries and replay, idle waiting) is written once above the seam in @events/queue.
 */
import type { BackoffOptions } from '../retry.js';
import type { CloseOptions } from '../lifecycle.js';

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
  close(options?: CloseOptions): Promise<void>;
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

export interface DeadLetterRange {
  readonly name?: string;
  /** Epoch ms, inclusive. */
  readonly from?: number;
  /** Epoch ms, inclusive. */
  readonly to?: number;
}

export interface DeadLetterStore {
  /** Stores (or overwrites, by id) one record. */
  put(record: DeadLetterRecord): Promise<void>;
  /** Records in the range, oldest failure first. */
  query(range: DeadLetterRange): Promise<DeadLetterRecord[]>;
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

export interface QueueAdapter extends QueueAdapterInfo {
  /** Connects and checks the backend; called once before any other member. */
  start(): Promise<void>;
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
  close(options?: CloseOptions): Promise<void>;
}
