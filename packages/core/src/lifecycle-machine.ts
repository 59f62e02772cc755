/**
 * The lifecycle state machine every component runs (see Lifecycle in contract.ts), written once:
 * one start attempt at a time, a failed start releases what it opened and can be retried, close is
 * idempotent (every call gets the same promise) and waits for a start in progress, and work
 * registered after close began is refused with ClosedError.
 */
import { setMaxListeners } from 'node:events';
import type { LifecyclePhase } from './contract.js';
import { ClosedError } from './errors.js';
import type { CloseOptions } from './lifecycle.js';

export interface LifecycleHooks {
  /** What is starting, for error messages (`bus`, `queue "emails"`). */
  readonly what: string;
  /** Opens connections. On failure `release` is called before start rejects. */
  open(): Promise<void>;
  /** Releases whatever a failed `open` left behind. Must not throw. Default: nothing. */
  release?(): Promise<void>;
  /** Drains within the options and releases. Runs once, after any start in progress settled. */
  shutdown(options: CloseOptions): Promise<void>;
}

export interface LifecycleMachine {
  readonly phase: LifecyclePhase;
  /** Aborted when close begins: long waits listen to it. */
  readonly closing: AbortSignal;
  start(): Promise<void>;
  close(options?: CloseOptions): Promise<void>;
  /** Throws ClosedError when close has begun. */
  assertOpen(action?: string): void;
}

export function createLifecycle(hooks: LifecycleHooks): LifecycleMachine {
  let phase: LifecyclePhase = 'idle';
  let starting: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  const abort = new AbortController();
  // Every bounded wait of the component listens to this signal; the waits have caps of their own.
  setMaxListeners(0, abort.signal);

  async function attempt(): Promise<void> {
    try {
      await hooks.open();
    } catch (err) {
      await hooks.release?.().catch(() => undefined);
      throw err;
    }
  }

  return {
    get phase() {
      return phase;
    },
    closing: abort.signal,
    start() {
      if (closed) return Promise.reject(new ClosedError(hooks.what));
      if (starting) return starting;
      phase = 'starting';
      const current = attempt().then(
        () => {
          if (phase === 'starting') phase = 'ready';
        },
        (err: unknown) => {
          if (phase === 'starting') phase = 'failed';
          starting = undefined; // the next start() tries again
          throw err;
        },
      );
      starting = current;
      return current;
    },
    close(options = {}) {
      if (closed) return closed;
      phase = 'closing';
      abort.abort(new ClosedError(hooks.what));
      const pending = starting;
      closed = (async () => {
        if (pending) await pending.catch(() => undefined);
        try {
          await hooks.shutdown(options);
        } finally {
          phase = 'closed';
        }
      })();
      return closed;
    },
    assertOpen(action) {
      if (closed) throw new ClosedError(action ? `${hooks.what} (${action})` : hooks.what);
    },
  };
}
