/**
 * Job options: validation (a bad option fails at the call site with InvalidOptionError) and the
 * defaults shared by both adapters.
 */
import { InvalidOptionError, validateBackoff, type BackoffOptions, type JobRetention, type ResolvedJobOptions, type TransactionClient } from '@events/core';

export interface JobOptions {
  /** Your own id: enqueueing the same id twice stores the job once. No `:`; not an integer. Default: a new UUIDv7. */
  jobId?: string;
  /** Wait this many ms before the job may run. Default: 0. */
  delay?: number;
  /** 1 is the most urgent; 0 = no priority. Default: 0. */
  priority?: number;
  /** Total attempts, the first included (>= 1). Default: the queue's `defaults.attempts` (3). */
  attempts?: number;
  /** Delay between attempts. Default: the queue's `defaults.backoff` (exponential from 1000 ms, jitter 0.2). */
  backoff?: BackoffOptions;
  /** Keep completed jobs: `true` removes at once. Default: `defaults.removeOnComplete` (1 hour, at most 1000). */
  removeOnComplete?: JobRetention;
  /** Keep failed jobs in the backend's failed set (dead letters are kept apart). Default: 14 days, at most 10 000. */
  removeOnFail?: JobRetention;
  /** Headers carried in the envelope. Default: `{}`. */
  headers?: Record<string, string>;
  /** Default: none. */
  correlationId?: string;
  /** Default: none. */
  causationId?: string;
  /**
   * Your own database client inside your open transaction (`pg` Client or PoolClient after
   * `BEGIN`): the job is stored by that transaction and exists only if it commits. Only on a
   * transactional adapter (PostgreSQL); any other refuses it with InvalidOptionError. Default: none.
   */
  transaction?: TransactionClient;
  /**
   * Longest wait for the backend (Redis unreachable: the enqueue waits for the reconnect, then
   * fails with TimeoutError; the job may or may not be stored, so enqueue again with the same
   * `jobId` to be sure). Default: the queue's `enqueueTimeoutMs` (5 000 ms).
   */
  timeoutMs?: number;
  /** Ends the wait early with the signal's reason. Default: none. */
  signal?: AbortSignal;
}

export interface JobDefaults {
  /** Default: 3. */
  attempts?: number;
  /** Default: `{ type: 'exponential', delayMs: 1000, jitter: 0.2 }`. */
  backoff?: BackoffOptions;
  /** Default: `{ ageMs: 3_600_000, count: 1000 }`: successes do not pile up. */
  removeOnComplete?: JobRetention;
  /** Default: `{ ageMs: 14 days, count: 10_000 }`: failures are kept much longer. */
  removeOnFail?: JobRetention;
}

export const DEFAULT_JOB_OPTIONS: Required<JobDefaults> = {
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 1000, jitter: 0.2 },
  removeOnComplete: { ageMs: 3_600_000, count: 1000 },
  removeOnFail: { ageMs: 14 * 24 * 3_600_000, count: 10_000 },
};

function checkInt(option: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(option, `must be an integer >= ${min}, got ${String(value)}`);
  }
}

export function validateRetention(option: string, value: JobRetention | undefined): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError(option, 'must be a boolean or { count?, ageMs? }');
  checkInt(`${option}.count`, value.count, 0);
  checkInt(`${option}.ageMs`, value.ageMs, 0);
}

export function validateJobId(id: unknown): void {
  if (id === undefined) return;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('jobId', 'must be a non-empty string');
  if (id.includes(':')) throw new InvalidOptionError('jobId', `must not contain ":" (BullMQ refuses it), got ${JSON.stringify(id)}`);
  if (/^\d+$/.test(id)) throw new InvalidOptionError('jobId', `must not be an integer (BullMQ reserves those), got ${JSON.stringify(id)}`);
}

export function validateDefaults(defaults: JobDefaults): void {
  checkInt('defaults.attempts', defaults.attempts, 1);
  if (defaults.backoff) validateBackoff(defaults.backoff);
  validateRetention('defaults.removeOnComplete', defaults.removeOnComplete);
  validateRetention('defaults.removeOnFail', defaults.removeOnFail);
}

export function resolveJobOptions(options: JobOptions, defaults: Required<JobDefaults>): ResolvedJobOptions {
  validateJobId(options.jobId);
  if (options.delay !== undefined && (typeof options.delay !== 'number' || !Number.isFinite(options.delay) || options.delay < 0)) {
    throw new InvalidOptionError('delay', `must be a finite number of ms >= 0, got ${String(options.delay)}`);
  }
  checkInt('priority', options.priority, 0);
  if (options.priority !== undefined && options.priority > 2_097_152) throw new InvalidOptionError('priority', 'must be <= 2097152 (BullMQ limit)');
  checkInt('attempts', options.attempts, 1);
  checkInt('timeoutMs', options.timeoutMs, 1);
  if (options.backoff !== undefined) validateBackoff(options.backoff);
  validateRetention('removeOnComplete', options.removeOnComplete);
  validateRetention('removeOnFail', options.removeOnFail);
  return {
    attempts: options.attempts ?? defaults.attempts,
    backoff: options.backoff ?? defaults.backoff,
    delayMs: Math.round(options.delay ?? 0),
    priority: options.priority ?? 0,
    removeOnComplete: options.removeOnComplete ?? defaults.removeOnComplete,
    removeOnFail: options.removeOnFail ?? defaults.removeOnFail,
  };
}

export interface ProcessOptions {
  /** Jobs of this name run at once in this process. Default: 1. */
  concurrency?: number;
  /** At most `max` jobs started per `durationMs` (BullMQ: across all workers of the queue). Default: none. */
  limiter?: { max: number; durationMs: number };
  /** Abort the handler's signal and fail the attempt after this many ms. Default: none. */
  timeoutMs?: number;
}

export function validateProcessOptions(options: ProcessOptions): void {
  checkInt('concurrency', options.concurrency, 1);
  if (options.limiter) {
    checkInt('limiter.max', options.limiter.max, 1);
    checkInt('limiter.durationMs', options.limiter.durationMs, 1);
  }
  checkInt('timeoutMs', options.timeoutMs, 1);
}
