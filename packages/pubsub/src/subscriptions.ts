/**
 * Local subscriptions and the transport interest they hold: `subscribe` validates every topic
 * before anything is registered, registers, then waits for the transport to confirm; a failure,
 * or a close begun meanwhile, undoes all of it. The handle it returns stops deliveries at once and
 * drains that subscription's running handlers; every release of transport interest is awaited
 * and a failed one reported, so none is left to reject unhandled.
 */
import {
  ClosedError,
  compileChannelPattern,
  createId,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  type HandleCloseOptions,
  InvalidOptionError,
  isChannelPattern,
  validateChannelName,
} from '@events/core';
import type { Report } from './dispatch.js';
import type { Interest } from './interest.js';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from './internal.js';
import type { AnyHandler, LocalSubscription, Registry, SubscriptionState } from './registry.js';
import type { SubscribeOptions, Subscription } from './types.js';
import type { GapDetector, Namespace } from './wire.js';

export interface SubscriptionsParts {
  readonly registry: Registry;
  readonly interest: Interest;
  readonly gaps: GapDetector;
  readonly ns: Namespace;
  readonly report: Report;
  /** Aborted when the PubSub's close began. */
  readonly closing: AbortSignal;
}

/** A subscribe call, validated, not yet registered. */
export interface Prepared {
  readonly id: string;
  readonly topics: readonly string[];
  readonly entries: ReadonlyArray<{ sub: LocalSubscription; match: ((channel: string) => boolean) | undefined }>;
  readonly state: SubscriptionState;
}

export class Subscriptions {
  constructor(private readonly parts: SubscriptionsParts) {}

  /** Throws on a malformed name or glob, before anything is registered. */
  prepare(topics: string | readonly string[], handler: unknown, options: SubscribeOptions): Prepared {
    const list: readonly string[] = typeof topics === 'string' ? [topics] : topics;
    if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionError('topics', 'subscribe to at least one channel or pattern');
    if (typeof handler !== 'function') throw new InvalidOptionError('handler', 'must be a function');
    const id = createId();
    const state: SubscriptionState = { inflight: new Set() };
    const shared = (options as InternalSubscribeOptions)[SHARE_ENVELOPE] === true;
    const entries = list.map((topic) => {
      const pattern = typeof topic === 'string' && isChannelPattern(topic);
      const match = pattern ? compileChannelPattern(topic) : undefined;
      if (!pattern) validateChannelName(topic);
      const sub: LocalSubscription = { id, topic, kind: pattern ? 'pattern' : 'channel', handler: handler as AnyHandler, options, shared, state };
      return { sub, match };
    });
    return { id, topics: list, entries, state };
  }

  /** Registers and waits for the transport; resolves to the handle, or undoes everything. */
  async activate(prepared: Prepared): Promise<Subscription> {
    const { registry, interest, ns } = this.parts;
    const { entries } = prepared;
    for (const { sub, match } of entries) registry.add(sub, match);
    const results = await Promise.allSettled(entries.map(({ sub }) => interest.acquire(ns.wire(sub.topic), sub.kind)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Close began while the transport confirmed: the subscription would outlive its PubSub.
    if (failed || this.parts.closing.aborted) {
      const acquired = entries.filter((_, i) => results[i]!.status === 'fulfilled').map((e) => e.sub);
      for (const { sub } of entries) registry.remove(sub);
      await this.release(acquired);
      throw failed ? failed.reason : new ClosedError('pubsub (subscribe)');
    }
    return this.handle(prepared);
  }

  /** `pubsub.unsubscribe(topic, handler?)`. */
  async remove(topic: string, handler?: (...args: never[]) => unknown): Promise<void> {
    const kind = isChannelPattern(topic) ? 'pattern' : 'channel';
    const subs = [...(this.parts.registry.forTopic(topic, kind)?.list() ?? [])].filter((s) => handler === undefined || s.handler === handler);
    await this.release(this.unregister(subs));
  }

  /** Takes subscriptions out of dispatch at once; returns those that were still registered. */
  unregister(subs: readonly LocalSubscription[]): LocalSubscription[] {
    const { registry, gaps } = this.parts;
    const removed: LocalSubscription[] = [];
    for (const sub of subs) {
      if (!registry.remove(sub)) continue;
      if (!registry.forTopic(sub.topic, sub.kind)) gaps.forget(sub.topic);
      removed.push(sub);
    }
    return removed;
  }

  /** Gives back the transport interest of removed subscriptions; a failed release is reported. */
  async release(subs: readonly LocalSubscription[]): Promise<void> {
    const { interest, ns, report } = this.parts;
    const results = await Promise.allSettled(subs.map((sub) => interest.release(ns.wire(sub.topic), sub.kind)));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') report('transport', result.reason, { name: subs[i]!.topic, detail: { action: 'unsubscribe' } });
    }
  }

  private handle({ id, topics, entries, state }: Prepared): Subscription {
    const subs = entries.map((e) => e.sub);
    const { registry, closing } = this.parts;
    let closed: Promise<void> | undefined;
    const close = async (options: HandleCloseOptions): Promise<void> => {
      const removed = this.unregister(subs);
      if (options.drain !== false && state.inflight.size > 0) {
        await drainWithin(Promise.all(state.inflight), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
      }
      await this.release(removed);
    };
    return {
      id,
      topic: topics.join(','),
      topics: [...topics],
      get active() {
        return closed === undefined && !closing.aborted && subs.some((s) => registry.forTopic(s.topic, s.kind)?.set.has(s) === true);
      },
      close: (options = {}) => (closed ??= close(options)),
    };
  }
}
