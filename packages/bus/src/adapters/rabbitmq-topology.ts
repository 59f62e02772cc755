/**
 * The RabbitMQ topology of the bus, in one place so it can be documented and declared the same
 * way by every process (and by a consumer in another language):
 *
 * - `<exchange>`: durable topic exchange; routing key = event name.
 * - `<exchange>.dlx`: durable direct exchange for dead letters; routing key = the source queue.
 * - `<prefix>.<group>.<pattern>`: one durable queue per subscription (quorum by default), bound
 *   to `<exchange>` with binding key = the pattern as written (`users.*`, `#.Created`).
 * - `<prefix>.<group>.<pattern>.dead-letters`: its dead letters, bound to `<exchange>.dlx` with
 *   the queue's name.
 * - `<prefix>.<group>.<pattern>.transient-<random>`: a transient (observer) subscription's queue:
 *   classic, exclusive to its connection, auto-deleted, not durable, no dead letters.
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, type BusMessage } from '@events/core';
import type { Channel, ConsumeMessage, Options } from 'amqplib';

export interface Topology {
  readonly exchange: string;
  readonly deadLetterExchange: string;
  readonly queuePrefix: string;
  readonly queueType: 'quorum' | 'classic';
  readonly deliveryLimit: number;
  /** Quorum replicas asked for at declare time; undefined: every running cluster node. */
  readonly quorumInitialGroupSize: number | undefined;
}

const MAX_QUEUE_NAME_BYTES = 255;
const DEAD_LETTER_SUFFIX = '.dead-letters';

export function createTopology(options: { exchange?: string; queuePrefix?: string; queueType?: 'quorum' | 'classic'; deliveryLimit?: number; quorumInitialGroupSize?: number }): Topology {
  const exchange = options.exchange ?? 'events';
  const queueType = options.queueType ?? 'quorum';
  if (queueType !== 'quorum' && queueType !== 'classic') throw new InvalidOptionError('rabbitmq.queueType', `must be "quorum" or "classic", got ${JSON.stringify(queueType)}`);
  if (exchange.length === 0 || exchange.startsWith('amq.')) throw new InvalidOptionError('rabbitmq.exchange', `must be non-empty and not start with "amq.", got ${JSON.stringify(exchange)}`);
  const size = options.quorumInitialGroupSize;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 1)) throw new InvalidOptionError('rabbitmq.quorumInitialGroupSize', `must be a whole number of replicas >= 1, got ${String(size)}`);
  return { exchange, deadLetterExchange: `${exchange}.dlx`, queuePrefix: options.queuePrefix ?? exchange, queueType, deliveryLimit: options.deliveryLimit ?? 20, quorumInitialGroupSize: size };
}

export function queueName(t: Topology, group: string, pattern: string): string {
  const name = `${t.queuePrefix}.${group}.${pattern}`;
  if (Buffer.byteLength(name) + DEAD_LETTER_SUFFIX.length > MAX_QUEUE_NAME_BYTES) {
    throw new InvalidOptionError('group/pattern', `queue name ${JSON.stringify(name)} is too long for RabbitMQ (${MAX_QUEUE_NAME_BYTES} bytes)`);
  }
  return name;
}

/** A queue of its own for a transient subscription: unique, so no other consumer ever shares it. */
export function transientQueueName(t: Topology, group: string, pattern: string): string {
  const name = `${t.queuePrefix}.${group}.${pattern}.transient-${randomBytes(6).toString('hex')}`;
  if (Buffer.byteLength(name) > MAX_QUEUE_NAME_BYTES) {
    throw new InvalidOptionError('group/pattern', `queue name ${JSON.stringify(name)} is too long for RabbitMQ (${MAX_QUEUE_NAME_BYTES} bytes)`);
  }
  return name;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}${DEAD_LETTER_SUFFIX}`;
}

export async function declareExchanges(ch: Channel, t: Topology): Promise<void> {
  await ch.assertExchange(t.exchange, 'topic', { durable: true });
  await ch.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
}

/** Declares a subscription's queue, its dead-letter queue and both bindings (idempotent). */
export async function declareSubscription(ch: Channel, t: Topology, sub: { queue: string; pattern: string }): Promise<void> {
  const { queue, pattern } = sub;
  const dlq = deadLetterQueueName(queue);
  await ch.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': t.queueType, ...quorumArgs(t) } });
  await ch.bindQueue(dlq, t.deadLetterExchange, queue);
  const args: Record<string, unknown> = {
    'x-queue-type': t.queueType,
    // Messages the broker itself gives up on (delivery limit) land in the same dead-letter queue.
    'x-dead-letter-exchange': t.deadLetterExchange,
    'x-dead-letter-routing-key': queue,
  };
  if (t.queueType === 'quorum') Object.assign(args, { 'x-delivery-limit': t.deliveryLimit }, quorumArgs(t));
  await ch.assertQueue(queue, { durable: true, arguments: args });
  await ch.bindQueue(queue, t.exchange, pattern);
}

function quorumArgs(t: Topology): Record<string, number> {
  return t.queueType === 'quorum' && t.quorumInitialGroupSize !== undefined ? { 'x-quorum-initial-group-size': t.quorumInitialGroupSize } : {};
}

/**
 * Declares a transient subscription's queue and binding. The broker deletes the queue with the
 * connection, so a reconnect declares it afresh (what was published meanwhile is lost to it).
 */
export async function declareTransientSubscription(ch: Channel, t: Topology, sub: { queue: string; pattern: string }): Promise<void> {
  await ch.assertQueue(sub.queue, { durable: false, exclusive: true, autoDelete: true, arguments: { 'x-queue-type': 'classic' } });
  await ch.bindQueue(sub.queue, t.exchange, sub.pattern);
}

/** AMQP properties of a published event (the documented wire format). */
export function publishProperties(message: BusMessage): Options.Publish {
  return {
    persistent: true,
    contentType: message.contentType,
    messageId: message.id,
    type: message.name,
    timestamp: Math.floor(Date.now() / 1000),
    // amqplib reads the headers without changing them (it layers its own on top): no copy needed.
    headers: message.headers,
    ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
  };
}

/** Adds the heartbeat to an AMQP URL unless it already names one. */
export function withHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
  return u.toString();
}

/** Earlier deliveries of a message: quorum queues count them (`x-delivery-count`), classic ones only flag them. */
export function redeliveriesOf(msg: ConsumeMessage): number {
  const count: unknown = msg.properties.headers?.['x-delivery-count'];
  if (typeof count === 'number') return count;
  return msg.fields.redelivered ? 1 : 0;
}
