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

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  // Re-insert so Map order is least-recently-used first, then evict the oldest beyond the bound.
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as string);
}

/** Per-channel sequence numbers of the messages this node sends, starting at 1. */
export class SequenceCounter {
  private readonly counters = new Map<string, number>();

  next(channel: string): number {
    const seq = (this.counters.get(channel) ?? 0) + 1;
    remember(this.counters, channel, seq);
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
  private readonly topics = new Map<string, Map<string, number>>();

  check(stream: { topic: string; node: string; channel: string }, seq: number): Gap | undefined {
    let last = this.topics.get(stream.topic);
    if (!last) this.topics.set(stream.topic, (last = new Map()));
    const key = `${stream.node}\u0000${stream.channel}`;
    const previous = last.get(key);
    remember(last, key, seq);
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
