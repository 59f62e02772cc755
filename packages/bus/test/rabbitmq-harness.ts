/** RabbitMQ test targets: a fresh exchange per test, every queue it made deleted afterwards. */
import { createRabbitMqBusAdapter, deleteRabbitMqBusTopology, type RabbitMqBusAdapter, type RabbitMqBusOptions } from '../src/adapters/rabbitmq.js';
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
    makeAdapter: async () => {
      const adapter = await createRabbitMqBusAdapter(options);
      adapters.push(adapter);
      return adapter;
    },
    cleanup: async () => {
      for (const a of adapters) for (const q of a.declaredQueues()) extraQueues.add(q);
      await deleteRabbitMqBusTopology({ url: RABBITMQ_URL, exchange, queues: [...extraQueues] });
    },
  };
}

