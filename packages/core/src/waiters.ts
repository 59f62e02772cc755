/**
 * A bounded line of callers waiting for room (buffer space, a confirm, a connection), each with a
 * deadline. `wake(n)` lets the first n go, so a freed slot wakes one waiter rather than every
 * waiter re-parking (no thundering herd). The line has a cap: the caller past it gets
 * BackpressureError at once, never an unbounded wait.
 */
import { BackpressureError, ClosedError, TimeoutError } from './errors.js';

export interface WaitLineOptions {
  /** What waits, for error messages (`bus.emit while RabbitMQ is unreachable`). */
  readonly what: string;
  /** Most callers waiting at once. */
  readonly max: number;
}

export interface WaitOptions {
  /** Deadline of this wait. */
  readonly timeoutMs: number;
  /** Ends the wait early with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class WaitLine {
  readonly #what: string;
  readonly #max: number;
  readonly #waiters = new Set<Waiter>();

  constructor(options: WaitLineOptions) {
    this.#what = options.what;
    this.#max = options.max;
  }

  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves when woken; rejects with BackpressureError (line full), TimeoutError or the abort reason. */
  wait(options: WaitOptions): Promise<void> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#waiters.size >= this.#max) {
      return Promise.reject(new BackpressureError(`${this.#what}: ${this.#max} callers already waiting (raise the limit, or retry later)`));
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(options.signal?.reason);
      const timer = setTimeout(() => waiter.reject(new TimeoutError(this.#what, options.timeoutMs)), options.timeoutMs);
      timer.unref?.();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Lets the first `count` waiters go, in arrival order. */
  wake(count = 1): void {
    for (const waiter of this.#waiters) {
      if (count <= 0) return;
      count -= 1;
      waiter.resolve();
    }
  }

  /** Rejects every waiter (with ClosedError unless given another error). */
  rejectAll(error: unknown = new ClosedError(this.#what)): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }
}
