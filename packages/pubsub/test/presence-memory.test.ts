import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import type { PubSubAdapter } from '@events/core';
import { type PresenceContext, presenceConformance } from './presence-conformance.js';

presenceConformance('memory', async (): Promise<PresenceContext> => {
  const hub = createMemoryHub();
  const nodes = new Map<PubSub, PubSubAdapter>();
  return {
    async node(options = {}) {
      const adapter = memoryPubSub({ hub });
      // The cut node's failing heartbeats are reported; they are expected here.
      const pubsub = createPubSub({ adapter, onError: () => undefined, ...options });
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
