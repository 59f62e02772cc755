/** Redis nodes for the tests: each node gets its own connections through its own cuttable proxy. */
import { Redis } from 'ioredis';
import type { ErrorHook } from '@events/core';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import type { ConformanceContext } from './conformance.js';
import { REDIS_URL, startTcpProxy, waitFor, type TcpProxy } from '@events/testing';

export interface RedisNodeOptions {
  onError?: ErrorHook;
  sharded?: boolean;
  /** ioredis connection name prefix, to find this node's connections in CLIENT LIST. */
  name?: string;
  namespace?: string;
  maxPendingRequests?: number;
}

/** `sub=` and `psub=` of every connection named `<name>-subscriber`, from CLIENT LIST. */
export async function subscriberConnections(admin: Redis, name: string): Promise<Array<{ sub: number; psub: number; ssub: number }>> {
  const list = (await admin.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name}-subscriber `))
    .map((line) => {
      const field = (key: string): number => Number(new RegExp(`(?:^| )${key}=(\\d+)`).exec(line)?.[1] ?? NaN);
      return { sub: field('sub'), psub: field('psub'), ssub: field('ssub') };
    });
}

export function redisContext(): ConformanceContext & { node(options?: RedisNodeOptions): Promise<PubSub>; proxyOf(node: PubSub): TcpProxy } {
  const nodes = new Map<PubSub, { proxy: TcpProxy; downs: number }>();
  let raw: Redis | undefined;
  return {
    async publishRaw(wireChannel, data) {
      raw ??= new Redis(REDIS_URL);
      await raw.publish(wireChannel, data);
    },
    async node(options: RedisNodeOptions = {}) {
      const proxy = await startTcpProxy(REDIS_URL);
      const pubsub = createPubSub({
        // A short fixed retry keeps reconnects quick in tests; the default backs off up to 2 s.
        adapter: redisPubSub({
          url: proxy.url,
          sharded: options.sharded ?? false,
          redisOptions: { retryStrategy: () => 20, ...(options.name ? { connectionName: options.name } : {}) },
        }),
        ...(options.onError ? { onError: options.onError } : {}),
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.maxPendingRequests ? { maxPendingRequests: options.maxPendingRequests } : {}),
      });
      await pubsub.start();
      const entry = { proxy, downs: 0 };
      pubsub.on('down', () => void (entry.downs += 1));
      nodes.set(pubsub, entry);
      return pubsub;
    },
    proxyOf(node) {
      return nodes.get(node)!.proxy;
    },
    async cut(node) {
      const entry = nodes.get(node)!;
      const before = entry.downs;
      // Down until restored: live connections dropped, reconnects refused.
      entry.proxy.refuse();
      entry.proxy.cut();
      await waitFor(() => entry.downs > before, 10_000, 'the node to notice the cut');
    },
    async restore(node) {
      nodes.get(node)!.proxy.resume();
    },
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close({ timeoutMs: 1000 })));
      await Promise.all([...nodes.values()].map((n) => n.proxy.close()));
      raw?.disconnect();
    },
  };
}
