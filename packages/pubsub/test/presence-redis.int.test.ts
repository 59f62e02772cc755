/**
 * Presence on real Redis: the shared conformance suite (each node through its own cuttable TCP
 * proxy), plus what only Redis has: the keys' names, slots and expiry, and cleanup.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, randomId, startTcpProxy, type TcpProxy } from '@events/testing';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { presenceKeys } from '../src/adapters/redis-presence.js';
import { type PresenceContext, presenceConformance } from './presence-conformance.js';

function redisPresenceContext(): PresenceContext {
  const nodes = new Map<PubSub, TcpProxy>();
  return {
    async node(options = {}) {
      const proxy = await startTcpProxy(REDIS_URL);
      const pubsub = createPubSub({ adapter: redisPubSub({ url: proxy.url, redisOptions: { retryStrategy: () => 20 } }), onError: () => undefined, ...options });
      await pubsub.start();
      nodes.set(pubsub, proxy);
      return pubsub;
    },
    async cut(node) {
      const proxy = nodes.get(node)!;
      proxy.refuse();
      proxy.cut();
    },
    async restore(node) {
      nodes.get(node)!.resume();
    },
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close()));
      await Promise.all([...nodes.values()].map((p) => p.close()));
    },
  };
}

presenceConformance('redis', async () => redisPresenceContext());

describe('presence on Redis: keys', () => {
  const admin = new Redis(REDIS_URL);
  afterAll(() => admin.quit());

  it('keeps two keys per channel in one cluster slot, expiring by themselves, and none after the last member left', async () => {
    const namespace = `p${randomId()}`;
    const channel = `room:${randomId()}`;
    const pubsub = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, presence: { ttlMs: 2000, heartbeatMs: 500 } });
    try {
      const handle = await pubsub.join(channel, { user: 'ada' });
      // One hash tag, the transport channel: both keys hash to the same slot (and to the channel's own).
      const [zset, hash] = presenceKeys(`${namespace}:${channel}`);
      expect(zset).toBe(`{${namespace}:${channel}}:presence`);
      expect(hash).toBe(`{${namespace}:${channel}}:presence:info`);
      expect(await admin.type(zset)).toBe('zset');
      expect(await admin.type(hash)).toBe('hash');
      // Each key lives ttlMs + 1 s past the last write at most.
      for (const key of [zset, hash]) {
        const pttl = await admin.pttl(key);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(3000);
      }
      const score = Number(await admin.zscore(zset, handle.member.id));
      const [seconds, micros] = await admin.time();
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      expect(score - redisNow).toBeGreaterThan(0);
      expect(score - redisNow).toBeLessThanOrEqual(2000);
      await handle.leave();
      expect(await admin.zcard(zset)).toBe(0);
      expect(await admin.exists(zset, hash)).toBe(0);
    } finally {
      await pubsub.close();
    }
  });
});
