/**
 * The wire format: every message is a core envelope encoded as UTF-8 JSON (see docs/pubsub.md),
 * published on a Redis channel named exactly like the pubsub channel. The tier adds three headers.
 */
export const NODE_HEADER = 'pubsub-node';
export const SEQ_HEADER = 'pubsub-seq';
export const REPLY_TO_HEADER = 'pubsub-reply-to';

/** Reply channels are ordinary channels under this prefix, one per request. */
export const REPLY_CHANNEL_PREFIX = '_pubsub:reply:';

/** How many channels a node keeps sequence counters (and receivers keep last-seen numbers) for. */
const MAX_TRACKED = 100_000;

/** A bounded map kept in least-recently-used order, oldest evicted beyond MAX_TRACKED. */
class Recent<V> {
  private readonly map = new Map<string, V>();
  /** The key touched last: already at the end of the Map order, so it needs no re-insert. */
  private last: string | undefined;

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (key === this.last) {
      // The common case, a stream of messages on one channel: the entry already is the newest.
      this.map.set(key, value);
      return;
    }
    this.last = key;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > MAX_TRACKED) this.map.delete(this.map.keys().next().value as string);
  }
}

/** Per-channel sequence numbers of the messages this node sends, starting at 1. */
export class SequenceCounter {
  private readonly counters = new Recent<number>();

  next(channel: string): number {
    const seq = (this.counters.get(channel) ?? 0) + 1;
    this.counters.set(channel, seq);
    return seq;
  }
}

export interface Gap {
  readonly expected: number;
  readonly received: number;
  readonly missing: number;
}

/**
 * Last sequence number seen per (subscription topic, publishing node, channel). A jump forward is
 * a gap; a number at or below the last one means the publisher evicted its counter (or restarted
 * under the same id) and is taken as a fresh start, never as a gap. Kept per topic, so forgetting a
 * topic (its last handler left) is one delete, however many topics there are.
 */
export class GapDetector {
  private readonly topics = new Map<string, Recent<number>>();

  check(stream: { topic: string; node: string; channel: string }, seq: number): Gap | undefined {
    let last = this.topics.get(stream.topic);
    if (!last) this.topics.set(stream.topic, (last = new Recent()));
    const key = `${stream.node}\u0000${stream.channel}`;
    const previous = last.get(key);
    last.set(key, seq);
    if (previous === undefined || seq <= previous) return undefined;
    const expected = previous + 1;
    if (seq === expected) return undefined;
    return { expected, received: seq, missing: seq - expected };
  }

  /** Forgets a topic once nobody here subscribes to it any more. */
  forget(topic: string): void {
    this.topics.delete(topic);
  }
}
