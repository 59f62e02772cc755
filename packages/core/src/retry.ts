/**
 * Backoff schedules shared by the bus (in-process handler retries) and the queue (job attempts).
 */
import { InvalidOptionError } from './errors.js';

export interface BackoffOptions {
  /** `fixed`: the same delay each time; `exponential`: delay * 2^(attempt-1). Default: `exponential`. */
  type?: 'fixed' | 'exponential';
  /** Base delay in ms. Default: 1000. */
  delayMs?: number;
  /** Upper bound for one delay, in ms. Default: 1 hour. */
  maxDelayMs?: number;
  /**
   * Fraction of the delay randomised away ("equal jitter"): 0 = none, 1 = anywhere in [0, delay].
   * Default: 0.
   */
  jitter?: number;
}

export function validateBackoff(options: BackoffOptions): void {
  if (options.type !== undefined && options.type !== 'fixed' && options.type !== 'exponential') {
    throw new InvalidOptionError('backoff.type', `must be "fixed" or "exponential", got ${JSON.stringify(options.type)}`);
  }
  for (const key of ['delayMs', 'maxDelayMs'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new InvalidOptionError(`backoff.${key}`, `must be a finite number >= 0, got ${v}`);
  }
  if (options.jitter !== undefined && !(options.jitter >= 0 && options.jitter <= 1)) {
    throw new InvalidOptionError('backoff.jitter', `must be between 0 and 1, got ${options.jitter}`);
  }
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const base = options.delayMs ?? 1000;
  const max = options.maxDelayMs ?? 3_600_000;
  const raw = (options.type ?? 'exponential') === 'fixed' ? base : base * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(raw, max);
  const jitter = options.jitter ?? 0;
  return Math.round(capped * (1 - jitter) + capped * jitter * random());
}
