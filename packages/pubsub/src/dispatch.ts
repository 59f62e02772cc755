/**
 * Hands one envelope to a set of local handlers. A handler that throws or rejects is reported and
 * never stops the others; async handlers are not awaited (fire-and-forget) but tracked, so
 * `close()` can let them finish. With an OpenTelemetry SDK registered, each handler call runs in
 * its consumer span (telemetry.ts); without one, handlers are called as they are.
 */
import type { Envelope, ErrorReporter, PubSubStreamPosition } from '@events/core';
import type { LocalSubscription } from './registry.js';
import { type ConsumerPlan, type PubSubTelemetry, runInConsumerSpan } from './telemetry.js';
import type { PubSubErrorKind } from './types.js';

/** The tier's error reporter (core's createErrorReporter), with the kinds of this tier. */
export type Report = (kind: PubSubErrorKind, error: unknown, facts?: Parameters<ErrorReporter['report']>[2]) => void;

/** One message on its way to the handlers of one topic. */
export interface Delivery {
  /** The copy handlers get: what a remote node would decode. */
  readonly envelope: Envelope;
  /** The sender's own envelope, for handlers that only read it (LocalSubscription.shared). Default: `envelope`. */
  readonly shared?: Envelope;
  /** The glob the topic is, or undefined for a plain channel subscription. */
  readonly pattern: string | undefined;
  /** Subscription id whose handlers are skipped (broadcastFrom). */
  readonly exclude?: string | undefined;
  /** The message's place in its channel's history (channels with history only). */
  readonly position?: PubSubStreamPosition | undefined;
}

export class Dispatcher {
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly report: Report,
    private readonly telemetry?: PubSubTelemetry,
  ) {}

  /** Calls every handler of `subs` but those of subscription `exclude`; returns how many it called. */
  deliver(subs: readonly LocalSubscription[], delivery: Delivery): number {
    const { envelope, exclude } = delivery;
    const channel = envelope.name;
    // One meta per topic and message, built on first use: every handler here sees the same one.
    let meta: object | undefined;
    let sharedMeta: object | undefined;
    let count = 0;
    // The span plan is made on first use and shared by the message's handlers (null: this message
    // is not traced here; without an SDK, or a trace header under `join`, a few reads).
    const telemetry = this.telemetry;
    let plan: ConsumerPlan | null | undefined = telemetry === undefined ? null : undefined;
    // `subs` is the registry's snapshot: a handler that (un)subscribes while we iterate changes the
    // next message's snapshot, never this one.
    for (const sub of subs) {
      if (sub.id === exclude) continue;
      count += 1;
      let m: object;
      if (sub.shared && delivery.shared) {
        const shared = delivery.shared;
        m = sharedMeta ??= metaOf(channel, shared, delivery);
      } else {
        m = meta ??= metaOf(channel, envelope, delivery);
      }
      const payload = (m as { envelope: Envelope }).envelope.payload;
      const handler = sub.handler as (m: unknown, meta: unknown) => unknown;
      try {
        // The gateway's per-client subscriptions (shared) get no span each: see telemetry.ts.
        if (plan === undefined && !sub.shared) plan = telemetry!.consumerPlan((m as { envelope: Envelope }).envelope) ?? null;
        const result = plan && !sub.shared ? runInConsumerSpan(plan, () => handler(payload, m)) : handler(payload, m);
        if (result instanceof Promise) this.track(result, sub, channel);
      } catch (err) {
        this.report('handler', err, { name: channel, detail: { topic: sub.topic } });
      }
    }
    if (count > 0) this.telemetry?.consumed(count);
    return count;
  }

  /** Settles when every async handler running now has settled. */
  idle(): Promise<unknown> {
    return Promise.all(this.inflight);
  }

  /** Async handlers running now. */
  get size(): number {
    return this.inflight.size;
  }

  private track(promise: Promise<unknown>, sub: LocalSubscription, channel: string): void {
    const tracked = promise.then(
      () => undefined,
      (err: unknown) => this.report('handler', err, { name: channel, detail: { topic: sub.topic } }),
    );
    this.inflight.add(tracked);
    sub.state.inflight.add(tracked);
    // `tracked` never rejects, so neither does this chain.
    void tracked.then(() => {
      this.inflight.delete(tracked);
      sub.state.inflight.delete(tracked);
    });
  }
}

/** The `meta` argument of a handler. */
function metaOf(channel: string, envelope: Envelope, { pattern, position }: Delivery): object {
  const meta: { channel: string; pattern?: string; envelope: Envelope; position?: PubSubStreamPosition } = pattern === undefined ? { channel, envelope } : { channel, pattern, envelope };
  if (position !== undefined) meta.position = position;
  return meta;
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
      this.report('listener', err);
    }
  }
}
