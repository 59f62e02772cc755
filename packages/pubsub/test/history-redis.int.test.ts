import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { REDIS_URL, startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { historyConformance, type HistoryContext } from './history-conformance.js';

/** Real Redis; every node has its own connections through its own cuttable proxy, as a process would. */
export function redisHistoryContext(options: { sharded?: boolean } = {}): HistoryContext {
  const nodes = new Map<PubSub, { proxy: TcpProxy; downs: number }>();
  return {
    globs: options.sharded !== true,
    async node(settings) {
      const proxy = await startTcpProxy(REDIS_URL);
      const pubsub = createPubSub({
        adapter: redisPubSub({ url: proxy.url, sharded: options.sharded ?? false, redisOptions: { retryStrategy: () => 20 } }),
        ...settings,
      });
      await pubsub.start();
      const entry = { proxy, downs: 0 };
      pubsub.on('down', () => void (entry.downs += 1));
      nodes.set(pubsub, entry);
      return pubsub;
    },
    async cut(node) {
      const entry = nodes.get(node)!;
      const before = entry.downs;
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
    },
  };
}

historyConformance('redis', async () => redisHistoryContext());
historyConformance('redis, sharded pub/sub', async () => redisHistoryContext({ sharded: true }));
