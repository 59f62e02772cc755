/** The fault suite (test/fault.ts) on PostgreSQL: the same SIGKILL, SIGTERM, stall and connection-cut tests as on Redis. */
import { DATABASE_URL } from '@events/testing';
import { queueFaults } from './fault.js';
import { dropSchema, pgQueue, randomSchema, sql } from './postgres-helpers.js';

queueFaults('postgres', async () => {
  const schema = randomSchema();
  // The tables exist before any worker process starts (the workers do not migrate).
  const setup = pgQueue(schema);
  await setup.start();
  await setup.close();
  return {
    url: DATABASE_URL,
    workerEnv: { QUEUE_ADAPTER_MODULE: 'packages/queue/test/fixtures/postgres-adapter.ts', QUEUE_SCHEMA: schema, DATABASE_URL },
    make: (options = {}) =>
      pgQueue(
        schema,
        options.onError ? { onError: options.onError } : {},
        {
          ...(options.url ? { connectionString: options.url } : {}),
          ...(options.stall ? { leaseMs: 1000, stalledIntervalMs: 300, maxStalledCount: options.stall.maxStalled } : {}),
        },
      ),
    activeIds: async () => (await sql<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE queue = 'work' AND state = 'active'`)).map((r) => r.id),
    cleanup: () => dropSchema(schema),
  };
});
