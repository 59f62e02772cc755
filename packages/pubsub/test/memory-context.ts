/**
 * The memory adapter's test contexts. `memoryNodes`: nodes on one hub, cut and restored per node
 * (the presence suite, presence-memory.test.ts). `memoryContext`: those nodes plus a foreign
 * publisher on the same hub (an adapter with no PubSub above it, sending bytes), the conformance
 * context of memory.test.ts, memory-zero-copy.test.ts and request-reply.test.ts.
 */
import type { PubSubAdapter } from '@events/core';
import { createMemoryHub, createPubSub, memoryPubSub, type MemoryHub, type MemoryPubSubOptions, type PubSub, type PubSubOptions } from '../src/index.js';
import type { ConformanceContext } from './conformance.js';

export interface MemoryNodes {
  readonly hub: MemoryHub;
  /** A started node on the hub: `defaults`, then `options`, with an adapter of its own. */
  node(options?: PubSubOptions): Promise<PubSub>;
  cut(node: PubSub): Promise<void>;
  restore(node: PubSub): Promise<void>;
  cleanup(): Promise<void>;
}

export function memoryNodes(adapterOptions: MemoryPubSubOptions = {}, defaults: PubSubOptions = {}): MemoryNodes {
  const hub = createMemoryHub();
  const nodes = new Map<PubSub, PubSubAdapter>();
  return {
    hub,
    async node(options = {}) {
      const adapter = memoryPubSub({ hub, ...adapterOptions });
      const pubsub = createPubSub({ adapter, ...defaults, ...options });
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
}

export function memoryContext(options: MemoryPubSubOptions = {}): () => Promise<ConformanceContext> {
  return async () => {
    const nodes = memoryNodes(options);
    const foreign = memoryPubSub({ hub: nodes.hub });
    return {
      // Zero-copy nodes hand handlers the sender's object (frozen unless told not to).
      ...(options.zeroCopy ? { zeroCopy: { freeze: options.freeze ?? true } } : {}),
      async publishRaw(wireChannel, data) {
        await foreign.publish(wireChannel, Buffer.from(data));
      },
      node: (nodeOptions) => nodes.node(nodeOptions),
      cut: nodes.cut,
      restore: nodes.restore,
      cleanup: nodes.cleanup,
    };
  };
}
