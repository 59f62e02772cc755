/**
 * Hands one envelope to a set of local handlers. A handler that throws or rejects is reported and
 * never stops the others; async handlers are not awaited (fire-and-forget) but tracked, so
 * `close()` can let them finish.
 */
import type { Envelope } from '@events/core';
import type { LocalSubscription } from './registry.js';
import type { PubSubErrorContext } from './types.js';

export type Report = (error: unknown, context: PubSubErrorContext) => void;

export class Dispatcher {
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly report: Report) {}

  /** Calls every handler of `subs` but those of subscription `exclude`; returns how many it called. */
  deliver(subs: ReadonlySet<LocalSubscription>, envelope: Envelope, how: { pattern: boolean; exclude?: string | undefined }): number {
    let count = 0;
    // A copy: a handler may unsubscribe (itself or others) while we iterate.
    for (const sub of [...subs]) {
      if (sub.id === how.exclude) continue;
      count += 1;
      const meta = how.pattern ? { channel: envelope.name, pattern: sub.topic, envelope } : { channel: envelope.name, envelope };
      try {
        const result = (sub.handler as (m: unknown, meta: unknown) => unknown)(envelope.payload, meta);
        if (result instanceof Promise) this.track(result, { kind: 'handler', channel: envelope.name, topic: sub.topic });
      } catch (err) {
        this.report(err, { kind: 'handler', channel: envelope.name, topic: sub.topic });
      }
    }
    return count;
  }

  /** Settles when every async handler running now has settled. */
  idle(): Promise<unknown> {
    return Promise.all(this.inflight);
  }

  private track(promise: Promise<unknown>, context: PubSubErrorContext): void {
    const tracked = promise.then(
      () => undefined,
      (err: unknown) => this.report(err, context),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }
}

/** Typed listener sets; a listener that throws is reported, never propagated. */
export class Listeners<E extends { [K in keyof E]: (event: never) => void }> {
  private readonly sets = new Map<keyof E, Set<(event: never) => void>>();

  constructor(private readonly report: Report) {}

  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.sets.get(event);
    if (!set) this.sets.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof E>(event: K, payload: Parameters<E[K]>[0]): void {
    for (const listener of this.sets.get(event) ?? []) this.safely(() => (listener as (e: typeof payload) => void)(payload));
  }

  safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err, { kind: 'listener' });
    }
  }
}
