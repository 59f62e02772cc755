/**
 * The conformance context of the memory adapter, shared by the suites that run on it (memory.test.ts,
 * memory-zero-copy.test.ts, request-reply.test.ts): nodes on one hub, a foreign publisher on the
 * same hub (an adapter with no PubSub above it, sending bytes), cuts and restores per node.
 */
import type { PubSubAdapter } from '@events/core';
import { createMemoryHub, createPubSub, memoryPubSub, type MemoryPubSubOptions, type PubSub } from '../src/index.js';
import type { ConformanceContext } from './conformance.js';

export function memoryContext(options: MemoryPubSubOptions = {}): () => Promise<ConformanceContext> {
  return async () => {
    const hub = createMemoryHub();
    const nodes = new Map<PubSub, PubSubAdapter>();
    const foreign = memoryPubSub({ hub });
    return {
      // Zero-copy nodes hand handlers the sender's object (frozen unless told not to).
      ...(options.zeroCopy ? { zeroCopy: { freeze: options.freeze ?? true } } : {}),
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
