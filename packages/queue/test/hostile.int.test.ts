/**
 * Hostile input on the BullMQ queues (property-based, bounded runs): a foreign producer (a plain
 * BullMQ Queue) adds jobs with random JSON, bare payloads, envelopes with wrong names or
 * non-string headers, huge strings, foreign job names, and data that is not JSON at all. The
 * worker must stay up, the error hook must hear of every bad job, every bad job must be
 * dead-lettered with its raw data, and every good job must reach the handler intact. What counts
 * as good is core's one rule (envelopeFromTransport), the bus's too.
 */
import fc from 'fast-check';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeFromTransport, type ErrorEvent } from '@events/core';
import { REDIS_URL, waitFor } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createQueue, type Queue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';

const NAME = 'hostile';

type Foreign = { kind: 'json'; data: unknown; name: string } | { kind: 'raw'; text: string };

const envelopeLike = fc.record({
  id: fc.string({ maxLength: 12 }),
  name: fc.oneof(fc.constant(NAME), fc.string({ maxLength: 12 })),
  payload: fc.jsonValue({ maxDepth: 3 }),
  headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
  occurredAt: fc.constant(new Date(0).toISOString()),
});

const foreign: fc.Arbitrary<Foreign> = fc.oneof(
  fc.record({ kind: fc.constant('json' as const), data: fc.jsonValue({ maxDepth: 4 }), name: fc.constant(NAME) }),
  fc.record({ kind: fc.constant('json' as const), data: envelopeLike, name: fc.constant(NAME) }),
  fc.record({ kind: fc.constant('json' as const), data: fc.jsonValue({ maxDepth: 2 }), name: fc.string({ minLength: 1, maxLength: 16 }).filter((n) => n !== NAME) }),
  fc.record({ kind: fc.constant('json' as const), data: fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)), name: fc.constant(NAME) }),
  fc.record({ kind: fc.constant('raw' as const), text: fc.string({ minLength: 1, maxLength: 40 }).filter((t) => !isJson(t)) }), // BullMQ reads empty data as {}
);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What the handler must receive for a job, or undefined when the job must be dead-lettered. */
function expectedPayload(item: Foreign): { payload: unknown } | undefined {
  if (item.kind === 'raw' || item.name !== NAME) return undefined;
  const stored = JSON.parse(JSON.stringify(item.data)) as unknown;
  try {
    return { payload: envelopeFromTransport(stored, Buffer.alloc(0), { name: NAME, id: 'x' }).payload };
  } catch {
    return undefined;
  }
}

describe('hostile foreign producer on the BullMQ queues', () => {
  const prefix = randomPrefix();
  const heard: ErrorEvent[] = [];
  const seen = new Map<string, unknown>();
  let queue: Queue;
  let redis: Redis;
  let plain: BullQueue;

  beforeAll(async () => {
    queue = createQueue({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), onError: (e) => heard.push(e) });
    redis = new Redis(REDIS_URL);
    plain = new BullQueue(NAME, { connection: redis.duplicate(), prefix });
    await queue.process(NAME, (payload, ctx) => void seen.set(ctx.id, payload), { concurrency: 4 });
  });
  afterAll(async () => {
    await queue.close();
    await plain.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('keeps the worker up, dead-letters every bad job with its raw data, reports it, and runs every good one', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    await fc.assert(
      fc.asyncProperty(fc.array(foreign, { minLength: 1, maxLength: 6 }), async (items) => {
        const ids: string[] = [];
        for (const item of items) {
          if (item.kind === 'json') {
            const job = await plain.add(item.name, item.data, { attempts: 3 });
            ids.push(job.id!);
          } else {
            const job = await plain.add(NAME, null, { attempts: 3, delay: 60_000 });
            await redis.hset(`${prefix}:${NAME}:${job.id!}`, 'data', item.text);
            await job.promote();
            ids.push(job.id!);
          }
        }
        const letters = async () => new Map((await queue.deadLetters.list({ ids })).map((l) => [l.id, l]));
        await waitFor(async () => {
          const dead = await letters();
          return ids.every((id) => seen.has(id) || dead.has(id));
        }, 10_000, 'every job handled or dead-lettered');
        const dead = await letters();
        items.forEach((item, i) => {
          const id = ids[i]!;
          const expected = expectedPayload(item);
          if (expected) {
            expect(dead.has(id)).toBe(false);
            expect(seen.get(id)).toEqual(expected.payload);
            return;
          }
          expect(seen.has(id)).toBe(false);
          const letter = dead.get(id)!;
          expect(letter.attemptsMade).toBe(1); // no retries for data that cannot get better
          if (item.kind === 'raw') expect(letter.raw).toBe(item.text);
          else {
            // The data as stored: raw JSON when it does not decode, else what it decodes to under its own name.
            const stored = JSON.parse(JSON.stringify(item.data)) as unknown;
            if (letter.raw !== undefined) expect(JSON.parse(letter.raw)).toEqual(stored);
            else expect(letter.payload).toEqual(envelopeFromTransport(stored, Buffer.alloc(0), { name: item.name, id: id }).payload);
          }
          expect(heard.some((e) => e.kind === 'decode' && e.id === id)).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
    // Still serving: a good job after all that.
    const job = await plain.add(NAME, { after: true });
    await waitFor(() => seen.has(job.id!), 5000, 'a good job after the hostile ones');
    expect(queue.health()).toMatchObject({ phase: 'ready', connected: true });
    const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect(grownMiB).toBeLessThan(200);
  }, 60_000);
});
