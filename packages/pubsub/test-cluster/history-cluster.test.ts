/**
 * The history and resume suite over the Redis Cluster, in sharded mode (XADD and SPUBLISH in one
 * script on the primary of the channel's slot) and classic mode. Each node reaches every cluster
 * node through its own cuttable TCP proxies (ioredis' natMap), so `cut` is a real outage.
 */
import { Cluster } from 'ioredis';
import { startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { historyConformance, type HistoryContext } from '../test/history-conformance.js';
import { NODES } from './cluster-context.js';

function clusterHistoryContext(sharded: boolean): HistoryContext {
  const nodes = new Map<PubSub, { proxies: TcpProxy[]; downs: number }>();
  let raw: Cluster | undefined;
  return {
    globs: !sharded,
    async forge(channel, data, position) {
      raw ??= new Cluster(NODES.map((n) => ({ host: n.slice(0, n.lastIndexOf(':')), port: Number(n.slice(n.lastIndexOf(':') + 1)) })));
      const framed = Buffer.concat([Buffer.from(`\0h${position.offset}:${position.epoch}\n`, 'latin1'), data]);
      await (sharded ? raw.spublish(channel, framed) : raw.publish(channel, framed));
    },
    async node(settings) {
      const proxies = await Promise.all(NODES.map((n) => startTcpProxy(`redis://${n}`)));
      const natMap = Object.fromEntries(NODES.map((n, i) => [n, { host: '127.0.0.1', port: proxies[i]!.port }]));
      const pubsub = createPubSub({
        adapter: redisPubSub({ cluster: { nodes: proxies.map((p) => `127.0.0.1:${p.port}`), clusterOptions: { natMap } }, sharded }),
        ...settings,
      });
      await pubsub.start();
      const entry = { proxies, downs: 0 };
      pubsub.on('down', () => void (entry.downs += 1));
      nodes.set(pubsub, entry);
      return pubsub;
    },
    async cut(node) {
      const entry = nodes.get(node)!;
      const before = entry.downs;
      for (const p of entry.proxies) {
        p.refuse();
        p.cut();
      }
      await waitFor(() => entry.downs > before, 10_000, 'the node to notice the cut');
    },
    async restore(node) {
      for (const p of nodes.get(node)!.proxies) p.resume();
    },
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close({ timeoutMs: 1000 })));
      await Promise.all([...nodes.values()].flatMap((n) => n.proxies.map((p) => p.close())));
      raw?.disconnect();
    },
  };
}

historyConformance('redis cluster (sharded)', async () => clusterHistoryContext(true));
historyConformance('redis cluster (classic)', async () => clusterHistoryContext(false));
