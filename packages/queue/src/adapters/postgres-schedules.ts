/**
 * Schedules on PostgreSQL: one row per scheduler in `<schema>.schedules` with its next run time.
 * A process that consumes the queue claims due rows (FOR UPDATE SKIP LOCKED), inserts each run as
 * an ordinary job (id `repeat-<scheduler>-<due ms>`, so a run is stored once) and moves
 * `next_run_at` on, in one transaction. Runs missed while no worker was up are not made up: the
 * next one is the first due time after now.
 */
import { InvalidOptionError, type QueueAdapterJob, type ScheduleSpec } from '@events/core';
import type pg from 'pg';
import { compileCron } from '../cron.js';
import { inTransaction } from './postgres-pool.js';

/** Cron patterns are searched at most this far ahead (a pattern that never matches is refused). */
const HORIZON_MS = 366 * 24 * 3_600_000;

/** The first run time strictly after `afterMs` (epoch ms). */
export function nextRunAfter(spec: ScheduleSpec, afterMs: number): number {
  if (spec.every !== undefined) return afterMs + spec.every;
  const pattern = spec.cron ?? '';
  const matches = compileCron(pattern);
  // Five fields run on whole minutes, six on whole seconds.
  const step = pattern.trim().split(/\s+/).length === 5 ? 60_000 : 1000;
  let t = Math.floor(afterMs / step) * step + step;
  for (const end = afterMs + HORIZON_MS; t <= end; t += step) if (matches(new Date(t))) return t;
  throw new InvalidOptionError('cron', `${JSON.stringify(pattern)} matches no time within a year`);
}

export interface ScheduleRow {
  queue: string;
  id: string;
  every_ms: string | null;
  cron: string | null;
  tz: string | null;
  data: string;
  options: QueueAdapterJob['options'];
  due: number;
}

/** Upserts the scheduler; its first run is now (`every`) or the next cron match. */
/** Where the schedules live: the pool and the quoted schema name. */
export interface ScheduleDb {
  readonly pool: pg.Pool;
  readonly schema: string;
}

export async function upsertSchedule({ pool, schema }: ScheduleDb, id: string, spec: ScheduleSpec & { template: Omit<QueueAdapterJob, 'id'> }): Promise<void> {
  const { template } = spec;
  const now = Date.now();
  const first = spec.every !== undefined ? now : nextRunAfter(spec, now);
  await pool.query(
    `INSERT INTO ${schema}.schedules (queue, id, every_ms, cron, tz, data, options, next_run_at) VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0))
     ON CONFLICT (queue, id) DO UPDATE SET every_ms = EXCLUDED.every_ms, cron = EXCLUDED.cron, tz = EXCLUDED.tz, data = EXCLUDED.data,
       options = EXCLUDED.options, next_run_at = EXCLUDED.next_run_at`,
    [template.name, id, spec.every ?? null, spec.cron ?? null, spec.tz ?? null, JSON.stringify(template.data), JSON.stringify(template.options), first],
  );
  // A run of the previous definition not yet started is dropped with it.
  await pool.query(`DELETE FROM ${schema}.jobs WHERE queue = $1 AND state = 'waiting' AND id LIKE $2`, [template.name, `repeat-${likeEscape(id)}-%`]);
}

export async function removeSchedule({ pool, schema }: ScheduleDb, queue: string, id: string): Promise<boolean> {
  // Waits for a tick holding the row; the jobs DELETE then sees the run that tick stored.
  const gone = await pool.query(`DELETE FROM ${schema}.schedules WHERE queue = $1 AND id = $2`, [queue, id]);
  await pool.query(`DELETE FROM ${schema}.jobs WHERE queue = $1 AND state = 'waiting' AND id LIKE $2`, [queue, `repeat-${likeEscape(id)}-%`]);
  return (gone.rowCount ?? 0) > 0;
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Fires the due schedules of `queues` once; resolves to ms until the next one is due (undefined
 * when none). `insert` stores one run inside the transaction.
 */
export async function fireDue(
  { pool, schema }: ScheduleDb,
  queues: readonly string[],
  insert: (client: pg.PoolClient, job: QueueAdapterJob) => Promise<void>,
): Promise<number | undefined> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<ScheduleRow>(
      `SELECT queue, id, every_ms, cron, tz, data, options, (extract(epoch FROM next_run_at) * 1000)::float8 AS due FROM ${schema}.schedules
       WHERE queue = ANY($1::text[]) AND next_run_at <= now() ORDER BY next_run_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
      [queues],
    );
    const now = Date.now();
    for (const row of rows) {
      const spec: ScheduleSpec = row.every_ms !== null ? { every: Number(row.every_ms) } : { cron: row.cron ?? '', ...(row.tz ? { tz: row.tz } : {}) };
      await insert(client, { id: `repeat-${row.id}-${Math.round(row.due)}`, name: row.queue, data: JSON.parse(row.data) as unknown, options: row.options });
      let next = nextRunAfter(spec, row.due);
      if (next <= now) next = nextRunAfter(spec, now);
      await client.query(`UPDATE ${schema}.schedules SET next_run_at = to_timestamp($3 / 1000.0) WHERE queue = $1 AND id = $2`, [row.queue, row.id, next]);
    }
    const soon = await client.query<{ ms: number | null }>(
      `SELECT greatest(0, extract(epoch FROM min(next_run_at) - now()) * 1000)::float8 AS ms FROM ${schema}.schedules WHERE queue = ANY($1::text[])`,
      [queues],
    );
    return soon.rows[0]?.ms ?? undefined;
  });
}
