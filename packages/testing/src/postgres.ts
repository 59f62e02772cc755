/** PostgreSQL test helpers: a fresh schema name per test, one-shot queries, and dropping the schema. */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { DATABASE_URL } from './brokers.js';
import { randomId } from './ids.js';

// Through require, as the queue's adapter does: Node 20 cannot load pg's dual package by import here.
const { Client } = createRequire(import.meta.url)('pg') as typeof pg;

/** A schema name no other test uses: lowercase, [a-z0-9_], at most 50 characters. */
export function randomSchema(prefix = 'evq_test'): string {
  return randomId(prefix).toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 50);
}

/** Runs one query on its own connection and returns the rows. */
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
