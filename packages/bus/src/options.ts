/** Option checks shared by createBus and bus.on. */
import { InvalidOptionError, validateBackoff } from '@events/core';
import type { RetryOptions } from './types.js';

export const GROUP = /^[A-Za-z0-9_-]{1,100}$/;
export const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 3, backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 5000, jitter: 0.2 } };

export function resolveRetry(retry: RetryOptions | false | undefined, fallback: Required<RetryOptions>): Required<RetryOptions> {
  if (retry === false) return { attempts: 1, backoff: fallback.backoff };
  const attempts = retry?.attempts ?? fallback.attempts;
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidOptionError('retry.attempts', `must be an integer >= 1, got ${attempts}`);
  const backoff = { ...fallback.backoff, ...retry?.backoff };
  validateBackoff(backoff);
  return { attempts, backoff };
}
