import { createMemoryAdapter, createMemoryHub, createPubSub, type PubSub } from '../src/index.js';
import type { PubSubAdapter } from '@events/core';
import { pubsubConformance } from './conformance.js';

pubsubConformance('memory', async () => {
  const hub = createMemoryHub();
  const nodes = new Map<PubSub, PubSubAdapter>();
  return {
    async node(options = {}) {
      const adapter = createMemoryAdapter({ hub });
      const pubsub = createPubSub({ adapter, ...options });
      await pubsub.start();
      nodes.set(pubsub, adapter);
      return pubsub;
    },
    cut: async (node) => hub.cut(nodes.get(node)!),
    restore: async (node) => hub.restore(nodes.get(node)!),
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close()));
    },
  };
});
