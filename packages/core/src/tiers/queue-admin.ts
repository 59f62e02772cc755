/**
 * The queue adapter's administration seam (optional, added): what an operator's dashboard needs
 * from a backend, with one meaning on every adapter. Everything that can be written once (dead
 * letters as a state, the envelope's ids, the error's stack from the dead letter, the per-second
 * arithmetic of the rates, page bounds) sits above it in @events/queue (`queue.admin`).
 */
import type { JobProgress, StoredJobData } from './queue.js';

/** The states a job can be listed by. `prioritized` = waiting with a priority; `delayed` = waiting for its run time (a retry's backoff included). */
export type AdminJobState = 'waiting' | 'prioritized' | 'delayed' | 'active' | 'completed' | 'failed';

/** The states `clean` may remove jobs from (never `active`: a worker holds those). */
export type CleanableState = Exclude<AdminJobState, 'active'>;

/** One job as a list shows it. Times are epoch ms. */
export interface AdminJobSummary {
  readonly id: string;
  readonly name: string;
  readonly state: AdminJobState;
  /** Attempts finished (failed or completed). */
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  /** 0 = none; 1 = most urgent. */
  readonly priority: number;
  readonly enqueuedAt: number;
  /** When the current (or last) attempt started. */
  readonly startedAt?: number;
  /** When the job completed or failed for good. */
  readonly finishedAt?: number;
  /** A delayed job's run time. */
  readonly runAt?: number;
  /** The last failure's message (also on a job waiting for its retry). */
  readonly failedReason?: string;
}

export interface AdminJobDetail extends AdminJobSummary {
  readonly data: StoredJobData;
  readonly progress: JobProgress;
  /** A completed job's result. */
  readonly result?: unknown;
  /** The last failure's stack, where the backend keeps it. */
  readonly stack?: string;
  /** The lines the handler logged (`ctx.log`), oldest first, at most MAX_JOB_LOG_LINES. */
  readonly logs: readonly string[];
}

export interface AdminPage {
  /** Skip this many jobs first. */
  readonly offset: number;
  /** At most this many jobs (the tier bounds it, see MAX_ADMIN_PAGE). */
  readonly limit: number;
}

export interface AdminCounts {
  readonly waiting: number;
  readonly prioritized: number;
  readonly delayed: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly paused: boolean;
}

export interface AdminCleanOptions {
  readonly state: CleanableState;
  /** Only jobs older than this: finished this long ago (completed, failed), else enqueued this long ago. */
  readonly olderThanMs: number;
  /** At most this many jobs per call (the oldest first). */
  readonly limit: number;
  /** Report what would go, remove nothing. */
  readonly dryRun: boolean;
}

/** Counts of one minute for one job name (`minute` = epoch ms / 60 000, floored). */
export interface RateBucket {
  readonly name: string;
  readonly minute: number;
  readonly enqueued: number;
  readonly completed: number;
  readonly failed: number;
}

/**
 * Every member acts on one job name (one queue). Actions resolve to false when no job of that id
 * is in a state the action applies to (nothing is changed then).
 */
export interface QueueAdapterAdmin {
  /** Jobs of `state`, in the order the backend keeps them (see docs/queue.md), within `page`. */
  list(name: string, state: AdminJobState, page: AdminPage): Promise<AdminJobSummary[]>;
  job(name: string, id: string): Promise<AdminJobDetail | undefined>;
  counts(name: string): Promise<AdminCounts>;
  /** failed -> waiting, attempts reset to 0 (the job keeps its id and data). */
  retry(name: string, id: string): Promise<boolean>;
  /** delayed -> waiting (or prioritized), now. */
  promote(name: string, id: string): Promise<boolean>;
  /** Deletes a job in any state but active. */
  remove(name: string, id: string): Promise<boolean>;
  /** No worker of any process starts a job of `name` until `resume` (jobs running go on). */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** The ids removed (or, on a dry run, that would be), oldest first. */
  clean(name: string, options: AdminCleanOptions): Promise<string[]>;
  /** Adds per-minute counts (each bucket's counters are added to what is stored). Kept at least RATE_MINUTES minutes. */
  recordRates(buckets: readonly RateBucket[]): Promise<void>;
  /** Stored buckets of `name` from `fromMinute` (inclusive) on; minutes without counts may be absent. */
  rates(name: string, fromMinute: number): Promise<RateBucket[]>;
}

/** Lines kept per job log; older lines are dropped first. */
export const MAX_JOB_LOG_LINES = 100;
/** Characters kept per log line. */
export const MAX_JOB_LOG_LINE = 2000;
/** Minutes of rate history an adapter keeps (one hour). */
export const RATE_MINUTES = 60;
