/**
 * The wire format: every message is a core envelope encoded as UTF-8 JSON (see docs/pubsub.md),
 * published on the transport channel `<namespace>:<channel>`. The tier adds three headers.
 */
import { InvalidOptionError } from '@events/core';

export const NODE_HEADER = 'pubsub-node';
export const SEQ_HEADER = 'pubsub-seq';
export const REPLY_TO_HEADER = 'pubsub-reply-to';

/** Reply inboxes are ordinary channels under this prefix, one per node (request-reply.ts). */
export const REPLY_CHANNEL_PREFIX = '_pubsub:reply:';

/**
 * What a `pubsub-reply-to` header may name: a reply inbox (`_pubsub:reply:<node>:<token>`),
 * never an application channel, so a request cannot make a replier publish where it likes.
 */
const REPLY_INBOX = /^_pubsub:reply:[A-Za-z0-9_.:-]{1,200}$/;

export function isReplyInbox(channel: string): boolean {
  return REPLY_INBOX.test(channel);
}

const NAMESPACE = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Maps a tier channel to its transport channel and back: `<namespace>:<channel>`. */
export class Namespace {
  readonly prefix: string;

  constructor(readonly name: string) {
    if (typeof name !== 'string' || !NAMESPACE.test(name)) {
      throw new InvalidOptionError('namespace', `must be 1-100 letters, digits or _.:- (no glob characters), got ${JSON.stringify(name)}`);
    }
    this.prefix = `${name}:`;
  }

  /** The last topic `wire` named and its transport name: a stream on one channel concatenates once. */
  private lastTopic: string | undefined;
  private lastWireName = '';

  /** Transport name of a channel or glob (the prefix holds no glob character, so a glob stays one). */
  wire(topic: string): string {
    if (topic !== this.lastTopic) {
      this.lastTopic = topic;
      this.lastWireName = this.prefix + topic;
    }
    return this.lastWireName;
  }

  /** The last transport name `local` read and its answer: a stream on one channel slices once. */
  private lastWire: string | undefined;
  private lastLocal: string | undefined;

  /** The tier name of a transport name, or undefined when it lies outside this namespace. */
  local(wire: string): string | undefined {
    if (wire === this.lastWire) return this.lastLocal;
    const local = wire.startsWith(this.prefix) && wire.length > this.prefix.length ? wire.slice(this.prefix.length) : undefined;
    this.lastWire = wire;
    this.lastLocal = local;
    return local;
  }
}

/**
 * Reads a `pubsub-seq` header: a decimal integer from 1 up to 2^53-1 with no sign, exponent,
 * fraction or leading zero. Anything else (a foreign or forged value) gives undefined.
 */
export function parseSeq(value: string | undefined): number | undefined {
  // Read on every message: a character loop, no regular expression.
  if (value === undefined || value.length === 0 || value.length > 16) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i += 1) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9 || (i === 0 && digit === 0)) return undefined;
    n = n * 10 + digit;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A forward jump larger than this is not taken as a gap: no publisher sends a million messages on
 * one channel between two that a subscriber hears. It is a forged or corrupt number, reported and
 * taken as a fresh start of that stream.
 */
export const MAX_PLAUSIBLE_GAP = 1_000_000;

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
  /** The stream checked last and its key: a stream of messages builds its key once. */
  private lastNode: string | undefined;
  private lastChannel: string | undefined;
  private lastKey = '';

  /** A gap, `implausible` for a jump past MAX_PLAUSIBLE_GAP (no gap raised), or undefined. */
  check(stream: { topic: string; node: string; channel: string }, seq: number): Gap | 'implausible' | undefined {
    let last = this.topics.get(stream.topic);
    if (!last) this.topics.set(stream.topic, (last = new Recent()));
    if (stream.node !== this.lastNode || stream.channel !== this.lastChannel) {
      this.lastNode = stream.node;
      this.lastChannel = stream.channel;
      this.lastKey = `${stream.node}\u0000${stream.channel}`;
    }
    const key = this.lastKey;
    const previous = last.get(key);
    last.set(key, seq);
    if (previous === undefined || seq <= previous) return undefined;
    const expected = previous + 1;
    if (seq === expected) return undefined;
    if (seq - expected > MAX_PLAUSIBLE_GAP) return 'implausible';
    return { expected, received: seq, missing: seq - expected };
  }

  /** Forgets a topic once nobody here subscribes to it any more. */
  forget(topic: string): void {
    this.topics.delete(topic);
  }
}
