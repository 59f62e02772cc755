/**
 * How job options become BullMQ job options (the job format other-language workers see).
 */
import { backoffDelay, type BackoffOptions, type JobRetention, type ResolvedJobOptions } from '@events/core';
import type { JobsOptions, KeepJobs, MinimalJob } from 'bullmq';

export function toKeep(retention: JobRetention): boolean | KeepJobs {
  if (typeof retention === 'boolean') return retention;
  const age = retention.ageMs === undefined ? undefined : Math.ceil(retention.ageMs / 1000);
  if (age === undefined) return retention.count === undefined ? false : { count: retention.count };
  return retention.count === undefined ? { age } : { age, count: retention.count };
}

const CAPPED = /^events:(fixed|exponential):(\d+)$/;

/** BullMQ's built-in fixed/exponential strategies compute what core's backoffDelay does; a cap needs our own. */
export function toBullBackoff(b: BackoffOptions): { type: string; delay: number; jitter?: number } {
  const type = b.type ?? 'exponential';
  const delay = b.delayMs ?? 1000;
  return { type: b.maxDelayMs === undefined ? type : `events:${type}:${b.maxDelayMs}`, delay, ...(b.jitter ? { jitter: b.jitter } : {}) };
}

/** BullMQ worker `backoffStrategy` for capped backoffs (`events:<type>:<maxDelayMs>`). */
export function cappedBackoff(...[attemptsMade, type, , job]: [number, string?, Error?, MinimalJob?]): number {
  const m = CAPPED.exec(type ?? '');
  const bo = job?.opts.backoff;
  const delay = typeof bo === 'object' ? bo.delay : undefined;
  const jitter = typeof bo === 'object' ? bo.jitter : undefined;
  if (!m) return 0;
  return backoffDelay({ type: m[1] as 'fixed' | 'exponential', delayMs: delay, jitter, maxDelayMs: Number(m[2]) }, attemptsMade);
}

/**
 * Converted backoff and retention objects, by identity: they are usually the queue's defaults,
 * shared by every job, and building them per job showed in the enqueue profile. BullMQ only
 * reads job options, so jobs may share them (as a plain BullMQ producer shares its options).
 */
const converted = new WeakMap<object, unknown>();

function cached<T extends object, R>(key: T, convert: (key: T) => R): R {
  if (converted.has(key)) return converted.get(key) as R;
  const value = convert(key);
  converted.set(key, value);
  return value;
}

function keep(retention: JobRetention): boolean | KeepJobs {
  return typeof retention === 'boolean' ? retention : cached(retention, toKeep);
}

export function toJobsOptions(id: string | undefined, o: ResolvedJobOptions): JobsOptions {
  const opts: JobsOptions = {};
  if (id !== undefined) opts.jobId = id;
  if (o.delayMs > 0) opts.delay = o.delayMs;
  if (o.priority > 0) opts.priority = o.priority;
  opts.attempts = o.attempts;
  opts.backoff = cached(o.backoff, toBullBackoff);
  opts.removeOnComplete = keep(o.removeOnComplete);
  opts.removeOnFail = keep(o.removeOnFail);
  return opts;
}
