/**
 * An application hook called with a deadline (`authorize`, `authorizePublish`): it gets a signal
 * that aborts when the time is up or the client leaves, and its caller stops waiting then, whether
 * or not the hook listens to the signal.
 */

/**
 * The answer of a hook, within `timeoutMs`, or aborted when the client leaves: the hook gets the
 * signal that aborts then. Rejects when the hook throws or rejects, when the time is up, or when the
 * client left. Used by `authorize` (subscribe) and `authorizePublish`.
 */
export async function answerWithin<T>(ask: (signal: AbortSignal) => T | Promise<T>, clientGone: AbortSignal, timeoutMs: number): Promise<T> {
  const signal = AbortSignal.any([clientGone, AbortSignal.timeout(timeoutMs)]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const answer = Promise.resolve().then(() => ask(signal));
    return await Promise.race([answer, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
