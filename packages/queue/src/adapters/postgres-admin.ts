/**
 * Job administration of the PostgreSQL adapter, in SQL over `<schema>.jobs` (migration 002 adds
 * `started_at`, `logs`, `paused` and `rates`). States as the other adapters name them: a waiting
 * row whose run_at is ahead is `delayed`, one with a priority is `prioritized`. Every action is
 * one statement that checks the state it acts on, so a job a worker claimed meanwhile is left
 * alone. Pause is a row the claim looks up; resume and the moves to waiting wake the workers of
 * every process (NOTIFY) and of this one.
 */
import {
  RATE_MINUTES,
  type AdminCleanOptions,
  type AdminCounts,
  type AdminJobDetail,
  type AdminJobState,
  type AdminJobSummary,
  type JobProgress,
  type QueueAdapterAdmin,
  type RateBucket,
} from '@events/core';
import type pg from 'pg';
import { parseStored } from '../job-format.js';

export interface PostgresAdminSettings {
  pool(): pg.Pool;
  /** The quoted schema name. */
  readonly schema: string;
  /** Wakes the workers of `name` in every process. */
  wake(name: string): void;
}

const WHERE: Record<AdminJobState, string> = {
  waiting: "state = 'waiting' AND run_at <= now() AND priority = 0",
  prioritized: "state = 'waiting' AND run_at <= now() AND priority > 0",
  delayed: "state = 'waiting' AND run_at > now()",
  active: "state = 'active'",
  completed: "state = 'completed'",
  failed: "state = 'failed'",
};
const ORDER: Record<AdminJobState, string> = {
  waiting: 'run_at, seq',
  prioritized: 'priority, run_at, seq',
  delayed: 'run_at, seq',
  active: 'started_at, seq',
  completed: 'finished_at DESC, seq DESC',
  failed: 'finished_at DESC, seq DESC',
};

const epoch = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;
const SUMMARY = `id, name, state, attempt, max_attempts, priority, failed_reason, run_at > now() AS delayed,
  ${epoch('created_at')} AS enqueued_at, ${epoch('started_at')} AS started_at, ${epoch('finished_at')} AS finished_at, ${epoch('run_at')} AS run_at`;

interface SummaryRow {
  id: string;
  name: string;
  state: 'waiting' | 'active' | 'completed' | 'failed';
  attempt: number;
  max_attempts: number;
  priority: number;
  failed_reason: string | null;
  delayed: boolean;
  enqueued_at: number;
  started_at: number | null;
  finished_at: number | null;
  run_at: number;
}

interface DetailRow extends SummaryRow {
  data: string;
  progress: string | null;
  result: string | null;
  logs: string[] | null;
}

function toSummary(row: SummaryRow): AdminJobSummary {
  const state: AdminJobState = row.state !== 'waiting' ? row.state : row.delayed ? 'delayed' : row.priority > 0 ? 'prioritized' : 'waiting';
  return {
    id: row.id,
    name: row.name,
    state,
    // `attempt` counts attempts started; the one running now is not made yet.
    attemptsMade: row.state === 'active' ? row.attempt - 1 : row.attempt,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    enqueuedAt: row.enqueued_at,
    ...(row.started_at !== null ? { startedAt: row.started_at } : {}),
    ...(row.finished_at !== null && (state === 'completed' || state === 'failed') ? { finishedAt: row.finished_at } : {}),
    ...(state === 'delayed' ? { runAt: row.run_at } : {}),
    ...(row.failed_reason !== null ? { failedReason: row.failed_reason } : {}),
  };
}

export function createPostgresAdmin(s: PostgresAdminSettings): QueueAdapterAdmin {
  const jobs = `${s.schema}.jobs`;
  const q = <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> => s.pool().query<R>(text, values);
  const parse = (text: string | null): unknown => (text === null ? undefined : (parseStored(text) as { value?: unknown }).value);

  return {
    async list(name, state, page) {
      const { rows } = await q<SummaryRow>(`SELECT ${SUMMARY} FROM ${jobs} WHERE queue = $1 AND ${WHERE[state]} ORDER BY ${ORDER[state]} LIMIT $2 OFFSET $3`, [name, page.limit, page.offset]);
      return rows.map(toSummary);
    },
    async job(name, id): Promise<AdminJobDetail | undefined> {
      const { rows } = await q<DetailRow>(`SELECT ${SUMMARY}, data, progress, result, logs FROM ${jobs} WHERE queue = $1 AND id = $2`, [name, id]);
      const row = rows[0];
      if (!row) return undefined;
      return {
        ...toSummary(row),
        data: parseStored(row.data),
        progress: (parse(row.progress) ?? 0) as JobProgress,
        ...(row.state === 'completed' ? { result: parse(row.result) } : {}),
        logs: row.logs ?? [],
      };
    },
    async counts(name): Promise<AdminCounts> {
      const filters = (Object.keys(WHERE) as AdminJobState[]).map((k) => `count(*) FILTER (WHERE ${WHERE[k]})::int AS ${k}`).join(', ');
      const { rows } = await q<Omit<AdminCounts, 'paused'> & { paused: boolean }>(
        `SELECT ${filters}, EXISTS (SELECT 1 FROM ${s.schema}.paused WHERE queue = $1) AS paused FROM ${jobs} WHERE queue = $1`,
        [name],
      );
      return rows[0]!;
    },
    async retry(name, id) {
      const { rows } = await q<{ id: string }>(
        `WITH j AS (UPDATE ${jobs} SET state = 'waiting', attempt = 0, stalls = 0, run_at = now(), finished_at = NULL, expires_at = NULL, result = NULL
            WHERE queue = $1 AND id = $2 AND state = 'failed' RETURNING id),
          d AS (DELETE FROM ${s.schema}.dead_letters WHERE id IN (SELECT id FROM j))
        SELECT id FROM j`,
        [name, id],
      );
      if (rows.length > 0) s.wake(name);
      return rows.length > 0;
    },
    async promote(name, id) {
      const { rowCount } = await q(`UPDATE ${jobs} SET run_at = now() WHERE queue = $1 AND id = $2 AND state = 'waiting' AND run_at > now()`, [name, id]);
      if (rowCount) s.wake(name);
      return (rowCount ?? 0) > 0;
    },
    async remove(name, id) {
      const { rowCount } = await q(`DELETE FROM ${jobs} WHERE queue = $1 AND id = $2 AND state <> 'active'`, [name, id]);
      return (rowCount ?? 0) > 0;
    },
    async pause(name) {
      await q(`INSERT INTO ${s.schema}.paused (queue) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
    },
    async resume(name) {
      const { rowCount } = await q(`DELETE FROM ${s.schema}.paused WHERE queue = $1`, [name]);
      if (rowCount) s.wake(name);
    },
    async clean(name, options: AdminCleanOptions) {
      const finished = options.state === 'completed' || options.state === 'failed';
      const age = finished ? 'finished_at' : 'created_at';
      const pick = `SELECT id, ${age} AS at, seq FROM ${jobs} WHERE queue = $1 AND ${WHERE[options.state]} AND ${age} <= now() - ($2 * interval '1 millisecond')
        ORDER BY ${age}, seq LIMIT $3`;
      const values = [name, options.olderThanMs, options.limit];
      if (options.dryRun) return (await q<{ id: string }>(pick, values)).rows.map((r) => r.id);
      const { rows } = await q<{ id: string }>(
        `WITH c AS (${pick} FOR UPDATE SKIP LOCKED),
          d AS (DELETE FROM ${jobs} j USING c WHERE j.queue = $1 AND j.id = c.id AND j.${WHERE[options.state].replaceAll(' AND ', ' AND j.')} RETURNING j.id)
        SELECT c.id FROM c JOIN d ON d.id = c.id ORDER BY c.at, c.seq`,
        values,
      );
      return rows.map((r) => r.id);
    },
    async recordRates(buckets: readonly RateBucket[]) {
      if (buckets.length === 0) return;
      // One order for every process: concurrent upserts never wait on each other in a cycle.
      const sorted = [...buckets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.minute - b.minute));
      await q(
        `INSERT INTO ${s.schema}.rates (queue, minute, enqueued, completed, failed)
          SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
        ON CONFLICT (queue, minute) DO UPDATE SET enqueued = rates.enqueued + EXCLUDED.enqueued,
          completed = rates.completed + EXCLUDED.completed, failed = rates.failed + EXCLUDED.failed`,
        [sorted.map((b) => b.name), sorted.map((b) => b.minute), sorted.map((b) => b.enqueued), sorted.map((b) => b.completed), sorted.map((b) => b.failed)],
      );
      await q(`DELETE FROM ${s.schema}.rates WHERE minute < $1`, [Math.floor(Date.now() / 60_000) - RATE_MINUTES]);
    },
    async rates(name, fromMinute) {
      const { rows } = await q<{ minute: string; enqueued: string; completed: string; failed: string }>(
        `SELECT minute, enqueued, completed, failed FROM ${s.schema}.rates WHERE queue = $1 AND minute >= $2 ORDER BY minute`,
        [name, fromMinute],
      );
      return rows.map((r) => ({ name, minute: Number(r.minute), enqueued: Number(r.enqueued), completed: Number(r.completed), failed: Number(r.failed) }));
    },
  };
}
