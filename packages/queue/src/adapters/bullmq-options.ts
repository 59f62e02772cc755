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

export function toJobsOptions(id: string | undefined, o: ResolvedJobOptions): JobsOptions {
  return {
    ...(id !== undefined ? { jobId: id } : {}),
    ...(o.delayMs > 0 ? { delay: o.delayMs } : {}),
    ...(o.priority > 0 ? { priority: o.priority } : {}),
    attempts: o.attempts,
    backoff: toBullBackoff(o.backoff),
    removeOnComplete: toKeep(o.removeOnComplete),
    removeOnFail: toKeep(o.removeOnFail),
  };
}
