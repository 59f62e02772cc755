import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import type { PubSubAdapter } from '@events/core';
import { historyConformance, type HistoryContext } from './history-conformance.js';

async function memoryHistoryContext(): Promise<HistoryContext> {
  const hub = createMemoryHub();
  const nodes = new Map<PubSub, PubSubAdapter>();
  return {
    async node(options) {
      const adapter = memoryPubSub({ hub });
      const pubsub = createPubSub({ adapter, ...options });
      await pubsub.start();
      nodes.set(pubsub, adapter);
      return pubsub;
    },
    // A node object of no adapter: the hub hands the bytes to everyone else, as a foreign publisher would.
    forge: async (channel, data, position) => void hub.emitter.emit('message', {} as never, { channel, data, position }),
    cut: async (node) => hub.cut(nodes.get(node)!),
    restore: async (node) => hub.restore(nodes.get(node)!),
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close()));
    },
  };
}

historyConformance('memory', memoryHistoryContext);
