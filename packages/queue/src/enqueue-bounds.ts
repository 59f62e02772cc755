/**
 * The bounds of one enqueue: which add options reach the adapter, and the caller's deadline and
 * abort signal around a wait whose outcome may still arrive later (at-least-once).
 */
import { InvalidOptionError, TimeoutError, type AddOptions, type QueueAdapter, type TransactionClient } from '@events/core';

export interface EnqueueManyOptions {
  /** As in JobOptions. Default: none. */
  transaction?: TransactionClient;
  /** As in JobOptions. Default: the queue's `enqueueTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The transaction goes only to an adapter that can honour it: a silent non-transactional store would be a dual write. */
export function addOptions(a: QueueAdapter, o: EnqueueManyOptions, timeoutMs: number): AddOptions {
  if (o.transaction !== undefined && !a.transactional) {
    throw new InvalidOptionError('transaction', `the ${a.kind} adapter cannot store a job inside your transaction (use the postgres adapter)`);
  }
  return { ...(o.transaction ? { transaction: o.transaction } : {}), timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
}

/** The error of a bound that fired (a module function: no closure made per enqueue). */
function timedOut(what: string | (() => string), timeoutMs: number): TimeoutError {
  return new TimeoutError(`${typeof what === 'function' ? what() : what} (the job may still be stored: enqueue again with the same jobId to be sure)`, timeoutMs);
}

/** Rejects at the deadline or on abort; the work itself may still complete (at-least-once). `what` is built only for the error. */
export function bounded<T>(work: Promise<T>, what: string | (() => string), limits: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<T> {
  const { timeoutMs, signal } = limits;
  if (signal?.aborted) {
    work.catch(() => undefined); // its outcome may arrive after ours
    return Promise.reject(signal.reason);
  }
  // The handlers below take the work's outcome whenever it arrives: it is never left unhandled.
  if (!signal) {
    // The usual enqueue: one timer, no listener.
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(timedOut(what, timeoutMs)), timeoutMs);
      work.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e: unknown) => (clearTimeout(timer), reject(e)),
      );
    });
  }
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      done();
      reject(timedOut(what, timeoutMs));
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => (done(), resolve(v)),
      (e: unknown) => (done(), reject(e)),
    );
  });
}

export function decodeKind(error: Error): boolean {
  return ['DecodeError', 'UnknownJobError', 'ValidationError'].includes(error.name);
}

