/** Four gateway processes over the Redis Cluster, in both modes; see ../test/many-gateways.ts for the scenario. */
import { describe, it } from 'vitest';
import { createPubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { manyGateways } from '../test/many-gateways.js';
import { NODES } from './cluster-context.js';

describe('many gateway processes over a Redis Cluster', () => {
  for (const sharded of [true, false]) {
    it(`${sharded ? 'sharded' : 'classic'}: a broadcast reaches every client once per subscription; a SIGKILLed gateway's clients move on and resubscribe`, async () => {
      await manyGateways({
        label: `redis cluster ${sharded ? 'sharded' : 'classic'}`,
        env: { CLUSTER_NODES: NODES.join(','), SHARDED: String(sharded) },
        publisher: (namespace) => createPubSub({ adapter: redisPubSub({ cluster: { nodes: NODES }, sharded }), namespace }),
        // Sharded pub/sub has no globs.
        globs: !sharded,
      });
    }, 240_000);
  }
});
