/**
 * PubSub nodes on the Redis Cluster, each reaching every cluster node through its own cuttable TCP
 * proxies: ioredis' `natMap` rewrites the addresses the cluster announces, so the publisher and the
 * adapter's subscriber connections all go through them, and `cut` is a real outage of that node.
 * The suites' contexts (conformance, history) share this bookkeeping.
 */
import { startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { createPubSub, type PubSub, type PubSubOptions } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { NODES } from './cluster-context.js';

export interface ProxiedNodes {
  node(options: { sharded: boolean; settings?: Omit<PubSubOptions, 'adapter'> }): Promise<PubSub>;
  cut(node: PubSub): Promise<void>;
  restore(node: PubSub): Promise<void>;
  /** Closes every node and proxy. */
  cleanup(): Promise<void>;
}

export function proxiedNodes(): ProxiedNodes {
  const nodes = new Map<PubSub, { proxies: TcpProxy[]; downs: number }>();
  return {
    async node({ sharded, settings = {} }) {
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
      nodes.clear();
    },
  };
}
