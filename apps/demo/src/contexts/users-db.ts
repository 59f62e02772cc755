/**
 * The users context's table when the queue is on PostgreSQL: the user row and the welcome email
 * job are written in one transaction, so an email is sent if and only if the user exists (no
 * dual write). The table lives in the queue's schema (`<schema>.demo_users`).
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { TransactionClient } from '@events/core';

// pg is CommonJS and loads through require (see @events/queue's postgres adapter for why).
const { Pool } = createRequire(import.meta.url)('pg') as typeof pg;

export interface UsersDatabase {
  /** Inserts the user and runs `enqueue` on the same client inside BEGIN ... COMMIT (ROLLBACK if either fails). */
  signup(user: { id: string; email: string; tenant: string }, enqueue: (client: TransactionClient) => Promise<unknown>): Promise<void>;
  close(): Promise<void>;
}

export function createUsersDatabase(options: { url: string; schema: string; onError(error: Error): void }): UsersDatabase {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`not a schema name: ${JSON.stringify(options.schema)}`);
  const table = `"${options.schema}".demo_users`;
  const pool = new Pool({ connectionString: options.url, max: 4, connectionTimeoutMillis: 5000 });
  // An idle connection that drops emits here; without a listener it would end the process.
  pool.on('error', options.onError);
  let ready: Promise<unknown> | undefined;
  return {
    async signup(user, enqueue) {
      ready ??= pool
        .query(`CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, email text NOT NULL, tenant text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`)
        .catch((error: unknown) => {
          ready = undefined;
          throw error;
        });
      await ready;
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (error: Error): void => void (broken = error);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        try {
          await client.query(`INSERT INTO ${table} (id, email, tenant) VALUES ($1, $2, $3)`, [user.id, user.email, user.tenant]);
          await enqueue(client);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
