/**
 * A foreign publisher on the same Redis (fast-check, bounded runs): a plain ioredis client puts
 * random bytes, random JSON, envelopes whose name differs from the channel, non-string headers and
 * forged `pubsub-node` / `pubsub-seq` headers on a channel our node subscribes to (as a channel and
 * through a pattern). Each run: the node stays up, every hostile message is either delivered once
 * per subscription (core's foreign-producer rule accepts it) or refused once per subscription
 * (error hook `decode`), never both; a real publisher's stream keeps flowing with no false gap.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, envelopeFromTransport, type ErrorEvent } from '@events/core';
import { REDIS_URL, randomId, waitFor } from '@events/testing';
import { createPubSub, NODE_HEADER, SEQ_HEADER, type GapEvent, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';

const ns = randomId('hostile');
const channel = `${ns}:room`;
const wire = `events:${channel}`;
let publisher: PubSub;
let subscriber: PubSub;
let raw: Redis;
const errors: ErrorEvent[] = [];
const gaps: GapEvent[] = [];
let delivered = 0;
let good = 0;

beforeAll(async () => {
  publisher = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }) });
  subscriber = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), onError: (e) => void errors.push(e) });
  subscriber.on('gap', (g) => void gaps.push(g));
  const count = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && (m as { real?: unknown }).real === ns) good += 1;
    else delivered += 1;
  };
  await subscriber.subscribe(channel, count);
  await subscriber.subscribe(`${ns}:*`, count);
  await publisher.start();
  raw = new Redis(REDIS_URL);
});

afterAll(async () => {
  raw.disconnect();
  await Promise.all([publisher.close(), subscriber.close()]);
});

const header = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));
const seq = fc.oneof(fc.integer({ min: -5, max: 3_000_000 }).map(String), fc.constantFrom('abc', '1e9', '2.5', '007', '99999999999999999999', ''));
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .record({
      name: fc.oneof(fc.constant(channel), fc.constant(`${ns}:other`), fc.string({ maxLength: 10 })),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), header, { maxKeys: 3 }),
      node: fc.constantFrom('forger-1', 'forger-2', undefined),
      seq: fc.option(seq),
      payload: fc.jsonValue({ maxDepth: 2 }),
    })
    .map(({ name, headers, node, seq: s, payload }) => {
      const envelope = createEnvelope(name, payload);
      const all: Record<string, unknown> = { ...headers, ...(node ? { [NODE_HEADER]: node } : {}), ...(s !== null ? { [SEQ_HEADER]: s } : {}) };
      return Buffer.from(JSON.stringify({ ...envelope, headers: all }));
    }),
);

/** What core's foreign-producer rule makes of a body: accepted (delivered) or refused. */
function accepted(data: Buffer): boolean {
  try {
    envelopeFromTransport(JSON.parse(data.toString('utf8')), data, { name: channel });
    return true;
  } catch {
    return false;
  }
}

describe('a foreign publisher on the Redis channels', () => {
  it('each hostile message is delivered or refused once per subscription; real streams keep flowing with no false gap', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 5 }), async (bodies) => {
        const d0 = delivered;
        const e0 = errors.filter((e) => e.kind === 'decode' && !/pubsub-seq/.test(e.error.message)).length;
        let expectAccepted = 0;
        for (const data of bodies) {
          expectAccepted += accepted(data) ? 1 : 0;
          await raw.publish(wire, data);
        }
        // A real message after them: once it arrived (on both subscriptions), everything before has.
        sent += 1;
        await publisher.broadcast(channel, { real: ns, n: sent });
        await waitFor(() => good === sent * 2, 10_000, 'the real stream');
        const refused = errors.filter((e) => e.kind === 'decode' && !/pubsub-seq/.test(e.error.message)).length - e0;
        expect(delivered - d0).toBe(expectAccepted * 2);
        expect(refused).toBe((bodies.length - expectAccepted) * 2);
      }),
      { numRuns: 60 },
    );
    expect(gaps.filter((g) => g.node === publisher.nodeId)).toEqual([]);
    expect(subscriber.health()).toMatchObject({ phase: 'ready', connected: true });
  }, 60_000);
});
