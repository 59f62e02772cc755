/**
 * The one table from config to adapter factories. Adding an adapter to a tier is one row here (and
 * one file in the tier): the tiers themselves take adapter values and know no names. Each row
 * imports its adapter's subpath only when the config asks for it, so a memory-only application
 * never loads ioredis, amqplib, bullmq or pg.
 */
import type { BusAdapter, PubSubAdapter, QueueAdapter } from '@events/core';
import type { BusConfig, PubSubConfig, QueueConfig } from './config.js';

type Row<C, A> = (config: C, namespace: string | undefined) => Promise<A>;
type Rows<C extends { adapter: string }, A> = { [K in Exclude<C['adapter'], 'memory'>]: Row<Extract<C, { adapter: K }>, A> };

export const PUBSUB_ADAPTER_TABLE: Rows<PubSubConfig, PubSubAdapter> = {
  // A cluster (REDIS_CLUSTER_NODES) wins over the url, which then only names its first node.
  redis: async (c) => (await import('@events/pubsub/redis')).redisPubSub({ ...(c.cluster ? { cluster: { nodes: c.cluster.nodes } } : { url: c.url }), sharded: c.sharded === true }),
};

export const BUS_ADAPTER_TABLE: Rows<BusConfig, BusAdapter> = {
  rabbitmq: async (c, namespace) => {
    const exchange = c.exchange ?? namespace;
    return (await import('@events/bus/rabbitmq')).rabbitmqBus({ url: c.url, ...(exchange ? { exchange } : {}) });
  },
};

export const QUEUE_ADAPTER_TABLE: Rows<QueueConfig, QueueAdapter> = {
  bullmq: async (c, namespace) => {
    const prefix = c.prefix ?? namespace;
    // A cluster (REDIS_CLUSTER_NODES) wins over the url, which then only names its first node.
    return (await import('@events/queue/bullmq')).bullmqQueue({ ...(c.cluster ? { cluster: { nodes: c.cluster.nodes } } : { url: c.url }), ...(prefix ? { prefix } : {}) });
  },
  postgres: async (c, namespace) => {
    const schema = c.schema ?? (namespace && /^[a-z_][a-z0-9_]{0,62}$/.test(namespace) ? namespace : undefined);
    return (await import('@events/queue/postgres')).postgresQueue({ connectionString: c.url, migrate: c.migrate === true, ...(schema ? { schema } : {}) });
  },
};

/** The adapter a tier's config names, or undefined for memory (each tier's default). */
export async function adapterFor<C extends { adapter: string }, A>(table: Rows<C, A>, config: C, namespace: string | undefined): Promise<A | undefined> {
  if (config.adapter === 'memory') return undefined;
  const row = (table as unknown as Record<string, Row<C, A> | undefined>)[config.adapter];
  return row ? row(config, namespace) : undefined;
}
