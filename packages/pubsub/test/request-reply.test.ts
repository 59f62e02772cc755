import type { PubSubAdapter } from '@events/core';
import { createMemoryHub, createPubSub, memoryPubSub, type MemoryPubSubOptions, type PubSub } from '../src/index.js';
import type { ConformanceContext } from './conformance.js';
import { requestReplySuite } from './request-reply-suite.js';

function memoryContext(options: MemoryPubSubOptions): () => Promise<ConformanceContext> {
  return async () => {
    const hub = createMemoryHub();
    const nodes = new Map<PubSub, PubSubAdapter>();
    const foreign = memoryPubSub({ hub });
    return {
      async publishRaw(wireChannel, data) {
        await foreign.publish(wireChannel, Buffer.from(data));
      },
      async node(nodeOptions = {}) {
        const adapter = memoryPubSub({ hub, ...options });
        const pubsub = createPubSub({ adapter, ...nodeOptions });
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
  };
}

requestReplySuite('memory', memoryContext({}));
requestReplySuite('memory, zero-copy', memoryContext({ zeroCopy: true }));
