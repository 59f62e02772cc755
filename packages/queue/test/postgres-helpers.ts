/** PostgreSQL test helpers: every test gets its own schema (a fresh randomId), dropped after. */
import { DATABASE_URL, sql } from '@events/testing';
import { createQueue, type Queue, type QueueOptions } from '../src/index.js';
import { postgresQueue, type PostgresQueueOptions } from '../src/adapters/postgres.js';

export { dropSchema, randomSchema, sql } from '@events/testing';

/** A queue on PostgreSQL in `schema` (migrations on, a small pool: the server's connections are shared). */
export function pgQueue<J extends Record<string, unknown> = Record<string, unknown>>(
  schema: string,
  options: Omit<QueueOptions, 'adapter'> = {},
  adapter: PostgresQueueOptions = {},
): Queue<J> {
  return createQueue<J>({ ...options, adapter: postgresQueue({ connectionString: DATABASE_URL, schema, migrate: true, max: 4, ...adapter }) } as QueueOptions<J>);
}

/** Stores a row as a foreign producer writing SQL would: only the columns without defaults. */
export async function insertForeign(schema: string, job: { queue: string; name: string; id: string; raw: string }): Promise<void> {
  await sql(`INSERT INTO "${schema}".jobs (queue, id, name, data) VALUES ($1, $2, $3, $4)`, [job.queue, job.id, job.name, job.raw]);
}
