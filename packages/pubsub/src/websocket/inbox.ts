/**
 * What one client may ask of the gateway: frames are handled one at a time (so an unsubscribe
 * never overtakes the subscribe before it), at most `maxPending` wait, and at most `perSecond`
 * arrive per second (a bucket of that many, refilled continuously). A client past either bound is
 * closed, so a flood costs a bounded amount of memory and of `authorize` work. When the client
 * leaves, what waits is dropped and the signal given to the work in progress is aborted.
 */
export interface InboxLimits {
  readonly maxPending: number;
  readonly perSecond: number;
}

export type InboxVerdict = 'queued' | 'rate' | 'pending';

export class Inbox<F> {
  private readonly frames: F[] = [];
  private working = false;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly abort = new AbortController();

  constructor(
    private readonly limits: InboxLimits,
    /** Handles one frame; must not reject (the gateway reports inside). */
    private readonly handle: (frame: F, signal: AbortSignal) => Promise<void>,
  ) {
    this.tokens = limits.perSecond;
  }

  /** Frames waiting plus the one being handled. */
  get pending(): number {
    return this.frames.length + (this.working ? 1 : 0);
  }

  /** Aborted once the client left. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Counts a frame against the rate, before it is even parsed. */
  admit(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.limits.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  push(frame: F): InboxVerdict {
    if (this.abort.signal.aborted) return 'queued';
    if (this.pending >= this.limits.maxPending) return 'pending';
    this.frames.push(frame);
    void this.pump();
    return 'queued';
  }

  /** The client left: drop what waits, abort what runs. */
  close(): void {
    this.frames.length = 0;
    this.abort.abort();
  }

  private async pump(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.frames.length > 0 && !this.abort.signal.aborted) {
        // `handle` reports its own failures; this catch only keeps the loop (and the process) alive.
        await this.handle(this.frames.shift()!, this.abort.signal).catch(() => undefined);
      }
    } finally {
      this.working = false;
    }
  }
}
