/** The adapters the bus's metrics, journal and tracing tests run on: memory, and RabbitMQ on a fresh exchange (deleted by cleanup). */
import type { BusAdapter } from '@events/core';
import { memoryBus } from '../src/adapters/memory.js';
import { rabbitTarget } from './rabbitmq-harness.js';

export type MakeTarget = () => Promise<{ adapter: BusAdapter; cleanup: () => Promise<void> }>;

export const targets: Array<[string, MakeTarget]> = [
  ['memory', async () => ({ adapter: memoryBus(), cleanup: async () => undefined })],
  [
    'rabbitmq',
    async () => {
      const target = await rabbitTarget();
      return { adapter: await target.makeAdapter(), cleanup: () => target.cleanup() };
    },
  ],
];
