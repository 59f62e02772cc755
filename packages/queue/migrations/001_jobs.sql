-- @events/queue on PostgreSQL, schema version 1. Runs with search_path set to the queue's schema,
-- inside the migration transaction (see src/adapters/postgres-migrate.ts): no schema is named here.

-- One row per job. `queue` is the job name the worker consumes (a foreign producer may store another
-- `name` in it, which the worker dead-letters). `data` is text, not jsonb: a foreign row with bad
-- JSON must still be storable, so the worker can dead-letter it with its raw text.
CREATE TABLE jobs (
  queue          text        NOT NULL,
  id             text        NOT NULL,
  name           text        NOT NULL,
  data           text        NOT NULL,
  -- 'delayed' is not a state: a waiting job whose run_at is in the future.
  state          text        NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'active', 'completed', 'failed')),
  -- 0 = none (taken first, FIFO), then 1 = most urgent (BullMQ's order).
  priority       integer     NOT NULL DEFAULT 0 CHECK (priority >= 0),
  run_at         timestamptz NOT NULL DEFAULT now(),
  -- Attempts started; a lease lost to a crash gives its attempt back (see `stalls`), and so does a
  -- job a closing worker hands back.
  attempt        integer     NOT NULL DEFAULT 0,
  -- Claims so far, never given back: the fencing token every outcome is written against, so a
  -- worker that lost its lease (and the job to another worker) cannot overwrite the new run.
  claims         integer     NOT NULL DEFAULT 0,
  max_attempts   integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  -- @events/core BackoffOptions and JobRetention as JSON; NULL = the queue's defaults at the time.
  backoff        jsonb,
  keep_completed jsonb,
  keep_failed    jsonb,
  progress       text,
  result         text,
  failed_reason  text,
  -- Times this job's worker vanished mid-run (lease ran out); past the limit the job fails.
  stalls         integer     NOT NULL DEFAULT 0,
  locked_by      text,
  locked_until   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  -- Retention by age: the row may be deleted after this time.
  expires_at     timestamptz,
  seq            bigint      GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (queue, id)
);

-- The fetch: ready jobs of one queue in (priority, run_at, seq) order, claimed with SKIP LOCKED.
CREATE INDEX jobs_ready ON jobs (queue, priority, run_at, seq) WHERE state = 'waiting';
-- When the next delayed job of a queue is due (the worker sleeps until then).
CREATE INDEX jobs_delayed ON jobs (queue, run_at) WHERE state = 'waiting';
-- Stalled-job recovery and heartbeats.
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'active';
-- Retention by count (newest finished kept) and by age.
CREATE INDEX jobs_finished ON jobs (queue, state, finished_at DESC, seq DESC) WHERE state IN ('completed', 'failed');
CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;

-- Wake the workers of every queue that got jobs, once per statement, whoever inserted them (a
-- producer's own transaction, a foreign producer in SQL). PostgreSQL delivers the notification
-- only when the inserting transaction commits, and drops it on rollback. But a transaction that
-- notifies holds a global lock through its commit (WAL flush included), so concurrent notifying
-- commits run one at a time (measured: 1.7k inserts/s without, 0.45k/s with, pool of 10). The
-- adapter's own connections therefore set `events_queue.notify = off` and notify after their
-- insert in a separate, write-free statement, coalesced.
CREATE FUNCTION notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('events_queue.notify', true), '') <> 'off' THEN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', q.queue) FROM (SELECT DISTINCT queue FROM added) q;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs();

-- Jobs that failed for good, kept apart from `jobs` (retention never removes them).
CREATE TABLE dead_letters (
  id            text        PRIMARY KEY,
  queue         text        NOT NULL,
  name          text        NOT NULL,
  data          text        NOT NULL,
  error_name    text        NOT NULL,
  error_message text        NOT NULL,
  error_stack   text,
  attempts_made integer     NOT NULL,
  enqueued_at   timestamptz NOT NULL,
  failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_failed ON dead_letters (failed_at, id);
CREATE INDEX dead_letters_name ON dead_letters (name, failed_at, id);

-- One row per scheduler; the worker that claims a due row (FOR UPDATE SKIP LOCKED) inserts the
-- run and moves next_run_at on, in one transaction.
CREATE TABLE schedules (
  queue       text        NOT NULL,
  id          text        NOT NULL,
  every_ms    bigint      CHECK (every_ms > 0),
  cron        text,
  tz          text,
  data        text        NOT NULL,
  options     jsonb       NOT NULL,
  next_run_at timestamptz NOT NULL,
  PRIMARY KEY (queue, id),
  CHECK ((every_ms IS NULL) <> (cron IS NULL))
);
CREATE INDEX schedules_due ON schedules (queue, next_run_at);

-- Queues with `events: 'all'` observing job events of every worker: one row each, renewed while it
-- lives. Workers publish job events (NOTIFY on `<schema>.events`) only while a row is current.
CREATE TABLE observers (
  id         text        PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
