/**
 * The PostgreSQL adapter's statements, built once per schema. Every statement that changes a job
 * is one round trip (CTEs instead of transactions) and checks the claim it acts for (`claims`, a
 * fencing token), so a late answer from a worker that lost its lease cannot overwrite a new run.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError, type JobState, type QueueAdapterJob, type StoredJobInfo } from '@events/core';
import { parseStored } from '../job-format.js';

/** Lowercase letters, digits and `_`; short enough that the channel `<schema>.jobs` fits in 63 bytes. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,56}$/.test(schema)) {
    throw new InvalidOptionError('schema', `must be lowercase letters, digits and _ (at most 57), starting with a letter or _, got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** The LISTEN channel the jobs table's trigger notifies (payload: the queue name). */
export function channelOf(schema: string): string {
  return `${schema}.jobs`;
}

const JOB_COLUMNS = 'queue, id, name, data, priority, run_at, max_attempts, backoff, keep_completed, keep_failed';
const RETURNED = `j.id, j.name, j.data, j.attempt, j.claims, j.max_attempts, j.backoff, j.keep_completed, j.keep_failed, j.stalls,
  (extract(epoch FROM j.created_at) * 1000)::float8 AS enqueued_at`;
const FINAL_RETURNED = 'queue, id, name, data, created_at';

/**
 * Statements that only move a job between workers (claim, complete, retry, fail, heartbeat,
 * recover) commit without waiting for the WAL flush (`synchronous_commit = off` for that one
 * transaction, through this CTE). A PostgreSQL crash may forget the last such commits: the job is
 * then active again, its lease runs out and it runs again, which at-least-once allows. Inserts
 * (enqueue, schedules) keep the server's setting: an enqueued job survives a crash.
 */
const ASYNC = "cfg AS (SELECT set_config('synchronous_commit', 'off', true) AS sc)";

/**
 * The hot statements as named prepared statements (prepared once per connection, then only bound
 * and executed): parsing and planning the claim or the insert each time cost more than running it.
 * Named by a hash of the text, so two schemas never share a name. Only on our own pool's
 * connections: a caller's transaction client gets plain text (nothing left in its session).
 */
function prepared(text: string): { readonly name: string; readonly text: string } {
  return { name: `evq_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
}

export function createSql(schema: string) {
  const statements = createStatements(schema);
  return {
    ...statements,
    prepared: {
      insert: prepared(statements.insert),
      claim: prepared(statements.claim),
      nextDue: prepared(statements.nextDue),
      complete: prepared(statements.complete),
      retry: prepared(statements.retry),
      fail: prepared(statements.fail),
      progress: prepared(statements.progress),
    },
  };
}

function createStatements(schema: string) {
  const s = `"${checkSchemaName(schema)}"`;
  const jobs = `${s}.jobs`;
  const dead = `${s}.dead_letters`;
  const ms = (p: string): string => `(${p} * interval '1 millisecond')`;
  return {
    schema: s,
    /**
     * $1: the jobs as one JSON array (see insertValues): one INSERT for any number of jobs, one
     * parameter to send. `d` is the envelope's JSON text as a JSON string, so it arrives as exactly
     * that text (a `json` field would be de-escaped by json_to_recordset, which refuses `\u0000`
     * and lone surrogates that the text column stores).
     */
    insert: `INSERT INTO ${jobs} (${JOB_COLUMNS})
      SELECT t.n, t.i, t.n, t.d, t.p, now() + ${ms('t.dl')}, t.a, t.b, t.kc, t.kf
      FROM json_to_recordset($1::json) AS t(n text, i text, d text, p int, dl float8, a int, b jsonb, kc jsonb, kf jsonb)
      ON CONFLICT (queue, id) DO NOTHING`,
    /** $1 queue, $2 worker, $3 lease ms, $4 how many. */
    claim: `WITH ${ASYNC} UPDATE ${jobs} j SET state = 'active', attempt = j.attempt + 1, claims = j.claims + 1, locked_by = $2, locked_until = now() + ${ms('$3')},
        started_at = now()
      FROM cfg, (SELECT queue, id FROM ${jobs} WHERE queue = $1 AND state = 'waiting' AND run_at <= now()
            AND NOT EXISTS (SELECT 1 FROM ${s}.paused WHERE queue = $1)
            ORDER BY priority, run_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED) c
      WHERE j.queue = c.queue AND j.id = c.id
      RETURNING ${RETURNED}, j.priority, j.run_at, j.seq`,
    /** $1 queue: ms until the next delayed job of the queue is due, NULL when none. */
    nextDue: `SELECT (extract(epoch FROM min(run_at) - now()) * 1000)::float8 AS ms FROM ${jobs} WHERE queue = $1 AND state = 'waiting' AND run_at > now()`,
    /** Completions, as arrays: $1 queue, $2 id, $3 claim, $4 result, $5 remove, $6 keep ms (NULL = forever). */
    complete: `WITH ${ASYNC}, a AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bool[], $6::float8[]) AS t(q, i, at, r, rm, age)),
      gone AS (DELETE FROM ${jobs} j USING a, cfg WHERE a.rm AND j.queue = a.q AND j.id = a.i AND j.claims = a.at AND j.state = 'active')
      UPDATE ${jobs} j SET state = 'completed', result = a.r, finished_at = now(), locked_by = NULL, locked_until = NULL,
        expires_at = now() + ${ms('a.age')}
      FROM a, cfg WHERE NOT a.rm AND j.queue = a.q AND j.id = a.i AND j.claims = a.at AND j.state = 'active'`,
    /** $1 queue, $2 id, $3 claim, $4 reason, $5 delay ms. */
    retry: `WITH ${ASYNC} UPDATE ${jobs} SET state = 'waiting', run_at = now() + ${ms('$5')}, failed_reason = $4, locked_by = NULL, locked_until = NULL
      FROM cfg WHERE queue = $1 AND id = $2 AND claims = $3 AND state = 'active'`,
    /**
     * Final failure and its dead letter in one statement: $1 queue, $2 id, $3 claim, $4 error
     * name, $5 message, $6 stack, $7 remove the job row, $8 keep ms, $9 attempts made.
     */
    fail: `WITH ${ASYNC}, kept AS (UPDATE ${jobs} SET state = 'failed', failed_reason = $5, finished_at = now(), locked_by = NULL, locked_until = NULL,
          expires_at = now() + ${ms('$8::float8')}
        FROM cfg WHERE NOT $7::bool AND queue = $1 AND id = $2 AND claims = $3 AND state = 'active' RETURNING ${FINAL_RETURNED}),
      gone AS (DELETE FROM ${jobs} USING cfg WHERE $7::bool AND queue = $1 AND id = $2 AND claims = $3 AND state = 'active' RETURNING ${FINAL_RETURNED}),
      j AS (SELECT * FROM kept UNION ALL SELECT * FROM gone)
      INSERT INTO ${dead} (id, queue, name, data, error_name, error_message, error_stack, attempts_made, enqueued_at)
      SELECT id, queue, name, data, $4, $5, $6, $9, created_at FROM j
      ON CONFLICT (id) DO UPDATE SET queue = EXCLUDED.queue, name = EXCLUDED.name, data = EXCLUDED.data, error_name = EXCLUDED.error_name,
        error_message = EXCLUDED.error_message, error_stack = EXCLUDED.error_stack, attempts_made = EXCLUDED.attempts_made,
        enqueued_at = EXCLUDED.enqueued_at, failed_at = now()`,
    /** Keeps the newest $3 finished jobs in state $2 of queue $1; deletes at most 1,000 older per call. */
    trim: `DELETE FROM ${jobs} WHERE (queue, id) IN (SELECT queue, id FROM ${jobs} WHERE queue = $1 AND state = $2
      ORDER BY finished_at DESC, seq DESC OFFSET $3 LIMIT 1000)`,
    /** Retention by age, in batches. */
    expire: `DELETE FROM ${jobs} WHERE (queue, id) IN (SELECT queue, id FROM ${jobs} WHERE expires_at < now() LIMIT 1000)`,
    /** $1 queue, $2 id, $3 one log line: appended, the oldest dropped past 100 lines. */
    log: `UPDATE ${jobs} SET logs = (CASE WHEN jsonb_array_length(coalesce(logs, '[]')) >= 100 THEN coalesce(logs, '[]') - 0 ELSE coalesce(logs, '[]') END)
      || jsonb_build_array($3::text) WHERE queue = $1 AND id = $2`,
    /** $1 queue, $2 id, $3 progress JSON. */
    progress: `UPDATE ${jobs} SET progress = $3 WHERE queue = $1 AND id = $2`,
    /**
     * Jobs a closing worker could not finish, handed back as if never claimed (no attempt, no
     * stall): $1 queue, $2 ids, $3 claims.
     */
    release: `WITH ${ASYNC}, r AS (SELECT * FROM unnest($2::text[], $3::int[]) AS t(i, c))
      UPDATE ${jobs} j SET state = 'waiting', attempt = j.attempt - 1, locked_by = NULL, locked_until = NULL, run_at = now()
      FROM r, cfg WHERE j.queue = $1 AND j.id = r.i AND j.claims = r.c AND j.state = 'active'
      RETURNING pg_notify($4, j.queue)`,
    /**
     * Extends the leases of the jobs this process still holds: $1 worker, $2 lease ms, $3 queues,
     * $4 ids, $5 claims. Only those: a job whose outcome could not be written is no longer held, so
     * its lease runs out and it comes back. Rows locked by another statement (a completion being
     * written) are skipped, not waited for: this statement never joins a deadlock.
     */
    heartbeat: `WITH ${ASYNC} UPDATE ${jobs} j SET locked_until = now() + ${ms('$2')}
      FROM cfg, (SELECT x.queue, x.id FROM ${jobs} x JOIN unnest($3::text[], $4::text[], $5::int[]) AS h(q, i, c)
          ON x.queue = h.q AND x.id = h.i AND x.claims = h.c
        WHERE x.state = 'active' AND x.locked_by = $1 FOR UPDATE OF x SKIP LOCKED) held
      WHERE j.queue = held.queue AND j.id = held.id`,
    /**
     * Jobs whose worker stopped renewing its lease: back to waiting with the attempt given back,
     * or failed (and dead-lettered) past $1 stalls. Wakes the workers of the queues concerned.
     */
    recover: `WITH ${ASYNC}, s AS (
        UPDATE ${jobs} j SET stalls = j.stalls + 1, locked_by = NULL, locked_until = NULL, run_at = now(),
          state = CASE WHEN j.stalls >= $1 THEN 'failed' ELSE 'waiting' END,
          attempt = CASE WHEN j.stalls >= $1 THEN j.attempt ELSE j.attempt - 1 END,
          finished_at = CASE WHEN j.stalls >= $1 THEN now() END,
          failed_reason = CASE WHEN j.stalls >= $1 THEN 'job stalled more than allowable limit' ELSE j.failed_reason END
        FROM cfg, (SELECT queue, id FROM ${jobs} WHERE state = 'active' AND locked_until < now() LIMIT 1000 FOR UPDATE SKIP LOCKED) x
        WHERE j.queue = x.queue AND j.id = x.id RETURNING j.*),
      d AS (INSERT INTO ${dead} (id, queue, name, data, error_name, error_message, attempts_made, enqueued_at)
        SELECT id, queue, name, data, 'Error', failed_reason, attempt, created_at FROM s WHERE state = 'failed'
        ON CONFLICT (id) DO UPDATE SET error_message = EXCLUDED.error_message, attempts_made = EXCLUDED.attempts_made, failed_at = now())
      SELECT q.queue, pg_notify($2, q.queue) FROM (SELECT DISTINCT queue FROM s WHERE state = 'waiting') q`,
    getJob: `SELECT id, name, data, attempt, state, progress, result, failed_reason, run_at > now() AS delayed FROM ${jobs} WHERE queue = $1 AND id = $2`,
    counts: `SELECT count(*) FILTER (WHERE state = 'waiting' AND run_at <= now())::int AS waiting,
        count(*) FILTER (WHERE state = 'waiting' AND run_at > now())::int AS delayed,
        count(*) FILTER (WHERE state = 'active')::int AS active,
        count(*) FILTER (WHERE state = 'completed')::int AS completed,
        count(*) FILTER (WHERE state = 'failed')::int AS failed
      FROM ${jobs} WHERE queue = $1`,
  };
}

export type Sql = ReturnType<typeof createSql>;

/** Jobs one enqueueMany may store (one INSERT, its arrays held in memory twice while sent). */
export const MAX_JOBS_PER_ADD = 10_000;

/** Refuses a bulk above MAX_JOBS_PER_ADD before anything is sent: nothing of it is stored. */
export function checkBulk(count: number): void {
  if (count > MAX_JOBS_PER_ADD) {
    throw new InvalidOptionError('enqueueMany', `at most ${MAX_JOBS_PER_ADD} jobs per call, got ${count}; nothing was stored: split the batch`);
  }
}

/** The one parameter of `sql.insert` for these jobs (queue = job name): a JSON array, one native stringify. */
export function insertValues(jobs: readonly QueueAdapterJob[]): unknown[] {
  const rows = new Array<unknown>(jobs.length);
  for (let k = 0; k < jobs.length; k += 1) {
    const j = jobs[k]!;
    const o = j.options;
    rows[k] = { n: j.name, i: j.id, d: JSON.stringify(j.data), p: o.priority, dl: o.delayMs, a: o.attempts, b: o.backoff, kc: o.removeOnComplete, kf: o.removeOnFail };
  }
  return [JSON.stringify(rows)];
}

/** A row of `getJob`. */
export interface JobRow {
  id: string;
  name: string;
  data: string;
  attempt: number;
  state: 'waiting' | 'active' | 'completed' | 'failed';
  progress: string | null;
  result: string | null;
  failed_reason: string | null;
  delayed: boolean;
}

export function toJobInfo(row: JobRow): StoredJobInfo {
  const state: JobState = row.state === 'waiting' && row.delayed ? 'delayed' : row.state;
  const parse = (text: string | null): unknown => (text === null ? undefined : (parseStored(text) as { value?: unknown }).value);
  return {
    id: row.id,
    name: row.name,
    state,
    data: parseStored(row.data),
    // `attempt` counts attempts started; BullMQ's attemptsMade counts finished ones.
    attemptsMade: row.state === 'active' ? row.attempt - 1 : row.attempt,
    progress: (parse(row.progress) ?? 0) as StoredJobInfo['progress'],
    ...(row.state === 'completed' ? { result: parse(row.result) } : {}),
    ...(row.failed_reason !== null ? { failedReason: row.failed_reason } : {}),
  };
}
