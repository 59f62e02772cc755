/**
 * Deletes what the bus declared on RabbitMQ for one exchange: subscription queues, their
 * dead-letter queues, the exchange and its `.dlx`. For tests and for tearing an environment down;
 * deleting a queue drops the events (and dead letters) it holds.
 */
import amqp from 'amqplib';
import { createTopology, deadLetterQueueName, queueName } from './rabbitmq-topology.js';

export interface DeleteRabbitMqBusTopologyOptions {
  /** AMQP URL. Default: `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
  /** The bus's exchange. Default: `events`. */
  exchange?: string;
  /** The bus's queue prefix. Default: the exchange name. */
  queuePrefix?: string;
  /** Subscriptions whose queue and dead-letter queue to delete. Default: none. */
  subscriptions?: ReadonlyArray<{ group: string; pattern: string }>;
  /** Further queues to delete by name (e.g. an adapter's `declaredQueues()`). Default: none. */
  queues?: readonly string[];
}

export async function deleteRabbitMqBusTopology(options: DeleteRabbitMqBusTopologyOptions = {}): Promise<void> {
  const topology = createTopology(options);
  const queues = new Set(options.queues);
  for (const s of options.subscriptions ?? []) {
    const q = queueName(topology, s.group, s.pattern);
    queues.add(q).add(deadLetterQueueName(q));
  }
  const conn = await amqp.connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672');
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    await ch.deleteExchange(topology.exchange);
    await ch.deleteExchange(topology.deadLetterExchange);
    await ch.close();
  } finally {
    await conn.close();
  }
}
