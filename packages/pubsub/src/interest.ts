/**
 * Interest reference counting: the adapter is asked to SUBSCRIBE on the first local handler of a
 * topic and to UNSUBSCRIBE after the last one goes, so a node never receives traffic nobody in it
 * wants. Calls for one topic are chained, so a quick subscribe/unsubscribe/subscribe cannot reorder.
 */
import type { PubSubAdapter, PubSubTopicKind } from '@events/core';

interface Entry {
  count: number;
  /** Settles when the latest SUBSCRIBE for this topic did; what every acquirer awaits. */
  ready: Promise<void>;
  /** The same chain with failures swallowed, so one failure does not poison later calls. */
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
      entry = { count: 0, ready: Promise.resolve(), chain: Promise.resolve() };
      this.entries.set(key, entry);
    }
    entry.count += 1;
    if (entry.count === 1) {
      entry.ready = entry.chain.then(() => this.adapter.subscribe(topic, kind));
      entry.chain = entry.ready.catch(() => undefined);
    }
    const mine = entry;
    return mine.ready.catch((err: unknown) => {
      // This acquirer holds no reference after all.
      if (mine.count > 0) mine.count -= 1;
      throw err;
    });
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
}
