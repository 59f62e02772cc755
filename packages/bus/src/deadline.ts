/** One bounded wait, shared by emit and on: every wait of the bus has a deadline. */
import { TimeoutError } from '@events/core';

/** Settles with `work`, or rejects at the deadline (TimeoutError) or on abort (its reason). */
export function within<T>(work: Promise<T>, spec: { timeoutMs: number; signal: AbortSignal | undefined; what: string }): Promise<T> {
  const { timeoutMs, signal, what } = spec;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => (done(), reject(signal?.reason));
    const timer = setTimeout(() => (done(), reject(new TimeoutError(what, timeoutMs))), timeoutMs);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then((v) => (done(), resolve(v)), (e: unknown) => (done(), reject(e)));
  });
}
