/**
 * Hostile input on the bus's RabbitMQ exchange and queues (fast-check, bounded runs): a foreign
 * publisher with plain amqplib sends random bytes, random JSON, envelopes whose name differs from
 * the routing key, non-string headers, routing keys that are no event names, odd properties,
 * straight to the exchange or to the subscription queue. Each property: the consumer stays up,
 * every hostile message is either handled once (core's foreign-producer rule accepts it) or
 * refused once (error hook `decode` + a dead letter), never both, never lost, and good events
 * keep flowing, every confirmed one received.
 */
import amqp, { type Channel, type ChannelModel, type Options } from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEvent } from '@events/core';
import { RABBITMQ_URL, waitFor } from '@events/testing';
import { createBus, type Bus } from '../src/index.js';
import { deadLetterQueueName, queueName } from '../src/adapters/rabbitmq.js';
import { rabbitTarget, type RabbitTarget } from './rabbitmq-harness.js';

type Events = { 'users.SignedUp': { userId: string } };

let target: RabbitTarget;
let bus: Bus<Events>;
let raw: ChannelModel;
let ch: Channel;
let queue: string;
const errors: ErrorEvent[] = [];
const handled = new Map<string, number>();

beforeAll(async () => {
  target = await rabbitTarget();
  bus = createBus<Events>({ adapter: await target.makeAdapter(), onError: (e) => errors.push(e), retry: { attempts: 1 } });
  await bus.on('#', (e) => void handled.set(e.id, (handled.get(e.id) ?? 0) + 1), { group: 'audit', concurrency: 4 });
  queue = queueName(target.adapters[0]!.topology, 'audit', '#');
  raw = await amqp.connect(RABBITMQ_URL);
  ch = await raw.createConfirmChannel();
});

afterAll(async () => {
  await bus.close({ timeoutMs: 3000 });
  await raw.close();
  await target.cleanup();
});

/** One hostile message: where it goes, its routing key, body and properties (messageId set by the test). */
interface Hostile {
  readonly toQueue: boolean;
  readonly routingKey: string;
  readonly body: (id: string, routingKey: string) => Buffer;
  readonly properties: Omit<Options.Publish, 'messageId'>;
}

const eventName = fc.constantFrom('users.SignedUp', 'users.Deleted', 'orders.Placed', 'x');
const routingKey = fc.oneof({ arbitrary: eventName, weight: 4 }, { arbitrary: fc.string({ maxLength: 40 }), weight: 1 }, { arbitrary: fc.constantFrom('', 'users..x', 'users.*', '#', 'a b', 'ü.ß'), weight: 1 });
// A table key "!" would make amqplib read the table as one of its typed values ({ '!': type, value })
// and refuse to send it: no producer could put that on the wire through amqplib.
const headerValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.double({ noNaN: true, min: -1e15, max: 1e15 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }).filter((k) => k !== '!'), fc.string({ maxLength: 5 }), { maxKeys: 2 }));
// CC/BCC are the broker's sender-selected distribution (extra routing keys), not data: left out.
const headerKey = fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== 'CC' && k !== 'BCC');
const headers = fc.dictionary(fc.oneof(headerKey, fc.constantFrom('x-delivery-count', 'x-death', 'x-causation-depth')), headerValue, { maxKeys: 4 });
const notEnvelopeLike = fc.jsonValue({ maxDepth: 3 }).filter((v) => !(typeof v === 'object' && v !== null && !Array.isArray(v) && 'id' in v));

const body: fc.Arbitrary<Hostile['body']> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => () => Buffer.from(bytes)),
  notEnvelopeLike.map((v) => () => Buffer.from(JSON.stringify(v) ?? 'null')),
  // An envelope naming another event than its routing key.
  fc.tuple(eventName, fc.jsonValue({ maxDepth: 2 })).map(([name, payload]) => (id: string, key: string) =>
    Buffer.from(JSON.stringify({ id, name: name === key ? `${name}.other` : name, payload, occurredAt: new Date().toISOString(), headers: {} })),
  ),
  // An envelope with the right name and odd headers, occurredAt or ids.
  fc.tuple(headers, fc.oneof(fc.constant(undefined), fc.string(), fc.integer()), fc.jsonValue({ maxDepth: 2 })).map(([h, occurredAt, payload]) => (id: string, key: string) =>
    Buffer.from(JSON.stringify({ id, name: key, payload, occurredAt, headers: h })),
  ),
  // A well-formed foreign envelope: accepted.
  fc.jsonValue({ maxDepth: 2 }).map((payload) => (id: string, key: string) => Buffer.from(JSON.stringify({ id, name: key, payload, headers: { tenant: 'acme' } }))),
);

const properties = fc.record(
  {
    contentType: fc.oneof(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), fc.string({ maxLength: 30 })),
    contentEncoding: fc.string({ maxLength: 10 }),
    headers,
    type: fc.string({ maxLength: 30 }),
    correlationId: fc.string({ maxLength: 30 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 31 }),
    priority: fc.integer({ min: 0, max: 9 }),
    appId: fc.string({ maxLength: 10 }),
    persistent: fc.boolean(),
  },
  { requiredKeys: [] },
);

const hostile: fc.Arbitrary<Hostile> = fc.record({ toQueue: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }), routingKey, body, properties });

let seq = 0;

async function send(messages: readonly Hostile[]): Promise<string[]> {
  const ids: string[] = [];
  for (const m of messages) {
    const id = `h-${(seq += 1)}`;
    ids.push(id);
    const key = m.toQueue ? queue : m.routingKey;
    const options = { ...m.properties, messageId: id };
    if (m.toQueue) ch.sendToQueue(queue, m.body(id, key), options);
    else ch.publish(target.exchange, key, m.body(id, key), options);
  }
  await (ch as amqp.ConfirmChannel).waitForConfirms();
  return ids;
}

const decodedIds = (): Set<string> => new Set(errors.filter((e) => e.kind === 'decode').map((e) => e.id ?? ''));

describe('rabbitmq hostile input (fast-check)', () => {
  it('a foreign publisher cannot stop the consumer, lose a good event, or get a message both handled and refused', async () => {
    const sent: string[] = [];
    const confirmed: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 6 }), async (batch) => {
        // Messages published to a routing key no binding matches are dropped by the exchange:
        // '#' matches every key, and the queue gets every direct message.
        const ids = await send(batch);
        sent.push(...ids);
        const good = await bus.emit('users.SignedUp', { userId: `good-${seq}` });
        confirmed.push(good.id);
        await waitFor(() => handled.has(good.id), 10_000, 'the good event after a hostile batch');
        const decoded = decodedIds();
        await waitFor(() => ids.every((id) => handled.has(id) || decodedIds().has(id)), 10_000, 'every hostile message settled');
        for (const id of ids) expect(Number(handled.has(id)) + Number(decoded.has(id) || decodedIds().has(id))).toBe(1);
        expect(bus.health()).toMatchObject({ phase: 'ready', connected: true, counts: { consumers: 1 } });
      }),
      { numRuns: 30 },
    );
    // Every refused message sits in the dead-letter queue (ours, or the broker's own fallback).
    const refused = [...decodedIds()].filter((id) => id.startsWith('h-'));
    const dead = new Set<string>();
    const dlq = deadLetterQueueName(queue);
    await waitFor(async () => {
      for (let m = await ch.get(dlq, { noAck: true }); m; m = await ch.get(dlq, { noAck: true })) dead.add(String(m.properties.messageId));
      return refused.every((id) => dead.has(id));
    }, 10_000, 'the dead letters of every refused message');
    for (const id of confirmed) expect(handled.get(id)).toBe(1);
    for (const id of sent) expect(handled.get(id) ?? 0).toBeLessThanOrEqual(1);
    expect(refused.length).toBeGreaterThan(0);
    expect(sent.filter((id) => handled.has(id)).length).toBeGreaterThan(0);
    expect(errors.filter((e) => e.kind !== 'decode')).toEqual([]);
    console.log(`[bus hostile input] ${sent.length} foreign messages: ${sent.filter((id) => handled.has(id)).length} accepted by the foreign-producer rule, ${refused.length} refused and dead-lettered; ${confirmed.length} good events all received`);
  });
});
