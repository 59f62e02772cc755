/**
 * Local subscriptions of one node: plain channels by name, globs with their compiled matcher.
 * Dispatch happens here, once, whatever the adapter.
 */
import type { PubSubTopicKind } from '@events/core';
import type { SubscribeOptions } from './types.js';

export type AnyHandler = (message: never, meta: never) => unknown;

export interface LocalSubscription {
  /** Shared by every topic of one `subscribe` call. */
  readonly id: string;
  readonly topic: string;
  readonly kind: PubSubTopicKind;
  readonly handler: AnyHandler;
  readonly options: SubscribeOptions;
}

interface PatternEntry {
  readonly match: (channel: string) => boolean;
  readonly subs: Set<LocalSubscription>;
}

export class Registry {
  private readonly exact = new Map<string, Set<LocalSubscription>>();
  private readonly patterns = new Map<string, PatternEntry>();

  add(sub: LocalSubscription, match?: (channel: string) => boolean): void {
    if (sub.kind === 'channel') {
      let set = this.exact.get(sub.topic);
      if (!set) this.exact.set(sub.topic, (set = new Set()));
      set.add(sub);
    } else {
      let entry = this.patterns.get(sub.topic);
      if (!entry) this.patterns.set(sub.topic, (entry = { match: match ?? (() => false), subs: new Set() }));
      entry.subs.add(sub);
    }
  }

  /** Removes `sub`; false when it was not registered (already removed). */
  remove(sub: LocalSubscription): boolean {
    if (sub.kind === 'channel') {
      const set = this.exact.get(sub.topic);
      if (!set?.delete(sub)) return false;
      if (set.size === 0) this.exact.delete(sub.topic);
      return true;
    }
    const entry = this.patterns.get(sub.topic);
    if (!entry?.subs.delete(sub)) return false;
    if (entry.subs.size === 0) this.patterns.delete(sub.topic);
    return true;
  }

  /** The subscriptions of one topic (what a remote message arriving through that topic reaches). */
  forTopic(topic: string, kind: PubSubTopicKind): ReadonlySet<LocalSubscription> | undefined {
    return kind === 'channel' ? this.exact.get(topic) : this.patterns.get(topic)?.subs;
  }

  /** Every topic matching a concrete channel, for local delivery: the exact one, then each glob. */
  *matching(channel: string): Generator<[topic: string, subs: ReadonlySet<LocalSubscription>, pattern: boolean]> {
    const exact = this.exact.get(channel);
    if (exact) yield [channel, exact, false];
    for (const [topic, entry] of this.patterns) if (entry.match(channel)) yield [topic, entry.subs, true];
  }

  all(): LocalSubscription[] {
    const out: LocalSubscription[] = [];
    for (const set of this.exact.values()) out.push(...set);
    for (const entry of this.patterns.values()) out.push(...entry.subs);
    return out;
  }

  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, set] of this.exact) out.set(topic, set.size);
    for (const [topic, entry] of this.patterns) out.set(topic, entry.subs.size);
    return out;
  }
}
