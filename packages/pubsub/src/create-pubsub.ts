/**
 * `createPubSub`: one API over every adapter, chosen by config. The Redis adapter is loaded with a
 * dynamic import on first use, so a memory-only application never loads ioredis.
 */
import { ConfigError, jsonSerializer, type MessageMap, type PubSubAdapter, type SchemaMap, type Serializer } from '@events/core';
import type { RedisAdapterOptions } from './adapters/redis.js';
import { createMemoryAdapter, type MemoryAdapterOptions } from './adapters/memory.js';
import { PubSubImpl } from './pubsub.js';
import type { ErrorHook, PubSub } from './types.js';

export interface PubSubOptions<M extends MessageMap = MessageMap> {
  /** `memory`, `redis`, or an adapter object you built (e.g. `createRedisAdapter(...)`). Default: `memory`. */
  adapter?: 'memory' | 'redis' | PubSubAdapter;
  /** Options of the Redis adapter, when `adapter` is `redis`. Default: redis://127.0.0.1:6379. */
  redis?: RedisAdapterOptions;
  /** Options of the memory adapter, when `adapter` is `memory`. Default: a private hub. */
  memory?: MemoryAdapterOptions;
  /** Receives handler failures, undecodable incoming messages and transport errors. Default: console.error. */
  onError?: ErrorHook;
  /** Default: core's JSON serializer. */
  serializer?: Serializer;
  /** Standard Schema per channel name, checked before a broadcast leaves. Default: none. */
  schemas?: SchemaMap<M>;
  /** Id stamped on every envelope this node sends. Default: a fresh UUIDv7. */
  nodeId?: string;
}

/** An adapter whose module is imported on `start`, keeping its dependency out of unrelated apps. */
function lazyAdapter(kind: string, load: () => Promise<PubSubAdapter>): PubSubAdapter {
  let loaded: Promise<PubSubAdapter> | undefined;
  // Once loaded, calls go straight through: no extra promise hop per published message.
  let ready: PubSubAdapter | undefined;
  const get = (): Promise<PubSubAdapter> =>
    (loaded ??= load().then((adapter) => (ready = adapter)));
  return {
    kind,
    start: async (handlers) => (await get()).start(handlers),
    publish: (channel, data) => (ready ? ready.publish(channel, data) : get().then((a) => a.publish(channel, data))),
    subscribe: async (topic, k) => (await get()).subscribe(topic, k),
    unsubscribe: async (topic, k) => (await get()).unsubscribe(topic, k),
    close: async () => {
      if (loaded) await (await loaded).close();
    },
  };
}

function resolveAdapter<M extends MessageMap>(options: PubSubOptions<M>): PubSubAdapter {
  const adapter = options.adapter ?? 'memory';
  if (typeof adapter === 'object') return adapter;
  if (adapter === 'memory') return createMemoryAdapter(options.memory);
  if (adapter === 'redis') {
    return lazyAdapter('redis', async () => (await import('./adapters/redis.js')).createRedisAdapter(options.redis ?? {}));
  }
  throw new ConfigError(`unknown pubsub adapter ${JSON.stringify(adapter)}: use "memory", "redis" or an adapter object`);
}

export function createPubSub<M extends MessageMap = MessageMap>(options: PubSubOptions<M> = {}): PubSub<M> {
  return new PubSubImpl<M>({
    adapter: resolveAdapter(options),
    serializer: options.serializer ?? jsonSerializer,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.schemas ? { schemas: options.schemas } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
  });
}
