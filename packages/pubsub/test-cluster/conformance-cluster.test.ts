/**
 * The PubSub conformance suites over the Redis Cluster in classic mode (the suites use globs, which
 * sharded mode refuses). Each node reaches every cluster node through its own cuttable TCP
 * proxies: ioredis' `natMap` rewrites the addresses the cluster announces, so the publisher and the
 * adapter's subscriber connections both go through them, and `cut` is a real outage of that node.
 */
import { Redis } from 'ioredis';
import type { ErrorHook } from '@events/core';
import { startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { pubsubConformance, type ConformanceContext } from '../test/conformance.js';
import { pubsubSafetyConformance } from '../test/conformance-safety.js';
import { NODES } from './cluster-context.js';

function clusterContext(): ConformanceContext {
  const nodes = new Map<PubSub, { proxies: TcpProxy[]; downs: number }>();
  let raw: Redis | undefined;
  return {
    async publishRaw(wireChannel, data) {
      const first = NODES[0]!;
      raw ??= new Redis({ host: first.slice(0, first.lastIndexOf(':')), port: Number(first.slice(first.lastIndexOf(':') + 1)) });
      await raw.publish(wireChannel, data);
    },
    async node(options: { onError?: ErrorHook; namespace?: string; maxPendingRequests?: number } = {}) {
      const proxies = await Promise.all(NODES.map((n) => startTcpProxy(`redis://${n}`)));
      const natMap = Object.fromEntries(NODES.map((n, i) => [n, { host: '127.0.0.1', port: proxies[i]!.port }]));
      const pubsub = createPubSub({
        adapter: redisPubSub({ cluster: { nodes: proxies.map((p) => `127.0.0.1:${p.port}`), clusterOptions: { natMap } } }),
        ...(options.onError ? { onError: options.onError } : {}),
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.maxPendingRequests ? { maxPendingRequests: options.maxPendingRequests } : {}),
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

pubsubConformance('redis cluster (classic)', async () => clusterContext());
pubsubSafetyConformance('redis cluster (classic)', async () => clusterContext());
