/**
 * Redis adapter on ioredis: bytes only, the PubSub layer above does the rest.
 *
 * - Two connections per node whatever the number of subscriptions: one publisher, one subscriber.
 * - Interest-based: the layer above calls `subscribe` only for topics this node has handlers for,
 *   so Redis never sends a node traffic nobody in it wants. `subscribe` resolves once Redis has
 *   answered the SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE.
 * - After a lost connection the adapter resubscribes everything itself (ioredis' own
 *   autoResubscribe is off, so we know when it is done) and reports the outage window.
 *
 * Not promised: delivery while disconnected. Redis pub/sub keeps nothing; a message published while
 * this node's subscriber is down is lost for it (the layer above reports a gap). A publish while
 * the publisher is down fails at once (no offline queue) and is reported, never replayed later.
 */
import { Redis, type RedisOptions } from 'ioredis';
import {
  compileChannelPattern,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  InvalidOptionError,
  type PubSubAdapter,
  type PubSubAdapterHandlers,
  type PubSubTopicKind,
  redactUrl,
} from '@events/core';
import { redisClusterPubSub, type RedisClusterPubSubOptions } from './redis-cluster.js';
import { redisHistory, type RedisHistoryClient, unframe } from './redis-history.js';
import { asWritten, TickCork } from './redis-writes.js';
import { redisPresenceStore } from './redis-presence.js';

/** The commands this adapter uses: a `Redis` or a `Cluster` from ioredis fits. */
export interface RedisPubSubClient {
  readonly status: string;
  publish(channel: string, message: Buffer | string): Promise<number>;
  spublish(channel: string, message: Buffer | string): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  psubscribe(...patterns: string[]): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  punsubscribe(...patterns: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Presence scripts (redis-presence.ts), on the publisher connection. */
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisPubSubOptions {
  /** Redis URL. Default: `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Extra ioredis options for both connections (`lazyConnect` and `autoResubscribe` are the adapter's).
   * `connectionName` gets `-publisher` / `-subscriber` appended. Default: none (names `events-pubsub-*`).
   */
  redisOptions?: RedisOptions;
  /**
   * Sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7+): on a Redis Cluster a message then travels
   * only within its shard. Redis has no sharded pattern subscription, so globs are refused.
   * Default: false.
   */
  sharded?: boolean;
  /**
   * Builds a connection yourself, e.g. `new Cluster(nodes, { shardedSubscribers: true, lazyConnect: true })`.
   * Called once per role and start attempt; the client must be lazy (not yet connected). Default: `new Redis(url, ...)`.
   */
  createClient?: (role: 'publisher' | 'subscriber') => RedisPubSubClient;
  /**
   * A Redis Cluster instead of `url`: `{ nodes: ['10.0.0.1:7000', ...] }`. With `sharded: true`
   * SPUBLISH/SSUBSCRIBE, one subscriber connection per primary that serves this process's
   * channels; else PUBLISH and one subscriber connection on the meeting primary, the one serving
   * the slot of `events-pubsub` (see redis-cluster.ts).
   * `redisOptions` apply to every node connection. Default: none (a single Redis at `url`).
   */
  cluster?: RedisClusterPubSubOptions;
}

export type { RedisClusterPubSubOptions };

/** The Redis adapter: `createPubSub({ adapter: redisPubSub({ url }) })`. Connects on the PubSub's `start()`. */
export function redisPubSub(options: RedisPubSubOptions = {}): PubSubAdapter {
  if (options.cluster) {
    if (options.url !== undefined || options.createClient) throw new InvalidOptionError('cluster', 'give either cluster or url / createClient, not both');
    return redisClusterPubSub({ cluster: options.cluster, sharded: options.sharded ?? false, ...(options.redisOptions ? { redisOptions: options.redisOptions } : {}) });
  }
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const sharded = options.sharded ?? false;
  const make =
    options.createClient ??
    ((role: 'publisher' | 'subscriber'): RedisPubSubClient =>
      new Redis(url, {
        ...options.redisOptions,
        lazyConnect: true,
        autoResubscribe: false,
        connectionName: `${options.redisOptions?.connectionName ?? 'events-pubsub'}-${role}`,
        // At-most-once: a publish that cannot go now fails now, instead of leaving later.
        ...(role === 'publisher' ? { enableOfflineQueue: false, maxRetriesPerRequest: 0 } : {}),
      }) as unknown as RedisPubSubClient);

  // Made anew by each start attempt: a failed attempt throws its clients away, so a retry never
  // inherits the state ioredis keeps after a disconnect.
  let pub: RedisPubSubClient | undefined;
  let sub: RedisPubSubClient | undefined;
  const wanted = { channel: new Set<string>(), pattern: new Map<string, (channel: string) => boolean>() };
  const confirmed = { channel: new Set<string>(), pattern: new Set<string>() };
  let handlers: PubSubAdapterHandlers | undefined;
  let closing = false;
  let downAt: number | undefined;
  let lastError: Error | undefined;
  let generation = 0;
  const cork = new TickCork();

  const subscriber = (): RedisPubSubClient => {
    if (!sub) throw new Error('the Redis pubsub adapter is not started');
    return sub;
  };

  const subscribeCommand = (topics: string[], kind: PubSubTopicKind): Promise<unknown> => {
    const client = subscriber();
    if (kind === 'pattern') return client.psubscribe(...topics);
    return sharded ? client.ssubscribe(...topics) : client.subscribe(...topics);
  };

  const onDown = (): void => {
    confirmed.channel.clear();
    confirmed.pattern.clear();
    if (closing || downAt !== undefined) return;
    downAt = Date.now();
    handlers?.connection({ type: 'down', at: downAt, ...(lastError ? { error: lastError } : {}) });
  };

  const onReady = async (): Promise<void> => {
    if (closing || downAt === undefined) return;
    const mine = ++generation;
    const channels = [...wanted.channel];
    const patterns = [...wanted.pattern.keys()];
    try {
      // Sharded subscriptions go one by one: on a cluster each channel may live on another shard.
      if (sharded) await Promise.all(channels.map((c) => subscribeCommand([c], 'channel')));
      else if (channels.length > 0) await subscribeCommand(channels, 'channel');
      if (patterns.length > 0) await subscribeCommand(patterns, 'pattern');
    } catch {
      return; // dropped again while resubscribing: the next "ready" retries.
    }
    if (mine !== generation || downAt === undefined || closing) return;
    channels.forEach((c) => wanted.channel.has(c) && confirmed.channel.add(c));
    patterns.forEach((p) => wanted.pattern.has(p) && confirmed.pattern.add(p));
    const event = { type: 'resubscribed', downAt, upAt: Date.now() } as const;
    downAt = undefined;
    lastError = undefined;
    handlers?.connection(event);
  };

  /** Listeners of one attempt's clients; events of clients thrown away are ignored. */
  function attach(p: RedisPubSubClient, s: RedisPubSubClient): void {
    const current = (): boolean => s === sub;
    s.on('messageBuffer', (channel: Buffer, data: Buffer) => current() && handlers?.message(unframe(channel.toString(), data)));
    s.on('smessageBuffer', (channel: Buffer, data: Buffer) => current() && handlers?.message(unframe(channel.toString(), data)));
    s.on('pmessageBuffer', (pattern: Buffer, channel: Buffer, data: Buffer) =>
      current() && handlers?.message({ ...unframe(channel.toString(), data), pattern: pattern.toString() }),
    );
    s.on('close', () => current() && onDown());
    s.on('ready', () => current() && void onReady());
    // ioredis retries on its own; errors are kept for the `down` event instead of flooding the hook.
    s.on('error', (err: Error) => (lastError = err));
    p.on('error', (err: Error) => (lastError = err));
  }

  const ownDeliveries = (channel: string): number => {
    let own = confirmed.channel.has(channel) ? 1 : 0;
    for (const p of confirmed.pattern) if (wanted.pattern.get(p)?.(channel)) own += 1;
    return own;
  };

  return {
    kind: 'redis',
    history: redisHistory({ client: () => pub as unknown as RedisHistoryClient | undefined, sharded, own: (channel) => ownDeliveries(channel) }),
    presence: redisPresenceStore(() => pub),
    async start(h) {
      handlers = h;
      closing = false;
      downAt = undefined;
      const p = make('publisher');
      const s = make('subscriber');
      pub = p;
      sub = s;
      attach(p, s);
      // Wait for both attempts to settle, so a failed start leaves no connection retrying behind
      // and a later start() can try again.
      const results = await Promise.allSettled([p.connect(), s.connect()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        p.disconnect();
        s.disconnect();
        if (pub === p) pub = sub = undefined;
        const reason = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
        throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${reason}`, { cause: failed.reason });
      }
    },
    publish(channel, data) {
      if (!pub) return Promise.reject(new Error('the Redis pubsub adapter is not started'));
      cork.hold(pub, data.length);
      const message = asWritten(data);
      const sent = sharded ? pub.spublish(channel, message) : pub.publish(channel, message);
      // Redis counts this node's own subscriptions too; a node that does not hear the channel
      // (the usual publisher) needs no second promise to take them off.
      const own = ownDeliveries(channel);
      return own === 0 ? sent : sent.then((total) => Math.max(0, total - own));
    },
    async subscribe(topic, kind) {
      if (kind === 'pattern') {
        if (sharded) throw new InvalidOptionError('sharded', `Redis sharded pub/sub has no pattern subscriptions; cannot subscribe to "${topic}"`);
        wanted.pattern.set(topic, compileChannelPattern(topic));
      } else wanted.channel.add(topic);
      await subscribeCommand([topic], kind);
      if (kind === 'pattern' ? wanted.pattern.has(topic) : wanted.channel.has(topic)) {
        (kind === 'pattern' ? confirmed.pattern : confirmed.channel).add(topic);
      }
    },
    async unsubscribe(topic, kind) {
      (kind === 'pattern' ? wanted.pattern : wanted.channel).delete(topic);
      (kind === 'pattern' ? confirmed.pattern : confirmed.channel).delete(topic);
      // While disconnected there is nothing to undo: Redis dropped the connection's subscriptions,
      // and the resubscription after the reconnect leaves this topic out.
      const client = sub;
      if (client?.status !== 'ready') return;
      try {
        if (kind === 'pattern') await client.punsubscribe(topic);
        else await (sharded ? client.sunsubscribe(topic) : client.unsubscribe(topic));
      } catch (err) {
        if (client.status === 'ready') throw err;
      }
    },
    async close(closeOptions = {}) {
      closing = true;
      handlers = undefined;
      const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      const clients = [pub, sub].filter((c): c is RedisPubSubClient => c !== undefined);
      pub = sub = undefined;
      cork.flush();
      // QUIT waits behind whatever the client still has to send; past the deadline (or with
      // `force`, or while not connected) the connection is cut instead.
      await Promise.all(
        clients.map(async (client) => {
          if (closeOptions.force || client.status !== 'ready') return client.disconnect();
          const quit = client.quit().then(
            () => undefined,
            () => undefined,
          );
          if (!(await drainWithin(quit, timeoutMs))) client.disconnect();
        }),
      );
    },
  };
}
