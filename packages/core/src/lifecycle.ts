/**
 * The lifecycle contract every tier honours: `close()` stops intake at once, lets in-flight work
 * finish within `timeoutMs`, then releases connections. `force: true` skips the drain.
 */
import { TimeoutError } from './errors.js';

export interface CloseOptions {
  /** How long to wait for in-flight work before giving up on it. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Skip draining: abandon in-flight work and disconnect now. Default: false. */
  force?: boolean;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface Closeable {
  close(options?: CloseOptions): Promise<void>;
}

export type LifecycleState = 'open' | 'closing' | 'closed';

/**
 * Waits for `work` to settle, or for `timeoutMs`. Resolves `true` when everything drained,
 * `false` on timeout. Never rejects: failures of the work itself are the caller's to report.
 */
export async function drainWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with TimeoutError when `promise` does not settle within `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
