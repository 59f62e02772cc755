/**
 * Interest reference counting: the adapter is asked to SUBSCRIBE on the first local handler of a
 * topic and to UNSUBSCRIBE after the last one goes, so a node never receives traffic nobody in it
 * wants. Calls for one topic are chained, so a quick subscribe/unsubscribe/subscribe cannot reorder.
 */
import type { PubSubAdapter, PubSubTopicKind } from '@events/core';

interface Entry {
  count: number;
  chain: Promise<void>;
}

export class Interest {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly adapter: PubSubAdapter) {}

  /** Resolves once the transport confirmed the topic (at once when it already was). */
  acquire(topic: string, kind: PubSubTopicKind): Promise<void> {
    const key = `${kind}:${topic}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { count: 0, chain: Promise.resolve() };
      this.entries.set(key, entry);
    }
    entry.count += 1;
    if (entry.count === 1) {
      entry.chain = entry.chain.then(() => this.adapter.subscribe(topic, kind));
      // Failure must not poison later calls for the same topic.
      const result = entry.chain;
      entry.chain = result.catch(() => undefined);
      return result.catch((err: unknown) => {
        this.drop(key);
        throw err;
      });
    }
    return entry.chain;
  }

  release(topic: string, kind: PubSubTopicKind): Promise<void> {
    const key = `${kind}:${topic}`;
    const entry = this.entries.get(key);
    if (!entry || entry.count === 0) return Promise.resolve();
    entry.count -= 1;
    if (entry.count > 0) return Promise.resolve();
    const result = entry.chain.then(() => {
      if (entry.count === 0) return this.adapter.unsubscribe(topic, kind);
      return undefined;
    });
    entry.chain = result.catch(() => undefined);
    void entry.chain.then(() => {
      if (entry.count === 0 && this.entries.get(key) === entry) this.entries.delete(key);
    });
    return result;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry && entry.count > 0) entry.count -= 1;
  }
}
