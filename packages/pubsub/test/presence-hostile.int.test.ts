/**
 * Hostile input to presence (fast-check, bounded runs): any info a caller (or an `authorize` hook
 * fed by a client) passes to `join`, and foreign writers on the same Redis (junk in the presence
 * keys, forged events). Each run: a member is stored only within maxInfoBytes, everything else is
 * refused with a typed error (InvalidOptionError, or SerializationError for what JSON cannot carry), and junk never reaches a listener or a presence() answer.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, SerializationError, type ErrorEvent } from '@events/core';
import { REDIS_URL, randomId, waitFor } from '@events/testing';
import { createPubSub, type PresenceEvent, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { presenceKeys } from '../src/adapters/redis-presence.js';

const MAX_INFO = 600;
const namespace = `p${randomId()}`;
const errors: ErrorEvent[] = [];
let pubsub: PubSub;
let admin: Redis;

beforeAll(async () => {
  admin = new Redis(REDIS_URL);
  pubsub = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace, onError: (e) => void errors.push(e), presence: { maxInfoBytes: MAX_INFO } });
  await pubsub.start();
});

afterAll(async () => {
  await pubsub.close();
  await admin.quit();
});

describe('presence: hostile input', () => {
  it('stores a member only within maxInfoBytes and refuses any other info with a typed error (fast-check)', async () => {
    const channel = `room:${randomId()}`;
    const info = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ minLength: 0, maxLength: 5000 }),
      fc.constantFrom(1n, () => 1, Symbol('s'), { toJSON: () => { throw new Error('boom'); } }, 'x'.repeat(100_000)),
    );
    const text = fc.oneof(fc.string({ maxLength: 700 }), fc.constant(undefined), fc.integer() as fc.Arbitrary<unknown> as fc.Arbitrary<string>);
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(info, text, text, async (value, user, clientId) => {
        const outcome = await pubsub.join(channel, { info: value, ...(user !== undefined ? { user } : {}), ...(clientId !== undefined ? { clientId } : {}) }).then(
          (handle) => handle,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        );
        if (outcome instanceof Error) {
          expect(outcome instanceof InvalidOptionError || outcome instanceof SerializationError).toBe(true);
          return;
        }
        stored += 1;
        const bytes = Buffer.byteLength(JSON.stringify(outcome.member));
        expect(bytes).toBeLessThanOrEqual(MAX_INFO);
        await outcome.leave();
      }),
      { numRuns: 150 },
    );
    expect(stored).toBeGreaterThan(0);
    expect((await pubsub.presence(channel)).total).toBe(0);
    const [zset, hash] = presenceKeys(`${namespace}:${channel}`);
    expect(await admin.exists(zset, hash)).toBe(0);
  });

  it('leaves junk written into the presence keys out of answers and drops forged events (fast-check)', async () => {
    const channel = `room:${randomId()}`;
    const [zset, hash] = presenceKeys(`${namespace}:${channel}`);
    const real = await pubsub.join(channel, { user: 'real' });
    const events: PresenceEvent[] = [];
    await pubsub.onPresence(channel, (e) => void events.push(e));
    const raw = new Redis(REDIS_URL);
    try {
      await fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null')), async (id, data) => {
          const junkId = `junk-${id}`;
          await admin.zadd(zset, Date.now() + 60_000, junkId);
          await admin.hset(hash, junkId, data);
          const answer = await pubsub.presence(channel, { limit: 1000 });
          // Junk that happens to be a well-formed member is a member; anything else is left out.
          for (const m of answer.members) expect(typeof m.id === 'string' && typeof m.node === 'string').toBe(true);
          expect(answer.members.some((m) => m.id === real.member.id)).toBe(true);
          await raw.publish(`${namespace}:_pubsub:presence:${channel}`, data);
          await admin.zrem(zset, junkId);
          await admin.hdel(hash, junkId);
        }),
        { numRuns: 60 },
      );
      // A real event still arrives after the junk: the listener is alive.
      const other = await pubsub.join(channel, { user: 'after' });
      await waitFor(() => events.some((e) => e.member.id === other.member.id), 5000, 'a real event after the junk');
      expect(events.every((e) => typeof e.member.id === 'string' && (e.type === 'join' || e.type === 'leave'))).toBe(true);
      expect(errors.some((e) => e.kind === 'decode')).toBe(true);
      await other.leave();
      await real.leave();
    } finally {
      await raw.quit();
    }
  });
});
