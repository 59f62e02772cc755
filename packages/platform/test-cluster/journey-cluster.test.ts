/**
 * The Redis journey store on a Redis Cluster (`npm run test:cluster`): the shared store suite, so
 * the one-slot layout (every key under the `{journey}` hash tag, the write script building its keys
 * from the prefix) holds on a real cluster. A random prefix; every key deleted after.
 */
import { REDIS_CLUSTER_NODES } from '@events/testing';
import { Cluster } from 'ioredis';
import { expect, it } from 'vitest';
import { redisJourneyStore } from '../src/journey/redis.js';
import { redisJourneyFixture } from '../test/journey-redis-fixture.js';
import { journeyStoreSuite, signupSteps } from '../test/journey-suite.js';

const nodes = REDIS_CLUSTER_NODES.map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) }));
const admin = new Cluster(nodes);

/** Every key of one prefix: they share a slot, so one primary holds them all. */
async function keysOf(prefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of admin.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:{journey}:*`, 'COUNT', 1000);
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found];
}

const fixture = redisJourneyFixture({ admin, keysOf, deleteBatch: 200, connection: { cluster: { nodes: REDIS_CLUSTER_NODES } } });

journeyStoreSuite('redis cluster', fixture.make);

it('redis cluster: every key of the store is in one slot', async () => {
  const prefix = fixture.prefix();
  const store = await redisJourneyStore({ cluster: { nodes: REDIS_CLUSTER_NODES }, prefix, flushEveryMs: 5 });
  for (const step of signupSteps('one-slot', 'ada@example.com')) store.record(step);
  await store.flush();
  expect(store.stats().dropped).toBe(0);
  const keys = await keysOf(prefix);
  expect(keys.length).toBeGreaterThan(3);
  const slots = new Set(await Promise.all(keys.map((key) => admin.call('CLUSTER', 'KEYSLOT', key))));
  expect(slots.size).toBe(1);
  await store.close();
});
