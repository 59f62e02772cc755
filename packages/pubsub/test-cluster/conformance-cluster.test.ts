/**
 * The PubSub conformance suites over the Redis Cluster in classic mode (the suites use globs, which
 * sharded mode refuses), on nodes behind their own cuttable proxies (proxied-nodes.ts).
 */
import { Redis } from 'ioredis';
import type { ErrorHook } from '@events/core';
import { pubsubConformance, type ConformanceContext } from '../test/conformance.js';
import { pubsubSafetyConformance } from '../test/conformance-safety.js';
import { NODES } from './cluster-context.js';
import { proxiedNodes } from './proxied-nodes.js';

function clusterContext(): ConformanceContext {
  const nodes = proxiedNodes();
  let raw: Redis | undefined;
  return {
    async publishRaw(wireChannel, data) {
      const first = NODES[0]!;
      raw ??= new Redis({ host: first.slice(0, first.lastIndexOf(':')), port: Number(first.slice(first.lastIndexOf(':') + 1)) });
      await raw.publish(wireChannel, data);
    },
    node: (options: { onError?: ErrorHook; namespace?: string; maxPendingRequests?: number } = {}) => nodes.node({ sharded: false, settings: options }),
    cut: (node) => nodes.cut(node),
    restore: (node) => nodes.restore(node),
    async cleanup() {
      await nodes.cleanup();
      raw?.disconnect();
    },
  };
}

pubsubConformance('redis cluster (classic)', async () => clusterContext());
pubsubSafetyConformance('redis cluster (classic)', async () => clusterContext());
