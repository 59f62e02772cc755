import { describe, expect, it } from 'vitest';
import { causedBy, createEnvelope } from './envelope.js';
import { InvalidOptionError, TimeoutError } from './errors.js';
import { drainWithin, withTimeout } from './lifecycle.js';
import { backoffDelay, validateBackoff } from './retry.js';

describe('lifecycle helpers', () => {
  it('drainWithin reports whether the work settled in time', async () => {
    await expect(drainWithin(Promise.resolve(), 50)).resolves.toBe(true);
    await expect(drainWithin(Promise.reject(new Error('x')), 50)).resolves.toBe(true);
    await expect(drainWithin(new Promise(() => {}), 10)).resolves.toBe(false);
  });

  it('withTimeout rejects with a TimeoutError naming the operation', async () => {
    const err = await withTimeout(new Promise(() => {}), 10, 'request on "x"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toBe('request on "x" timed out after 10 ms');
  });
});

describe('envelope', () => {
  it('carries correlation and causation from a parent', () => {
    const parent = createEnvelope('A', 1);
    const child = createEnvelope('B', 2, causedBy(parent));
    expect(child.correlationId).toBe(parent.id);
    expect(child.causationId).toBe(parent.id);
    const grandchild = createEnvelope('C', 3, causedBy(child));
    expect(grandchild.correlationId).toBe(parent.id);
    expect(grandchild.causationId).toBe(child.id);
  });
});

describe('backoff', () => {
  it('computes fixed, exponential, capped and jittered delays', () => {
    expect(backoffDelay({ type: 'fixed', delayMs: 100 }, 3)).toBe(100);
    expect([1, 2, 3, 4].map((a) => backoffDelay({ type: 'exponential', delayMs: 100 }, a))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay({ delayMs: 100, maxDelayMs: 250 }, 4)).toBe(250);
    expect(backoffDelay({ type: 'fixed', delayMs: 100, jitter: 1 }, 1, () => 0)).toBe(0);
    expect(backoffDelay({ type: 'fixed', delayMs: 100, jitter: 0.5 }, 1, () => 1)).toBe(100);
    expect(backoffDelay({ type: 'fixed', delayMs: 100, jitter: 0.5 }, 1, () => 0)).toBe(50);
  });

  it('rejects bad options', () => {
    expect(() => validateBackoff({ delayMs: -1 })).toThrow(new InvalidOptionError('backoff.delayMs', 'must be a finite number >= 0, got -1'));
    expect(() => validateBackoff({ jitter: 2 })).toThrow('invalid option backoff.jitter: must be between 0 and 1, got 2');
    expect(() => validateBackoff({ type: 'linear' as 'fixed' })).toThrow('invalid option backoff.type: must be "fixed" or "exponential", got "linear"');
  });
});
