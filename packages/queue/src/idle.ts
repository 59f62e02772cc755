/**
 * `waitUntilIdle`, driven by job events instead of polling: it reads the counts, and when work is
 * left it waits for the next job event (completed, failed) of this process (or of every worker,
 * with `events: 'all'`), then reads again. Jobs run by another process without `events: 'all'`,
 * and delayed jobs that nobody runs, give no event: a slow recheck (`RECHECK_MS`) covers them.
 * Every wait has the caller's deadline.
 */
import { TimeoutError, withTimeout, type JobCounts } from '@events/core';

/** The fallback recheck when no event arrives (jobs run elsewhere, delayed jobs). */
export const IDLE_RECHECK_MS = 500;

export class IdleSignal {
  private generation = 0;
  private readonly wakers = new Set<() => void>();

  /** A job finished somewhere we can see: wake every idle waiter (each rechecks its counts once). */
  notify(): void {
    this.generation += 1;
    if (this.wakers.size === 0) return; // the usual case, once per job: no copy
    for (const wake of [...this.wakers]) wake();
  }

  /** Bounded by the callers: one entry per pending waitUntilIdle call. */
  get waiting(): number {
    return this.wakers.size;
  }

  async waitUntilIdle(read: () => Promise<JobCounts[]>, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.generation;
      // The read itself is bounded too: on an unreachable backend it would wait for the reconnect.
      const reading = read();
      reading.catch(() => undefined);
      const all = await withTimeout(reading, Math.max(1, deadline - Date.now()), 'queue.waitUntilIdle');
      if (all.every((c) => c.waiting + c.delayed + c.active === 0)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError('queue.waitUntilIdle', timeoutMs);
      if (signal.aborted) throw signal.reason;
      // An event between the read and now: read again at once.
      if (seen !== this.generation) continue;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, IDLE_RECHECK_MS));
        signal.addEventListener('abort', done, { once: true });
        this.wakers.add(done);
      });
    }
  }
}
