/**
 * RabbitMQ specifics seen from another client: the documented wire format, dead-letter queues
 * (undecodable messages from a raw client, exhausted retries) and "nothing published" on a
 * refused emit. A raw amqplib connection plays the service written in another language.
 */
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DecodeError, SerializationError, type Envelope, type ErrorEvent } from '@events/core';
import { createBus, type Bus } from '../src/index.js';
import { deadLetterQueueName, queueName, rabbitmqBus, type RabbitMqConnectionEvent } from '../src/adapters/rabbitmq.js';
import { RABBITMQ_URL, delay, randomId, waitFor } from '@events/testing';
import { rabbitTarget, type RabbitTarget } from './rabbitmq-harness.js';

type Events = { 'users.SignedUp': { userId: string }; 'users.Deleted': { userId: string }; Weird: { value: unknown } };

let target: RabbitTarget;
let bus: Bus<Events>;
let errors: ErrorEvent[];
let raw: ChannelModel;
let ch: Channel;
const rawQueues: string[] = [];

beforeEach(async () => {
  target = await rabbitTarget();
  errors = [];
  bus = createBus<Events>({ adapter: await target.makeAdapter(), onError: (e) => errors.push(e), retry: { attempts: 2, backoff: { delayMs: 2 } } });
  await bus.start(); // declares the exchanges the raw client binds to
  raw = await amqp.connect(RABBITMQ_URL);
  ch = await raw.createChannel();
});

afterEach(async () => {
  await bus.close({ timeoutMs: 3000 });
  for (const q of rawQueues.splice(0)) await ch.deleteQueue(q);
  await raw.close();
  await target.cleanup();
});

/** A queue of the raw client, bound like a consumer in another language would bind it. */
async function rawQueue(bindingKey: string): Promise<string> {
  const { queue } = await ch.assertQueue(randomId('raw'), { durable: false, exclusive: true });
  rawQueues.push(queue);
  await ch.bindQueue(queue, target.exchange, bindingKey);
  return queue;
}

async function getMessages(queue: string, count: number): Promise<GetMessage[]> {
  const got: GetMessage[] = [];
  const started = Date.now();
  while (got.length < count) {
    if (Date.now() - started > 15_000) throw new Error(`gave up waiting for ${count} message(s) in ${queue}`);
    const m = await ch.get(queue, { noAck: true });
    if (m) got.push(m);
    else await delay(10);
  }
  return got;
}

describe('rabbitmq transient subscriptions', () => {
  it('use an exclusive queue of their own, without dead letters, that the broker deletes with them', async () => {
    const adapter = rabbitmqBus(target.options);
    target.adapters.push(adapter);
    const observer = createBus<Events>({ adapter, onError: (e) => errors.push(e) });
    const got: string[] = [];
    await observer.on('users.*', (e) => void got.push(e.id), { group: 'dashboard', transient: true });
    const queues = adapter.declaredQueues();
    expect(queues).toHaveLength(1);
    const queue = queues[0]!;
    expect(queue).toMatch(new RegExp(`^${target.exchange}\\.dashboard\\.users\\.\\*\\.transient-[0-9a-f]{12}$`));
    // Exclusive: another connection may not even look at it.
    const probe = await raw.createChannel();
    probe.on('error', () => undefined);
    await expect(probe.checkQueue(queue)).rejects.toThrow(/RESOURCE_LOCKED/);
    const sent = await bus.emit('users.SignedUp', { userId: '1' });
    await waitFor(() => got.length === 1, 15_000, 'the observer to see the event');
    expect(got).toEqual([sent.id]);
    await observer.close({ timeoutMs: 3000 });
    // Gone with its connection: nothing left on the broker to collect events nobody reads.
    const after = await raw.createChannel();
    after.on('error', () => undefined);
    await expect(after.checkQueue(queue)).rejects.toThrow(/NOT_FOUND/);
    await expect(after.checkQueue(deadLetterQueueName(queue))).rejects.toThrow();
  });
});

describe('rabbitmq wire format and dead letters', () => {
  it('publishes the documented format: routing key = name, JSON envelope, content_type, message_id, headers', async () => {
    const queue = await rawQueue('users.*');
    const sent = await bus.emit('users.SignedUp', { userId: 'u1' }, { correlationId: 'flow-1', headers: { tenant: 'acme' } });
    const [m] = await getMessages(queue, 1);
    expect(m!.fields.routingKey).toBe('users.SignedUp');
    expect(m!.fields.exchange).toBe(target.exchange);
    expect(m!.properties.contentType).toBe('application/json');
    expect(m!.properties.messageId).toBe(sent.id);
    expect(m!.properties.correlationId).toBe('flow-1');
    expect(m!.properties.type).toBe('users.SignedUp');
    expect(m!.properties.deliveryMode).toBe(2);
    expect(m!.properties.headers).toMatchObject({ tenant: 'acme', 'x-causation-depth': '0' });
    expect(JSON.parse(m!.content.toString('utf8'))).toEqual(sent);
  });

  it('publishes nothing when the payload cannot be serialized', async () => {
    const queue = await rawQueue('#');
    await expect(bus.emit('Weird', { value: () => 1 })).rejects.toBeInstanceOf(SerializationError);
    await expect(bus.emit('Weird', { value: Number.NaN })).rejects.toThrow(/payload\.value: NaN cannot be serialized/);
    const marker = await bus.emit('users.SignedUp', { userId: 'after' });
    const [m] = await getMessages(queue, 1);
    expect(m!.properties.messageId).toBe(marker.id);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('dead-letters a non-JSON message from another client, takes a bare JSON payload, and keeps consuming', async () => {
    const handled: Envelope[] = [];
    await bus.on('users.*', (e) => void handled.push(e), { group: 'audit' });
    ch.publish(target.exchange, 'users.SignedUp', Buffer.from('not json {'), { contentType: 'text/plain', messageId: 'garbage-1' });
    ch.publish(target.exchange, 'users.SignedUp', Buffer.from(JSON.stringify({ hello: 'world' })), { contentType: 'application/json', messageId: 'bare-2' });
    const good = await bus.emit('users.SignedUp', { userId: 'u2' });
    await waitFor(() => handled.some((e) => e.id === good.id) && handled.some((e) => e.id === 'bare-2'), 15_000, 'the valid event and the bare payload');
    const [dead] = await getMessages(deadLetterQueueName(queueName(target.adapters[0]!.topology, 'audit', 'users.*')), 1);
    expect(dead!.properties.messageId).toBe('garbage-1');
    expect(dead!.content.toString()).toBe('not json {');
    expect(dead!.properties.headers?.['x-dead-letter-reason']).toMatch(/^decode: cannot decode message: not JSON/);
    expect(dead!.properties.headers?.['x-original-routing-key']).toBe('users.SignedUp');
    const decodes = errors.filter((e) => e.kind === 'decode');
    expect(decodes.map((e) => e.error)).toEqual([expect.any(DecodeError)]);
    expect(decodes[0]).toMatchObject({ name: 'users.SignedUp', id: 'garbage-1' });
    // The bare payload of a foreign producer is an event like any other (core's one rule).
    const byId = new Map(handled.map((e) => [e.id, [e.name, e.payload]]));
    expect(handled).toHaveLength(2);
    expect(byId.get('bare-2')).toEqual(['users.SignedUp', { hello: 'world' }]);
    expect(byId.get(good.id)).toEqual([good.name, good.payload]);
  });

  it('keeps consuming when a dead letter cannot be written back (headers amqplib cannot encode): the broker dead-letters it itself', async () => {
    const handled: string[] = [];
    await bus.on('users.*', (e) => void handled.push(e.id), { group: 'strict', concurrency: 1 });
    // A double that amqplib reads back as an integer too large to write as a long.
    ch.publish(target.exchange, 'users.SignedUp', Buffer.from('not json'), { messageId: 'odd-1', headers: { big: { '!': 'double', value: -9.3e18 } } });
    const good = await bus.emit('users.SignedUp', { userId: 'after' });
    await waitFor(() => handled.includes(good.id), 15_000, 'the next event (the consumer is not stuck on the unacked one)');
    const [dead] = await getMessages(deadLetterQueueName(queueName(target.adapters[0]!.topology, 'strict', 'users.*')), 1);
    expect(dead!.properties.messageId).toBe('odd-1');
    expect(dead!.properties.headers?.['x-death']).toBeDefined(); // dead-lettered by the broker
    expect(errors.map((e) => e.kind).sort()).toEqual(['decode', 'transport']);
    expect(errors.find((e) => e.kind === 'transport')!.error.message).toMatch(/writing the dead letter .* failed; the broker dead-letters it without our reason header/);
  });

  it('rejects on() when the broker refuses the queue declaration, and keeps the bus usable', async () => {
    const queue = queueName(target.adapters[0]!.topology, 'legacy', 'users.SignedUp');
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } }); // declared differently elsewhere
    rawQueues.push(queue);
    await expect(bus.on('users.SignedUp', () => undefined, { group: 'legacy' })).rejects.toThrow(/PRECONDITION_FAILED/);
    const handled: string[] = [];
    await bus.on('users.SignedUp', (e) => void handled.push(e.id), { group: 'fresh' });
    const sent = await bus.emit('users.SignedUp', { userId: 'u4' });
    await waitFor(() => handled.includes(sent.id), 15_000, 'the bus still works');
    expect(bus.stats().connected).toBe(true);
  });

  it('re-declares a subscription queue deleted under it and resumes consuming', async () => {
    const events: RabbitMqConnectionEvent[] = [];
    const adapter = rabbitmqBus({ ...target.options, onConnection: (e) => events.push(e) });
    target.adapters.push(adapter);
    const own = createBus<Events>({ adapter, onError: (e) => errors.push(e) });
    const handled: string[] = [];
    await own.on('users.SignedUp', (e) => void handled.push(e.id), { group: 'ops' });
    await ch.deleteQueue(queueName(target.adapters[0]!.topology, 'ops', 'users.SignedUp'));
    await waitFor(() => events.some((e) => e.type === 'up' && e.reconnect), 15_000, 'recovered');
    const sent = await own.emit('users.SignedUp', { userId: 'u5' });
    await waitFor(() => handled.includes(sent.id), 15_000, 'delivered to the re-declared queue');
    await own.close();
  });

  it('dead-letters an event whose handler exhausted its retries, with the reason', async () => {
    await bus.on('users.Deleted', () => { throw new Error('audit store down'); }, { group: 'audit' });
    const sent = await bus.emit('users.Deleted', { userId: 'u3' });
    const [m] = await getMessages(deadLetterQueueName(queueName(target.adapters[0]!.topology, 'audit', 'users.Deleted')), 1);
    expect(m!.properties.messageId).toBe(sent.id);
    expect(m!.properties.headers?.['x-dead-letter-reason']).toBe('Error: audit store down');
    expect(JSON.parse(m!.content.toString())).toEqual(sent);
    // Acked from the subscription queue once dead-lettered.
    await waitFor(() => bus.stats().consumers[0]!.inFlight === 0, 15_000, 'settled');
    expect((await ch.checkQueue(queueName(target.adapters[0]!.topology, 'audit', 'users.Deleted'))).messageCount).toBe(0);
  });
});
