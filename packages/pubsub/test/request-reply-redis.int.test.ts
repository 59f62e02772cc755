import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deferred, REDIS_URL } from '@events/testing';
import { redisContext } from './redis-context.js';
import { requestReplySuite } from './request-reply-suite.js';

requestReplySuite('redis', async () => redisContext());

describe('pubsub request/reply on Redis: the inbox', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(() => {
    admin.disconnect();
  });

  it('subscribes one inbox per node, on the first request only, and resubscribes it after a cut', async () => {
    const ctx = redisContext();
    try {
      const requester = await ctx.node();
      const replier = await ctx.node();
      const pattern = `${requester.namespace}:_pubsub:reply:${requester.nodeId}:*`;
      expect(await admin.call('PUBSUB', 'CHANNELS', pattern)).toEqual([]);
      await replier.reply('rr-inbox:echo', (m) => m);
      await Promise.all([1, 2, 3].map((i) => requester.request('rr-inbox:echo', i, { timeoutMs: 10_000 })));
      const inbox = (await admin.call('PUBSUB', 'CHANNELS', pattern)) as string[];
      expect(inbox).toHaveLength(1);
      // 128 random bits after the node id: not derivable from what every envelope carries.
      expect(inbox[0]).toMatch(new RegExp(`:_pubsub:reply:${requester.nodeId}:[0-9a-f]{32}$`));
      const resubscribed = deferred<void>();
      requester.on('resubscribed', () => resubscribed.resolve());
      await ctx.cut(requester);
      expect(await admin.call('PUBSUB', 'CHANNELS', pattern)).toEqual([]);
      await ctx.restore(requester);
      await resubscribed.promise;
      expect(await admin.call('PUBSUB', 'CHANNELS', pattern)).toEqual(inbox);
      expect(await requester.request('rr-inbox:echo', 'back', { timeoutMs: 10_000 })).toBe('back');
      expect(await admin.call('PUBSUB', 'CHANNELS', pattern)).toEqual(inbox);
    } finally {
      await ctx.cleanup();
    }
  });
});
