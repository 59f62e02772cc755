/** PostgreSQL test helpers: every test gets its own schema (a fresh randomId), dropped after. */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { DATABASE_URL, randomId } from '@events/testing';
import { createQueue, type Queue, type QueueOptions } from '../src/index.js';
import { postgresQueue, type PostgresQueueOptions } from '../src/adapters/postgres.js';

// Through require, as the adapter does (see there why).
const { Client } = createRequire(import.meta.url)('pg') as typeof pg;

export function randomSchema(): string {
  return randomId('evq_test').toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 50);
}

export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], url = DATABASE_URL): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

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
