/**
 * What the Redis journey store's tests share, on one Redis (journey-redis.int.test.ts) and on a Redis
 * Cluster (test-cluster/journey-cluster.test.ts): a random key prefix per store, every key of every
 * prefix deleted after all, and the stores the shared suite (journey-suite.ts) runs against.
 */
import { randomId } from '@events/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { redisJourneyStore, type RedisJourneyOptions } from '../src/journey/redis.js';
import type { MakeStore } from './journey-suite.js';

export interface RedisJourneyFixtureOptions {
  /** The test's own client, to count and delete keys; quit after all. */
  admin: Redis | Cluster;
  /** Every key of one prefix (`<prefix>:{journey}:*`). */
  keysOf(prefix: string): Promise<string[]>;
  /** Keys per DEL when a prefix's keys are deleted. */
  deleteBatch: number;
  /** Where the suite's stores connect. */
  connection: Pick<RedisJourneyOptions, 'url' | 'cluster'>;
}

export interface RedisJourneyFixture {
  /** A fresh random prefix; its keys are deleted after all. */
  prefix(): string;
  /** The stores of the shared suite: a fresh prefix each, what they hold counted, their keys deleted at cleanup. */
  make: MakeStore;
}

export function redisJourneyFixture({ admin, keysOf, deleteBatch, connection }: RedisJourneyFixtureOptions): RedisJourneyFixture {
  const prefixes: string[] = [];

  async function removeKeys(prefix: string): Promise<void> {
    const keys = await keysOf(prefix);
    for (let i = 0; i < keys.length; i += deleteBatch) await admin.del(...keys.slice(i, i + deleteBatch));
  }

  afterAll(async () => {
    for (const prefix of prefixes) await removeKeys(prefix);
    await admin.quit();
  });

  const prefix = (): string => {
    const made = randomId('journey');
    prefixes.push(made);
    return made;
  };

  const make: MakeStore = async (bounds) => {
    const storePrefix = prefix();
    const store = await redisJourneyStore({ ...connection, prefix: storePrefix, flushEveryMs: 5, ...bounds });
    return {
      store,
      held: async () => {
        const journeys = await admin.zcard(`${storePrefix}:{journey}:recent`);
        let maxPerKey = 0;
        for (const key of await keysOf(storePrefix)) if (key.includes('}:i:')) maxPerKey = Math.max(maxPerKey, await admin.zcard(key));
        return { journeys, maxPerKey };
      },
      cleanup: async () => {
        await store.close({ timeoutMs: 2000 });
        await removeKeys(storePrefix);
      },
    };
  };

  return { prefix, make };
}
