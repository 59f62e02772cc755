import { InvalidOptionError } from '@events/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JOB_OPTIONS, resolveJobOptions, validateDefaults, validateProcessOptions } from './options.js';

describe('resolveJobOptions', () => {
  it('fills defaults: completed jobs kept briefly, failures much longer', () => {
    const o = resolveJobOptions({}, DEFAULT_JOB_OPTIONS);
    expect(o).toMatchObject({ attempts: 3, delayMs: 0, priority: 0 });
    const complete = o.removeOnComplete as { ageMs: number };
    const fail = o.removeOnFail as { ageMs: number };
    expect(fail.ageMs).toBeGreaterThan(complete.ageMs * 100);
  });

  it.each([
    [{ delay: -1 }, /delay: must be a finite number of ms >= 0, got -1/],
    [{ delay: Number.NaN }, /delay/],
    [{ attempts: 0 }, /attempts: must be an integer >= 1, got 0/],
    [{ attempts: 1.5 }, /attempts/],
    [{ priority: -2 }, /priority/],
    [{ jobId: '' }, /jobId/],
    [{ jobId: '42' }, /must not be an integer/],
    [{ jobId: 'a:b' }, /must not contain ":"/],
    [{ backoff: { type: 'linear' as 'fixed' } }, /backoff.type/],
    [{ removeOnComplete: { count: -1 } }, /removeOnComplete.count/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveJobOptions(options, DEFAULT_JOB_OPTIONS)).toThrow(InvalidOptionError);
    expect(() => resolveJobOptions(options, DEFAULT_JOB_OPTIONS)).toThrow(message);
  });

  it('checks defaults and process options', () => {
    expect(() => validateDefaults({ attempts: 0 })).toThrow(/defaults.attempts/);
    expect(() => validateProcessOptions({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => validateProcessOptions({ limiter: { max: 0, durationMs: 10 } })).toThrow(/limiter.max/);
    expect(() => validateProcessOptions({ timeoutMs: -5 })).toThrow(/timeoutMs/);
  });
});
