/**
 * The Redis adapter on a Redis Cluster (`redisPubSub({ cluster: { nodes } })`): bytes only, like
 * the single-node adapter, with the same promises and the same signals.
 *
 * - Publishing goes through an ioredis `Cluster`, which follows the slot map (MOVED, failover).
 * - Sharded mode (`sharded: true`): SPUBLISH / SSUBSCRIBE. A channel lives on the primary serving
 *   its slot; this process opens a subscriber connection to a primary only when it has a channel
 *   there, and closes it when the last one leaves (interest-based: a node receives only the
 *   channels it subscribed, and a message crosses no other shard). Globs are refused: Redis has no
 *   sharded pattern subscription. `publish` counts exactly (every subscriber sits on the primary).
 * - Classic mode: PUBLISH, which the cluster bus forwards to every node, and SUBSCRIBE / PSUBSCRIBE
 *   (globs allowed). Redis counts only the subscribers of the node that took the PUBLISH, so every
 *   process subscribes and publishes on one meeting point, the primary serving the slot of
 *   `events-pubsub` (after a failover: its promoted replica): counts are exact, as on one Redis.
 *   The cost: classic mode does not spread over the shards (every message reaches every node of
 *   the cluster anyway); use sharded mode to scale.
 * - After a node is lost (a primary killed, a network cut) the subscriptions it carried are routed
 *   again (to the promoted replica in sharded mode) and confirmed, then `resubscribed` reports the
 *   window for the whole adapter (see redis-shards.ts).
 *
 * Not promised: delivery while a subscriber's node is down or being failed over (pub/sub keeps
 * nothing); a publish to a shard whose primary is down is retried by ioredis for up to
 * `maxRedirections` x `retryDelayOnFailover` (16 x 100 ms by default), then fails and is
 * reported. Slot migration (resharding) while subscribed is not followed.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { compileChannelPattern, DEFAULT_CLOSE_TIMEOUT_MS, drainWithin, InvalidOptionError, type PubSubAdapter, type PubSubAdapterHandlers } from '@events/core';
import { clusterSlot } from '@events/core';
import { ShardSubscribers } from './redis-shards.js';
import { redisPresenceStore } from './redis-presence.js';
import { redisHistory, type RedisHistoryClient, unframeMessage } from './redis-history.js';

export interface RedisClusterPubSubOptions {
  /** Seed nodes, `'host:port'` or `{ host, port }`; one live node is enough to discover the rest. */
  nodes: ReadonlyArray<string | { host: string; port: number }>;
  /** Extra ioredis `Cluster` options of the publisher (`lazyConnect` is the adapter's). Default: none. */
  clusterOptions?: ClusterOptions;
}

export interface ClusterAdapterSpec {
  readonly cluster: RedisClusterPubSubOptions;
  readonly sharded: boolean;
  /** Options of every connection to a node (password, tls, connectionName). */
  readonly redisOptions?: RedisOptions;
}

/** Classic mode's meeting point: the slot of this name (every process of every application meets there). */
const HUB_SLOT = clusterSlot('events-pubsub');

const nodeKey = (options: { host?: string | undefined; port?: number | undefined }): string => `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;

function seedNodes(nodes: RedisClusterPubSubOptions['nodes']): Array<{ host: string; port: number }> {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new InvalidOptionError('cluster.nodes', 'list at least one node, e.g. ["127.0.0.1:7000"]');
  return nodes.map((node) => {
    if (typeof node !== 'string') return { host: node.host, port: node.port };
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(node);
    if (!match) throw new InvalidOptionError('cluster.nodes', `${JSON.stringify(node)} is not host:port`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
  });
}

export function redisClusterPubSub(spec: ClusterAdapterSpec): PubSubAdapter {
  const seeds = seedNodes(spec.cluster.nodes);
  const { sharded } = spec;
  const baseName = spec.redisOptions?.connectionName ?? 'events-pubsub';
  const patterns = new Map<string, (channel: string) => boolean>();
  let pub: Cluster | undefined;
  let subs: ShardSubscribers | undefined;
  let handlers: PubSubAdapterHandlers | undefined;
  let lastError: Error | undefined;
  const publisher = (): Cluster => {
    if (!pub) throw new Error('the Redis Cluster pubsub adapter is not started');
    return pub;
  };

  // Classic mode: every process subscribes on the primary serving the hub slot, and publishes there.
  const route = (topic: string): string | undefined => publisher().slots[sharded ? clusterSlot(topic) : HUB_SLOT]?.[0];

  const refresh = (): Promise<void> =>
    new Promise((resolve) => {
      const cluster = pub;
      if (!cluster) return resolve();
      const timer = setTimeout(resolve, 2000);
      cluster.refreshSlotsCache(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  const open = (key: string): Redis => {
    const cut = key.lastIndexOf(':');
    return new Redis({
      connectTimeout: 2000,
      // A node that stops answering fails the (S)SUBSCRIBE instead of holding it (and the recovery loop) forever.
      commandTimeout: 5000,
      keepAlive: 10_000,
      ...spec.redisOptions,
      host: key.slice(0, cut),
      port: Number(key.slice(cut + 1)),
      lazyConnect: true,
      autoResubscribe: false,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectionName: `${baseName}-subscriber`,
    });
  };

  const ownDeliveries = (channel: string): number => {
    if (!subs) return 0;
    let own = subs.isLive(channel) ? 1 : 0;
    for (const p of subs.live('pattern')) if (patterns.get(p)?.(channel)) own += 1;
    return own;
  };

  return {
    kind: 'redis',
    // Presence keys are hash-tagged per channel: each script runs on the one primary of that slot.
    presence: redisPresenceStore(() => pub),
    // History keys share their channel's slot: each script runs on the primary of that slot, where an SPUBLISH must run too.
    history: redisHistory({ client: () => pub as unknown as RedisHistoryClient | undefined, sharded, own: (channel) => ownDeliveries(channel) }),
    async start(h) {
      handlers = h;
      lastError = undefined;
      const cluster = new Cluster(seeds, {
        ...spec.cluster.clusterOptions,
        lazyConnect: true,
        // At-most-once: a publish while the whole cluster is unreachable fails now, it is not sent later.
        enableOfflineQueue: false,
        // A publish (or history / presence script) to a node that stopped answering fails within commandTimeout.
        redisOptions: { commandTimeout: 5000, keepAlive: 10_000, ...spec.redisOptions, ...spec.cluster.clusterOptions?.redisOptions, connectionName: `${baseName}-publisher` },
      });
      cluster.on('error', (error: Error) => (lastError = error));
      pub = cluster;
      subs = new ShardSubscribers(
        {
          route,
          refresh,
          open,
          message: (m) => handlers?.message(unframeMessage(m)),
          down: (at, error) => handlers?.connection({ type: 'down', at, ...((error ?? lastError) ? { error: error ?? lastError } : {}) }),
          up: (downAt, upAt) => handlers?.connection({ type: 'resubscribed', downAt, upAt }),
        },
        sharded,
      );
      try {
        await cluster.connect();
      } catch (error) {
        cluster.disconnect();
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`cannot connect to the Redis Cluster at ${seeds.map(nodeKey).join(',')}: ${reason}`, { cause: error });
      }
    },
    publish(channel, data) {
      let cluster: Cluster;
      try {
        cluster = publisher();
      } catch (error) {
        return Promise.reject(error as Error);
      }
      if (sharded) return cluster.spublish(channel, data).then((total) => Math.max(0, Number(total) - ownDeliveries(channel)));
      const hub = cluster.slots[HUB_SLOT]?.[0];
      const node = hub === undefined ? undefined : cluster.nodes('master').find((n) => nodeKey(n.options) === hub);
      // PUBLISH has no key, so ioredis cannot follow a failover for it: a missing or failing
      // meeting primary makes us reload the slot map (once at a time) for the next publish.
      if (!node) {
        void refresh();
        return Promise.reject(new Error('no Redis Cluster primary is known to serve the pubsub meeting slot'));
      }
      return node.publish(channel, data).then(
        (total) => Math.max(0, Number(total) - ownDeliveries(channel)),
        (error: unknown) => {
          void refresh();
          throw error;
        },
      );
    },
    async subscribe(topic, kind) {
      if (kind === 'pattern') {
        if (sharded) throw new InvalidOptionError('sharded', `Redis sharded pub/sub has no pattern subscriptions; cannot subscribe to "${topic}"`);
        patterns.set(topic, compileChannelPattern(topic));
      }
      if (!subs) throw new Error('the Redis Cluster pubsub adapter is not started');
      try {
        await subs.subscribe(topic, kind);
      } catch (error) {
        if (kind === 'pattern') patterns.delete(topic);
        throw error;
      }
    },
    async unsubscribe(topic, kind) {
      if (kind === 'pattern') patterns.delete(topic);
      await subs?.unsubscribe(topic, kind);
    },
    async close(closeOptions = {}) {
      handlers = undefined;
      const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      const [cluster, subscribers] = [pub, subs];
      pub = undefined;
      subs = undefined;
      await Promise.all([
        subscribers?.close(timeoutMs, closeOptions.force === true),
        (async () => {
          if (!cluster) return;
          if (closeOptions.force || cluster.status !== 'ready') return cluster.disconnect();
          const quit = cluster.quit().then(
            () => undefined,
            () => undefined,
          );
          if (!(await drainWithin(quit, timeoutMs))) cluster.disconnect();
        })(),
      ]);
    },
  };
}
