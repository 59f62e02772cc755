/**
 * The adapter's connections: one bounded pg pool per adapter (the LISTEN connection is one of its
 * clients), and `migrate()` for a deploy step or the `events-worker migrate` command.
 */
import { createRequire } from 'node:module';
import { withTimeout, type AddOptions } from '@events/core';
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
    // A peer that vanished (no FIN) is noticed in about 10 s plus the OS's probes, not hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
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


/**
 * Runs `fn` on a client lent by the pool. A lent client has no error listener of the pool's: a
 * connection that drops between two statements (a transaction) would emit 'error' with nobody
 * listening and crash the process. The listener here records it, and the client is then
 * destroyed rather than returned.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Runs `fn` inside BEGIN ... COMMIT on a lent client (ROLLBACK when it throws). */
export function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** An enqueue waits at most this long for PostgreSQL when the tier gives no `timeoutMs`. */
const ENQUEUE_TIMEOUT_MS = 30_000;

/** The caller's bounds on an enqueue: its timeout (TimeoutError; the job may still be stored) and signal. */
export function bounded(work: Promise<void>, o: AddOptions | undefined): Promise<void> {
  const limited = withTimeout(work, o?.timeoutMs ?? ENQUEUE_TIMEOUT_MS, 'enqueue on PostgreSQL');
  const signal = o?.signal;
  if (!signal) return limited;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([limited, aborted]).finally(() => signal.removeEventListener('abort', onAbort!));
}
