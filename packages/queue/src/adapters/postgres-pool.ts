/**
 * The adapter's connections: one bounded pg pool per adapter (the LISTEN connection is one of its
 * clients), and `migrate()` for a deploy step or the `events-worker migrate` command.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { runMigrations } from './postgres-migrate.js';
import { checkSchemaName } from './postgres-sql.js';

export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database`. Default: `postgres://postgres@127.0.0.1:5432/postgres`. */
  connectionString?: string;
  /** Your own pool instead: used as it is (its size is yours) and never closed by us. Default: none. */
  pool?: pg.Pool;
  /** Schema holding the queue's tables (several applications can share a database). Default: `events_queue`. */
  schema?: string;
}

/**
 * pg is CommonJS; loaded through require, its own require('pg-pool') stays in Node's CommonJS
 * loader. Imported as ESM under a loader hook with the `import` condition (vitest), that inner
 * require got pg-pool's ESM wrapper and failed ("Class extends value [object Module]").
 */
const { Pool } = createRequire(import.meta.url)('pg') as typeof pg;

/** Our sessions notify apart from their inserts (see migrations/001_jobs.sql, notify_jobs). */
export const QUIET = 'events_queue.notify=off';

export const DEFAULT_SCHEMA = 'events_queue';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function newPool(options: PostgresConnectionOptions & { max?: number; connectionTimeoutMs?: number }): pg.Pool {
  return new Pool({
    connectionString: options.connectionString ?? DEFAULT_DATABASE_URL,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    keepAlive: true,
    application_name: '@events/queue',
    options: `-c ${QUIET}`,
  });
}

/** Applies the queue's migrations to `schema` (default `events_queue`); resolves to the versions applied. */
export async function migrate(options: PostgresConnectionOptions = {}): Promise<number[]> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const pool = options.pool ?? newPool({ ...options, max: 1 });
  try {
    return await runMigrations(pool, schema);
  } finally {
    if (!options.pool) await pool.end();
  }
}

