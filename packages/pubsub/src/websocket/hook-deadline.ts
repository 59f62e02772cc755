/**
 * An application hook called with a deadline (`authorize`, `authorizePublish`): it gets a signal
 * that aborts when the time is up or the client leaves, and its caller stops waiting then, whether
 * or not the hook listens to the signal.
 */
import { TimeoutError } from '@events/core';

/**
 * The answer of a hook, within `timeoutMs`, or aborted when the client leaves: the hook gets the
 * signal that aborts then. Rejects when the hook throws or rejects, when the time is up, or when the
 * client left. Used by `authorize` (subscribe) and `authorizePublish`.
 *
 * One AbortController per call, tied to the connection's signal by a listener removed when the
 * call ends: `AbortSignal.any([clientGone, ...])` would be simpler, but on Node 20 the
 * connection's signal keeps every signal combined from it for as long as the connection lives
 * (nodejs/node#55351), so a client sending frames that call a hook would grow the heap without end.
 */
export async function answerWithin<T>(ask: (signal: AbortSignal) => T | Promise<T>, clientGone: AbortSignal, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  let reject: (error: Error) => void = () => undefined;
  const aborted = new Promise<never>((_, r) => (reject = r));
  const abort = (reason: unknown): void => {
    controller.abort(reason);
    reject(reason instanceof Error ? reason : new Error('aborted'));
  };
  const onGone = (): void => abort(clientGone.reason);
  const timer = setTimeout(() => abort(new TimeoutError('the hook', timeoutMs)), timeoutMs);
  if (clientGone.aborted) onGone();
  else clientGone.addEventListener('abort', onGone, { once: true });
  try {
    const answer = Promise.resolve().then(() => ask(controller.signal));
    return await Promise.race([answer, aborted]);
  } finally {
    clearTimeout(timer);
    clientGone.removeEventListener('abort', onGone);
  }
}
