/** RabbitMQ test targets: a fresh exchange per test, every queue it made deleted afterwards. */
import amqp from 'amqplib';
import { deadLetterQueueName, deleteRabbitMqBusTopology, queueName, rabbitmqBus, type RabbitMqBusAdapter, type RabbitMqBusOptions } from '../src/adapters/rabbitmq.js';
import type { ConformanceTarget } from './conformance.js';
import { RABBITMQ_URL, randomId } from '@events/testing';

export interface RabbitTarget extends ConformanceTarget {
  readonly exchange: string;
  readonly adapters: RabbitMqBusAdapter[];
  readonly options: RabbitMqBusOptions;
}

export async function rabbitTarget(overrides: RabbitMqBusOptions = {}): Promise<RabbitTarget> {
  const exchange = randomId('bus-test');
  const adapters: RabbitMqBusAdapter[] = [];
  const extraQueues = new Set<string>();
  const options: RabbitMqBusOptions = { url: RABBITMQ_URL, exchange, maxPendingPublishes: 50, reconnect: { delayMs: 20, maxDelayMs: 200 }, ...overrides };
  return {
    exchange,
    adapters,
    options,
    holds: 'broker',
    makeAdapter: async () => {
      const adapter = rabbitmqBus(options);
      adapters.push(adapter);
      return adapter;
    },
    deadLetterIds: async (group, pattern) => {
      // Peeks at the dead-letter queue (messages are requeued, not taken).
      const conn = await amqp.connect(RABBITMQ_URL);
      try {
        const ch = await conn.createChannel();
        const queue = deadLetterQueueName(queueName(adapters[0]!.topology, group, pattern));
        const ids: string[] = [];
        for (;;) {
          const m = await ch.get(queue, { noAck: false });
          if (!m) break;
          ids.push(String(m.properties.messageId));
        }
        await ch.close(); // unacked messages go back to the queue
        return ids;
      } finally {
        await conn.close();
      }
    },
    cleanup: async () => {
      for (const a of adapters) for (const q of a.declaredQueues()) extraQueues.add(q);
      await deleteRabbitMqBusTopology({ url: RABBITMQ_URL, exchange, queues: [...extraQueues] });
    },
  };
}
