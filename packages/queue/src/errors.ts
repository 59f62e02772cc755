/**
 * Errors a job handler (or the queue itself) uses to say how a failure must be treated.
 */
import { DecodeError, EventsError } from '@events/core';

/**
 * Throw this from a handler when retrying cannot help (bad input, a refused request): the job
 * fails at once and lands in the dead-letter store, whatever attempts are left.
 */
export class DoNotRetryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DoNotRetryError';
  }
}

/** A job reached a worker that has no handler for its name (a plain BullMQ producer used another name). */
export class UnknownJobError extends DoNotRetryError {
  readonly jobName: string;

  constructor(jobName: string, queueName: string) {
    super(`no handler for job "${jobName}" in queue "${queueName}"`);
    this.name = 'UnknownJobError';
    this.jobName = jobName;
  }
}

/** The handler ran past its `timeoutMs`; the attempt counts as failed (and may be retried). */
export class JobTimeoutError extends EventsError {
  readonly timeoutMs: number;

  constructor(jobName: string, timeoutMs: number) {
    super('TIMEOUT', `job "${jobName}" timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Failures that no further attempt can fix. */
export function isFinalError(error: unknown): boolean {
  if (error instanceof DoNotRetryError || error instanceof DecodeError) return true;
  // Errors crossing a module boundary (two copies of this package) still carry their name.
  let name: unknown;
  try {
    name = (error as { name?: unknown } | null)?.name;
  } catch {
    return false; // a throwing `name` getter: an ordinary failure
  }
  return name === 'DoNotRetryError' || name === 'UnknownJobError' || name === 'UnrecoverableError' || name === 'DecodeError';
}
