/**
 * Counts handlers in flight and lets close/cancel wait until none is left. A counter instead of a
 * Set of promises: tracking a delivery costs no allocation.
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  start(): void {
    this.count += 1;
  }

  end(): void {
    this.count -= 1;
    if (this.count === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves once nothing is in flight (at once when nothing is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
