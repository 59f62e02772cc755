/**
 * Job rates, counted in this process and added to the backend's per-minute series once a second:
 * jobs enqueued here, and jobs this process's workers completed or failed for good. Every process
 * of a queue adds its own counts, so the series is the whole queue's (jobs of workers that are
 * not @events/queue workers, such as a plain BullMQ worker, are not counted). Bounded: at most
 * MAX_PENDING_NAMES names wait for a flush (counts of names past it are dropped and counted in
 * `dropped`); a failed flush is reported, its counts are lost (a rate is a chart, not a ledger).
 */
import type { QueueAdapterAdmin, RateBucket } from '@events/core';

export const RATE_FLUSH_MS = 1000;
const MAX_PENDING_NAMES = 1000;

type Kind = 'enqueued' | 'completed' | 'failed';

export class RateRecorder {
  private pending = new Map<string, { name: string; minute: number; enqueued: number; completed: number; failed: number }>();
  private timer: NodeJS.Timeout | undefined;
  /** The bucket the last count went to (it is in `pending` until the next flush). */
  private last: { name: string; minute: number; enqueued: number; completed: number; failed: number } | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Set by close(): later counts (events of workers still stopping) are ignored. */
  private closed = false;
  /** Set by abandon(): the queue stopped waiting for the last flush and closes its adapter under it. */
  private abandoned = false;
  dropped = 0;

  constructor(
    private readonly admin: () => QueueAdapterAdmin | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  count(name: string, kind: Kind, n = 1): void {
    if (this.closed || !this.admin()) return;
    const minute = Math.floor(Date.now() / 60_000);
    // Counted once per job: the bucket of the last call is kept, so the usual call builds no key.
    const last = this.last;
    if (last !== undefined && last.name === name && last.minute === minute) {
      last[kind] += n;
      return;
    }
    const key = `${minute}\0${name}`;
    let bucket = this.pending.get(key);
    if (!bucket) {
      if (this.pending.size >= MAX_PENDING_NAMES) {
        this.dropped += n;
        return;
      }
      bucket = { name, minute, enqueued: 0, completed: 0, failed: 0 };
      this.pending.set(key, bucket);
    }
    bucket[kind] += n;
    this.last = bucket;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, RATE_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes the pending counts (one call at a time); never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const admin = this.admin();
      if (this.pending.size === 0 || !admin) return;
      const buckets: RateBucket[] = [...this.pending.values()];
      this.pending = new Map();
      this.last = undefined;
      try {
        await admin.recordRates(buckets);
      } catch (error) {
        if (!this.abandoned) this.onError(error);
      }
    });
    return this.flushing;
  }

  /** Flushes what is pending and stops the timer. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const last = this.flush();
    this.closed = true;
    await last;
  }

  /** No more reports: a flush still running fails when the adapter closes, and that is expected. */
  abandon(): void {
    this.abandoned = true;
  }
}
