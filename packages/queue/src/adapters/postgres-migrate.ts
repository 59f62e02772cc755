/**
 * Versioned migrations of the PostgreSQL queue: `packages/queue/migrations/NNN_name.sql`, applied
 * in order, each once, in one transaction under an advisory lock (two processes starting at once
 * apply them once). The applied versions are kept in `<schema>.migrations`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { ConfigError } from '@events/core';
import type pg from 'pg';
import { checkSchemaName } from './postgres-sql.js';

const DIR = new URL('../../migrations/', import.meta.url);

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

let cached: Promise<Migration[]> | undefined;

/** The migrations shipped with this package, by version. */
export function loadMigrations(): Promise<Migration[]> {
  cached ??= (async () => {
    const files = (await readdir(DIR)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
    return Promise.all(files.map(async (f) => ({ version: Number(f.slice(0, 3)), name: f, sql: await readFile(new URL(f, DIR), 'utf8') })));
  })();
  return cached;
}

/** The schema version this package needs. */
export async function latestVersion(): Promise<number> {
  const all = await loadMigrations();
  return all.at(-1)?.version ?? 0;
}

type Queryable = pg.Pool | pg.ClientBase;

/** Applies the migrations `schema` lacks; resolves to the versions applied (empty when up to date). */
export async function runMigrations(db: Queryable, schema: string): Promise<number[]> {
  const s = `"${checkSchemaName(schema)}"`;
  const migrations = await loadMigrations();
  // A pool lends one client for the transaction; a client is used as it is.
  const pooled = 'totalCount' in db;
  const client: pg.ClientBase = pooled ? await db.connect() : db;
  // A lent client has no error listener: a dropped connection mid-migration must not crash the process.
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  if (pooled) client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('@events/queue migrations'), hashtext($1))", [schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.migrations`);
      const current = rows[0]?.v ?? 0;
      const applied: number[] = [];
      await client.query(`SET LOCAL search_path TO ${s}`);
      for (const m of migrations) {
        if (m.version <= current) continue;
        await client.query(m.sql);
        await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
      return applied;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    if (pooled) {
      client.off('error', onError);
      (client as pg.PoolClient).release(broken);
    }
  }
}

/** Refuses to start on a schema older (or newer) than this package's migrations. */
export async function checkVersion(db: Queryable, schema: string): Promise<void> {
  const s = `"${checkSchemaName(schema)}"`;
  const need = await latestVersion();
  const exists = await db.query<{ t: boolean }>('SELECT to_regclass($1) IS NOT NULL AS t', [`${s}.migrations`]);
  const have = exists.rows[0]?.t ? ((await db.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.migrations`)).rows[0]?.v ?? 0) : 0;
  if (have === need) return;
  const fix = 'run `events-worker migrate --url <DATABASE_URL>`, call migrate(), or pass migrate: true';
  if (have < need) throw new ConfigError(`the queue schema ${s} is at version ${have}, this @events/queue needs ${need}: ${fix}`);
  throw new ConfigError(`the queue schema ${s} is at version ${have}, newer than this @events/queue knows (${need}): upgrade @events/queue`);
}
