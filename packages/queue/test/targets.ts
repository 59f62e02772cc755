/** The adapters the queue's metrics, journal and tracing tests run on: memory, BullMQ under a fresh key prefix and PostgreSQL in a fresh schema (each deleted by cleanup). */
import { DATABASE_URL, dropSchema, randomSchema, REDIS_URL } from '@events/testing';
import type { QueueAdapter } from '@events/core';
import { memoryQueue } from '../src/adapters/memory.js';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { postgresQueue } from '../src/adapters/postgres.js';
import { deletePrefix, randomPrefix } from './helpers.js';

export type MakeTarget = () => { adapter: QueueAdapter; cleanup: () => Promise<void> };

export const targets: Array<[string, MakeTarget]> = [
  ['memory', () => ({ adapter: memoryQueue(), cleanup: async () => undefined })],
  [
    'bullmq',
    () => {
      const prefix = randomPrefix();
      return { adapter: bullmqQueue({ url: REDIS_URL, prefix }), cleanup: () => deletePrefix(prefix) };
    },
  ],
  [
    'postgres',
    () => {
      const schema = randomSchema();
      return { adapter: postgresQueue({ connectionString: DATABASE_URL, schema, migrate: true }), cleanup: () => dropSchema(schema) };
    },
  ],
];
