import { describe, expect, it } from 'vitest';
import { bullmqQueueName, cappedBackoff, toBullBackoff } from './bullmq.js';

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
});
