-- @events/queue on PostgreSQL, schema version 2: what job administration (queue.admin) needs.

-- When the current (or last) attempt started, and the lines the handler logged (`ctx.log`, a JSON
-- array of at most 100 strings, the oldest dropped first). Nullable without a default: adding them
-- rewrites no row.
ALTER TABLE jobs ADD COLUMN started_at timestamptz, ADD COLUMN logs jsonb;

-- Job names no worker takes jobs of (the claim skips them) until resumed.
CREATE TABLE paused (
  queue     text        PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now()
);

-- Per-minute job counts per job name (minute = epoch ms / 60000), added to by every process once a
-- second; rows older than an hour are deleted on write.
CREATE TABLE rates (
  queue     text   NOT NULL,
  minute    bigint NOT NULL,
  enqueued  bigint NOT NULL DEFAULT 0,
  completed bigint NOT NULL DEFAULT 0,
  failed    bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, minute)
);
