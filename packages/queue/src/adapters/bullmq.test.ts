import { describe, expect, it } from 'vitest';
import { bullmqQueueName, cappedBackoff, toBullBackoff } from './bullmq.js';
import { toJobsOptions } from './bullmq-options.js';

describe('bullmq adapter mapping', () => {
  it('maps backoffs to BullMQ built-ins, or to the capped strategy when maxDelayMs is set', () => {
    expect(toBullBackoff({ type: 'fixed', delayMs: 10 })).toEqual({ type: 'fixed', delay: 10 });
    expect(toBullBackoff({ delayMs: 100, jitter: 0.5 })).toEqual({ type: 'exponential', delay: 100, jitter: 0.5 });
    const capped = toBullBackoff({ type: 'exponential', delayMs: 100, maxDelayMs: 250 });
    expect(capped).toEqual({ type: 'events:exponential:250', delay: 100 });
    const job = { opts: { backoff: capped } } as unknown as Parameters<typeof cappedBackoff>[3];
    expect([1, 2, 3, 4].map((n) => cappedBackoff(n, capped.type, undefined, job))).toEqual([100, 200, 250, 250]);
  });

  it('names BullMQ queues after jobs, escaping ":" which BullMQ refuses', () => {
    expect(bullmqQueueName('mail:welcome')).toBe('mail%3Awelcome');
    expect(bullmqQueueName('resize')).toBe('resize');
  });

  it('maps resolved job options to BullMQ job options, sharing converted defaults between jobs', () => {
    const defaults = { attempts: 3, backoff: { type: 'exponential' as const, delayMs: 1000 }, delayMs: 0, priority: 0, removeOnComplete: { ageMs: 3_600_000, count: 1000 }, removeOnFail: false };
    const a = toJobsOptions('a', defaults);
    expect(a).toEqual({ jobId: 'a', attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: false });
    const b = toJobsOptions(undefined, { ...defaults, delayMs: 50, priority: 2, removeOnFail: true });
    expect(b).toEqual({ delay: 50, priority: 2, attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: true });
    expect(b.backoff).toBe(a.backoff);
    expect(b.removeOnComplete).toBe(a.removeOnComplete);
  });
});
