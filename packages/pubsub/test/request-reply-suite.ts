/**
 * Request/reply through one reply inbox per node, for every adapter (memory in
 * request-reply.test.ts, Redis in request-reply-redis.int.test.ts): many requests at once each get
 * their own answer, deadlines, the cap, late and forged replies dropped and counted, and the inbox
 * alive again after the node's transport was cut and restored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackpressureError, TimeoutError } from '@events/core';
import { deferred, randomId, waitFor } from '@events/testing';
import type { PubSub } from '../src/index.js';
import type { ConformanceContext } from './conformance.js';

function inboxes(node: PubSub): string[] {
  return [...node.subscriptions().keys()].filter((t) => t.startsWith('_pubsub:reply:'));
}

export function requestReplySuite(name: string, factory: () => Promise<ConformanceContext>): void {
  describe(`pubsub request/reply: ${name}`, () => {
    let ctx: ConformanceContext;
    let requester: PubSub;
    let replier: PubSub;
    let ns: string;

    beforeEach(async () => {
      ctx = await factory();
      requester = await ctx.node();
      replier = await ctx.node();
      ns = randomId('rr');
    });
    afterEach(async () => {
      await ctx.cleanup();
    });

    it('answers 500 concurrent requests, each with its own reply, through one inbox', async () => {
      await replier.reply(`${ns}:double`, (m) => ({ n: m as number, doubled: (m as number) * 2 }));
      const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => requester.request(`${ns}:double`, i, { timeoutMs: 20_000 })));
      expect(answers).toEqual(Array.from({ length: 500 }, (_, i) => ({ n: i, doubled: i * 2 })));
      expect(inboxes(requester)).toHaveLength(1);
      expect(requester.health().counts).toMatchObject({ pendingRequests: 0, repliesDropped: 0 });
    });

    it('rejects with TimeoutError at its deadline and leaves nothing waiting', async () => {
      const started = Date.now();
      const err = await requester.request(`${ns}:nobody`, 1, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
      expect(requester.health().counts.pendingRequests).toBe(0);
    });

    it('refuses the request past maxPendingRequests at once with BackpressureError; the waiting ones still complete', async () => {
      const small = await ctx.node({ maxPendingRequests: 3 });
      const gate = deferred<void>();
      await replier.reply(`${ns}:slow`, async (m) => {
        await gate.promise;
        return m;
      });
      const waiting = [1, 2, 3].map((i) => small.request(`${ns}:slow`, i, { timeoutMs: 20_000 }));
      await waitFor(() => small.health().counts.pendingRequests === 3);
      const started = Date.now();
      await expect(small.request(`${ns}:slow`, 4)).rejects.toBeInstanceOf(BackpressureError);
      expect(Date.now() - started).toBeLessThan(1000);
      gate.resolve();
      expect(await Promise.all(waiting)).toEqual([1, 2, 3]);
      expect(await small.request(`${ns}:slow`, 5, { timeoutMs: 20_000 })).toBe(5);
    });

    it('drops and counts a reply that comes after its deadline, and one naming no request', async () => {
      const gate = deferred<void>();
      const answered = deferred<void>();
      await replier.reply(`${ns}:late`, async (m) => {
        await gate.promise;
        setImmediate(() => answered.resolve());
        return m;
      });
      await expect(requester.request(`${ns}:late`, 1, { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
      gate.resolve();
      await answered.promise;
      await waitFor(() => requester.health().counts.repliesDropped === 1, 10_000, 'the late reply to be dropped');
      // A forged reply on the inbox, with an id no request of this node has.
      const [inbox] = inboxes(requester);
      const forged = { id: 'f', name: inbox, payload: 'forged', occurredAt: new Date().toISOString(), headers: {}, correlationId: 'not-a-request' };
      await ctx.publishRaw(`${requester.namespace}:${inbox!}`, JSON.stringify(forged));
      await waitFor(() => requester.health().counts.repliesDropped === 2, 10_000, 'the forged reply to be dropped');
      await replier.reply(`${ns}:echo`, (m) => m);
      expect(await requester.request(`${ns}:echo`, 'after', { timeoutMs: 10_000 })).toBe('after');
      expect(requester.health().counts.pendingRequests).toBe(0);
    });

    it('keeps its inbox across a cut and restore of the transport: requests after it are answered', async () => {
      await replier.reply(`${ns}:echo`, (m) => m);
      expect(await requester.request(`${ns}:echo`, 'before', { timeoutMs: 10_000 })).toBe('before');
      const [inbox] = inboxes(requester);
      const resubscribed = deferred<void>();
      requester.on('resubscribed', () => resubscribed.resolve());
      await ctx.cut(requester);
      await ctx.restore(requester);
      await resubscribed.promise;
      expect(await requester.request(`${ns}:echo`, 'after', { timeoutMs: 10_000 })).toBe('after');
      expect(inboxes(requester)).toEqual([inbox]);
    });
  });
}
