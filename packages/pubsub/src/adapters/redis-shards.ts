/**
 * Subscriber connections of the Redis Cluster adapter: one plain connection per cluster node that
 * carries at least one of this process's topics, opened on demand and closed when its last topic
 * leaves. Where a topic goes is the caller's `route` (the primary serving the channel's slot in
 * sharded mode, the primary of one meeting slot in classic mode).
 *
 * Why not ioredis' own (`Cluster` with `shardedSubscribers`): after a failover it resubscribes
 * fire-and-forget (a failed SSUBSCRIBE only reaches its debug log, and `subscribersReady` is
 * emitted before any SSUBSCRIBE is confirmed), so nobody could tell when a subscription is live
 * again; the outage window we report would be a guess.
 *
 * Here a lost connection moves its topics to `orphans`, reports `down` once (for the whole
 * adapter), and a single recovery loop asks the cluster for its current slots, routes each orphan
 * again and re-sends the (S|P)SUBSCRIBE, with backoff (100 ms doubling to 1 s), until every
 * orphan is confirmed: then `up` reports the outage window. Connections never reconnect by
 * themselves (a node that died does not come back as the owner of its slots; its replica does).
 */
import type { Redis } from 'ioredis';
import { drainWithin, withTimeout, type PubSubAdapterMessage, type PubSubTopicKind } from '@events/core';

export interface ShardHooks {
  /** Node key (`host:port`) that should carry `topic` now; undefined when none is known. */
  route(topic: string, kind: PubSubTopicKind): string | undefined;
  /** Reloads the cluster's slot map (after a lost node); resolves even when it fails. */
  refresh(): Promise<void>;
  /** A lazy connection to the node `key` (not connected yet, no retry strategy). */
  open(key: string): Redis;
  message(message: PubSubAdapterMessage): void;
  down(at: number, error: Error | undefined): void;
  up(downAt: number, upAt: number): void;
}

interface Link {
  readonly key: string;
  readonly redis: Redis;
  readonly topics: Map<string, PubSubTopicKind>;
  readonly ready: Promise<void>;
  lost: boolean;
  retired: boolean;
  lastError?: Error;
}

const MAX_BACKOFF_MS = 1000;
/**
 * A shard connection that is not ready within this (TCP connect, then the ready check) counts as
 * lost: a node that accepts connections and never answers (frozen, or behind a proxy dropping
 * traffic) must not hold a subscribe or the recovery loop forever. Commands get their own deadline
 * (`commandTimeout` on the connection).
 */
export const SHARD_READY_TIMEOUT_MS = 5000;
const QUIT_TIMEOUT_MS = 1000;

export class ShardSubscribers {
  private readonly links = new Map<string, Link>();
  private readonly where = new Map<string, Link>();
  private readonly wanted = new Map<string, PubSubTopicKind>();
  private readonly confirmed = new Set<string>();
  private readonly orphans = new Set<string>();
  private readonly retiring = new Set<Promise<void>>();
  /** The placement in flight per topic: a subscribe's retry and the recovery loop share it. */
  private readonly placing = new Map<string, Promise<void>>();
  private downAt: number | undefined;
  private recovering = false;
  private closing = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly hooks: ShardHooks,
    private readonly sharded: boolean,
  ) {}

  /** Confirmed live on a connection now (counts this node's own deliveries of a publish). */
  isLive(topic: string): boolean {
    return this.confirmed.has(topic);
  }

  /** Confirmed topics of a kind. */
  live(kind: PubSubTopicKind): string[] {
    return [...this.confirmed].filter((t) => this.wanted.get(t) === kind);
  }

  /** Node key of the connection carrying `topic`. */
  nodeOf(topic: string): string | undefined {
    return this.where.get(topic)?.key;
  }

  /** Node keys with an open connection. */
  nodes(): string[] {
    return [...this.links.keys()];
  }

  /** Resolves once the node carrying `topic` confirmed the subscription; three tries, with a slot refresh between. */
  async subscribe(topic: string, kind: PubSubTopicKind): Promise<void> {
    this.wanted.set(topic, kind);
    let failure: unknown;
    for (let attempt = 0; attempt < 3 && !this.closing && this.wanted.get(topic) === kind; attempt += 1) {
      if (attempt > 0) await this.hooks.refresh();
      try {
        await this.place(topic, kind);
        return;
      } catch (error) {
        failure = error;
      }
    }
    // The recovery loop may have placed it meanwhile (it was an orphan of a lost connection).
    if (this.wanted.get(topic) === kind && this.confirmed.has(topic)) return;
    if (this.wanted.get(topic) === kind) {
      this.wanted.delete(topic);
      this.orphans.delete(topic);
      this.detach(topic);
    }
    if (failure !== undefined) throw failure;
    if (this.closing) throw new Error(`the Redis Cluster pubsub adapter closed before "${topic}" was subscribed`);
  }

  async unsubscribe(topic: string, kind: PubSubTopicKind): Promise<void> {
    this.wanted.delete(topic);
    this.orphans.delete(topic);
    const link = this.detach(topic);
    if (!link || link.lost || link.retired) return;
    // The last topic of a connection leaves with the connection: closing it drops its subscriptions.
    if (link.topics.size === 0) return this.retire(link);
    try {
      await link.ready;
      await this.command(link, topic, { kind, on: false });
    } catch (error) {
      if (!link.lost && !link.retired && link.redis.status === 'ready') throw error;
    }
  }

  async close(timeoutMs: number, force: boolean): Promise<void> {
    this.closing = true;
    this.wake?.();
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all([
      ...links.map(async (link) => {
        link.retired = true;
        if (force || link.redis.status !== 'ready') return link.redis.disconnect();
        const quit = link.redis.quit().then(
          () => undefined,
          () => undefined,
        );
        if (!(await drainWithin(quit, timeoutMs))) link.redis.disconnect();
      }),
      ...this.retiring,
    ]);
  }

  private detach(topic: string): Link | undefined {
    this.confirmed.delete(topic);
    const link = this.where.get(topic);
    this.where.delete(topic);
    link?.topics.delete(topic);
    return link;
  }

  /**
   * One placement per topic at a time: a subscribe's retry and the recovery loop (or two
   * subscribes) asking at once share the one in flight, so a slot map that changed between them
   * cannot leave the topic on two connections (a duplicate delivery, a connection never retired).
   */
  private place(topic: string, kind: PubSubTopicKind): Promise<void> {
    const inFlight = this.placing.get(topic);
    if (inFlight) return inFlight;
    const placement = this.placeOnce(topic, kind).finally(() => {
      if (this.placing.get(topic) === placement) this.placing.delete(topic);
    });
    this.placing.set(topic, placement);
    return placement;
  }

  private async placeOnce(topic: string, kind: PubSubTopicKind): Promise<void> {
    const key = this.hooks.route(topic, kind);
    if (key === undefined) throw new Error(`no Redis Cluster node is known to serve "${topic}"`);
    const previous = this.where.get(topic);
    if (previous !== undefined && previous.key === key && !previous.lost && this.confirmed.has(topic)) return;
    // Moving: off the connection that carried it first (its last topic takes the connection along).
    if (previous !== undefined && previous.key !== key) void this.leave(previous, topic, kind);
    const link = this.links.get(key) ?? this.openLink(key);
    link.topics.set(topic, kind);
    this.where.set(topic, link);
    try {
      await link.ready;
      await this.command(link, topic, { kind, on: true });
    } catch (error) {
      if (this.where.get(topic) === link) this.detach(topic);
      if (this.wanted.get(topic) === kind && link.lost) this.orphans.add(topic);
      if (!link.lost && !link.retired && link.topics.size === 0) void this.retire(link);
      throw error;
    }
    if (this.where.get(topic) === link && !link.lost) this.confirmed.add(topic);
  }

  /** Takes `topic` off `link` (unsubscribing, or retiring the link with its last topic); never rejects. */
  private async leave(link: Link, topic: string, kind: PubSubTopicKind): Promise<void> {
    this.detach(topic);
    link.topics.delete(topic);
    if (link.lost || link.retired) return;
    if (link.topics.size === 0) return this.retire(link);
    try {
      await link.ready;
      await this.command(link, topic, { kind, on: false });
    } catch {
      // A connection that cannot unsubscribe is lost or closing: its subscriptions go with it.
    }
  }

  private command(link: Link, topic: string, { kind, on }: { kind: PubSubTopicKind; on: boolean }): Promise<unknown> {
    const r = link.redis;
    if (kind === 'pattern') return on ? r.psubscribe(topic) : r.punsubscribe(topic);
    if (this.sharded) return on ? r.ssubscribe(topic) : r.sunsubscribe(topic);
    return on ? r.subscribe(topic) : r.unsubscribe(topic);
  }

  private openLink(key: string): Link {
    const redis = this.hooks.open(key);
    const link: Link = { key, redis, topics: new Map(), ready: Promise.resolve(), lost: false, retired: false };
    const deliver = (message: PubSubAdapterMessage): void => {
      if (!link.retired && !link.lost) this.hooks.message(message);
    };
    redis.on('smessageBuffer', (channel: Buffer, data: Buffer) => deliver({ channel: channel.toString(), data }));
    redis.on('messageBuffer', (channel: Buffer, data: Buffer) => deliver({ channel: channel.toString(), data }));
    redis.on('pmessageBuffer', (pattern: Buffer, channel: Buffer, data: Buffer) => deliver({ channel: channel.toString(), pattern: pattern.toString(), data }));
    redis.on('error', (error: Error) => (link.lastError = error));
    redis.on('close', () => this.lost(link));
    (link as { ready: Promise<void> }).ready = withTimeout(redis.connect(), SHARD_READY_TIMEOUT_MS, `the Redis Cluster node ${key} getting ready`);
    link.ready.catch(() => {
      redis.disconnect();
      this.lost(link);
    });
    this.links.set(key, link);
    return link;
  }

  private retire(link: Link): Promise<void> {
    link.retired = true;
    if (this.links.get(link.key) === link) this.links.delete(link.key);
    const done = (async () => {
      const quit = link.redis.status === 'ready' ? link.redis.quit().then(() => undefined, () => undefined) : Promise.resolve();
      if (!(await drainWithin(quit, QUIT_TIMEOUT_MS))) link.redis.disconnect();
      link.redis.disconnect();
    })();
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
    return done;
  }

  private lost(link: Link): void {
    if (link.lost) return;
    link.lost = true;
    if (this.links.get(link.key) === link) this.links.delete(link.key);
    link.redis.disconnect();
    if (link.retired || this.closing) return;
    const moved = [...link.topics.keys()].filter((t) => this.where.get(t) === link);
    link.topics.clear();
    for (const topic of moved) {
      this.where.delete(topic);
      this.confirmed.delete(topic);
      if (this.wanted.has(topic)) this.orphans.add(topic);
    }
    if (this.orphans.size === 0) return;
    if (this.downAt === undefined) {
      this.downAt = Date.now();
      this.hooks.down(this.downAt, link.lastError);
    }
    void this.recover();
  }

  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      for (let attempt = 0; !this.closing && this.orphans.size > 0; attempt += 1) {
        if (attempt > 0) await this.sleep(Math.min(100 * 2 ** (attempt - 1), MAX_BACKOFF_MS));
        if (this.closing) return;
        await this.hooks.refresh();
        const batch = [...this.orphans].flatMap((topic) => {
          const kind = this.wanted.get(topic);
          this.orphans.delete(topic);
          return kind === undefined ? [] : [this.place(topic, kind).catch(() => this.orphanAgain(topic, kind))];
        });
        await Promise.all(batch);
      }
    } finally {
      this.recovering = false;
    }
    if (this.closing || this.orphans.size > 0 || this.downAt === undefined) return;
    const downAt = this.downAt;
    this.downAt = undefined;
    this.hooks.up(downAt, Date.now());
  }

  private orphanAgain(topic: string, kind: PubSubTopicKind): void {
    if (this.wanted.get(topic) === kind && !this.where.has(topic)) this.orphans.add(topic);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
