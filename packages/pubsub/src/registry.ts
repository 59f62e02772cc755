/**
 * Local subscriptions of one node: plain channels by name, globs with their compiled matcher.
 * Dispatch happens here, once, whatever the adapter.
 */
import type { PubSubTopicKind } from '@events/core';
import type { SubscribeOptions } from './types.js';

export type AnyHandler = (message: never, meta: never) => unknown;

/** What the topics of one `subscribe` call share. */
export interface SubscriptionState {
  /** Async handler calls of this subscription still running, for a draining `handle.close()`. */
  readonly inflight: Set<Promise<void>>;
}

export interface LocalSubscription {
  /** Shared by every topic of one `subscribe` call. */
  readonly id: string;
  readonly topic: string;
  readonly kind: PubSubTopicKind;
  readonly handler: AnyHandler;
  readonly options: SubscribeOptions;
  /** The handler only reads (serializes) the message, so it may get the sender's envelope, uncopied. */
  readonly shared: boolean;
  readonly state: SubscriptionState;
}

/** The handlers of one topic, and a snapshot of them that dispatch can iterate without copying. */
export class TopicSubs {
  readonly set = new Set<LocalSubscription>();
  private snapshot: readonly LocalSubscription[] | undefined;
  /** How many handlers need their own copy of the message (see LocalSubscription.shared). */
  copying = 0;

  constructor(readonly match?: (channel: string) => boolean) {}

  /**
   * Rebuilt only after a change: a handler may subscribe or unsubscribe (itself or others) while
   * dispatch iterates, and the message still goes to exactly those subscribed when it arrived.
   */
  list(): readonly LocalSubscription[] {
    return (this.snapshot ??= [...this.set]);
  }

  add(sub: LocalSubscription): void {
    if (this.set.has(sub)) return;
    this.set.add(sub);
    if (!sub.shared) this.copying += 1;
    this.snapshot = undefined;
  }

  delete(sub: LocalSubscription): boolean {
    if (!this.set.delete(sub)) return false;
    if (!sub.shared) this.copying -= 1;
    this.snapshot = undefined;
    return true;
  }
}


export class Registry {
  private readonly exact = new Map<string, TopicSubs>();
  private readonly patterns = new Map<string, TopicSubs>();

  add(sub: LocalSubscription, match?: (channel: string) => boolean): void {
    const map = sub.kind === 'channel' ? this.exact : this.patterns;
    let entry = map.get(sub.topic);
    if (!entry) map.set(sub.topic, (entry = new TopicSubs(sub.kind === 'channel' ? undefined : (match ?? (() => false)))));
    entry.add(sub);
  }

  /** Removes `sub`; false when it was not registered (already removed). */
  remove(sub: LocalSubscription): boolean {
    const map = sub.kind === 'channel' ? this.exact : this.patterns;
    const entry = map.get(sub.topic);
    if (!entry?.delete(sub)) return false;
    if (entry.set.size === 0) map.delete(sub.topic);
    return true;
  }

  /** The subscriptions of one topic (what a remote message arriving through that topic reaches). */
  forTopic(topic: string, kind: PubSubTopicKind): TopicSubs | undefined {
    return kind === 'channel' ? this.exact.get(topic) : this.patterns.get(topic);
  }

  /** The plain-channel subscriptions of a concrete channel. */
  exactFor(channel: string): TopicSubs | undefined {
    return this.exact.get(channel);
  }

  /** Every glob matching a concrete channel, for local delivery; no allocation when there are no globs. */
  patternsMatching(channel: string): Array<[topic: string, subs: TopicSubs]> | undefined {
    if (this.patterns.size === 0) return undefined;
    let out: Array<[string, TopicSubs]> | undefined;
    for (const [topic, entry] of this.patterns) if (entry.match!(channel)) (out ??= []).push([topic, entry]);
    return out;
  }

  all(): LocalSubscription[] {
    const out: LocalSubscription[] = [];
    for (const entry of this.exact.values()) out.push(...entry.set);
    for (const entry of this.patterns.values()) out.push(...entry.set);
    return out;
  }

  /** Handlers registered, and distinct topics. */
  size(): { handlers: number; topics: number } {
    let handlers = 0;
    for (const entry of this.exact.values()) handlers += entry.set.size;
    for (const entry of this.patterns.values()) handlers += entry.set.size;
    return { handlers, topics: this.exact.size + this.patterns.size };
  }

  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, entry] of this.exact) out.set(topic, entry.set.size);
    for (const [topic, entry] of this.patterns) out.set(topic, entry.set.size);
    return out;
  }
}
