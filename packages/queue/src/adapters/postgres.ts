/**
 * The PostgreSQL adapter (`@events/queue/postgres`): jobs in one table claimed with
 * `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY wake-ups with a fallback poll, leases renewed by a
 * heartbeat for the jobs a worker still holds (a worker that dies mid-job, or whose write of a
 * job's outcome fails, loses the job to a worker after `leaseMs` plus at most
 * `stalledIntervalMs`), attempts and backoff computed here with @events/core's backoffDelay, dead
 * letters and schedules in tables of ours. One bounded pool per adapter, shared by every job
 * name (its LISTEN connection included). A job can be stored inside the caller's own transaction
 * (`transaction` job option): it then exists if and only if that transaction commits.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  ClosedError,
  createErrorReporter,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  InvalidOptionError,
  type ErrorHook,
  type JobCounts,
  type QueueAdapter,
  type QueueAdapterContext,
  type QueueAdapterEvent,
  type QueueAdapterJob,
  type StoredJobInfo,
} from '@events/core';
import { AckBatcher, InsertBatcher } from './postgres-acks.js';
import { Analyzer } from './postgres-analyze.js';
import { PostgresConsumer, type ConsumerContext } from './postgres-consumer.js';
import { createPostgresAdmin } from './postgres-admin.js';
import { createPostgresDeadLetterStore } from './postgres-dead-letters.js';
import { decodeEvent, EventPublisher, OBSERVER_TTL_MS, observerSql } from './postgres-events.js';
import { Listener, Notifier } from './postgres-listen.js';
import { checkVersion, runMigrations } from './postgres-migrate.js';
import { bounded, DEFAULT_SCHEMA, newPool, QUIET, type PostgresConnectionOptions } from './postgres-pool.js';
import { fireDue, removeSchedule, upsertSchedule } from './postgres-schedules.js';
import { channelOf, checkBulk, checkSchemaName, createSql, insertValues, toJobInfo, type JobRow } from './postgres-sql.js';

export { DEFAULT_DATABASE_URL, DEFAULT_SCHEMA, migrate, type PostgresConnectionOptions } from './postgres-pool.js';
export { MAX_JOBS_PER_ADD } from './postgres-sql.js';

export interface PostgresQueueOptions extends PostgresConnectionOptions {
  /** Apply this package's migrations on start(). Default: false (start() then refuses an outdated schema). */
  migrate?: boolean;
  /** Connections in the adapter's pool, the LISTEN connection included. Default: 10. */
  max?: number;
  /** Wait for a connection at most this long. Default: 5000 ms. */
  connectionTimeoutMs?: number;
  /** An active job's lease, renewed every third of it while the job runs. Default: 30 000 ms. */
  leaseMs?: number;
  /** How often expired leases are looked for (and aged-out jobs deleted). Default: half of `leaseMs`. */
  stalledIntervalMs?: number;
  /** Times a job may lose its worker before it fails (dead-lettered). Default: 1. */
  maxStalledCount?: number;
  /** Fallback fetch when no notification came (a lost LISTEN connection). Default: 5000 ms. */
  pollIntervalMs?: number;
  /** Connection and background errors. Default: rate-limited console output. */
  onError?: ErrorHook;
}

export interface PostgresQueueAdapter extends QueueAdapter {
  readonly kind: 'postgres';
  readonly transactional: true;
  /** The schema holding the tables. */
  readonly schema: string;
}

export function postgresQueue(options: PostgresQueueOptions = {}): PostgresQueueAdapter {
  const checkInt = (option: string, value: number | undefined, min: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new InvalidOptionError(option, `must be an integer >= ${min}, got ${String(value)}`);
  };
  for (const [key, min] of [['max', 2], ['connectionTimeoutMs', 1], ['leaseMs', 100], ['stalledIntervalMs', 10], ['maxStalledCount', 0], ['pollIntervalMs', 10]] as const) {
    checkInt(key, options[key], min);
  }
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const sql = createSql(schema);
  const leaseMs = options.leaseMs ?? 30_000;
  const channel = channelOf(schema);
  const scheduleChannel = `${schema}.schedules`;
  // Through the tier's one error hook once started by it (`transport`, with the operation in
  // `detail.op`); used alone, through `onError`.
  const reporter = createErrorReporter('queue', options.onError);
  let hook: QueueAdapterContext['report'] | undefined;
  const report = (op: string, error: unknown, facts: { name?: string; id?: string } = {}): void =>
    (hook ?? reporter.report)('transport', error, { ...facts, detail: { op, adapter: 'postgres' } });
  let pool: pg.Pool | undefined;
  const getPool = (): pg.Pool => {
    if (!pool) throw new ClosedError('postgres queue adapter');
    return pool;
  };
  const consumers = new Set<PostgresConsumer>();
  const timers: NodeJS.Timeout[] = [];
  let listener: Listener | undefined;
  let listening = false;
  const eventsChannel = `${schema}.events`;
  const worker = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const ctx: ConsumerContext = { pool: getPool, sql, worker, leaseMs, channel, acks: new AckBatcher(getPool, sql), report };

  const notifier = new Notifier(getPool, channel, report);
  // A few INSERTs at once, the rest gathered behind them: concurrent enqueues share commits.
  const inserts = new InsertBatcher<QueueAdapterJob>(async (jobs) => void (await getPool().query({ ...sql.prepared.insert, values: insertValues(jobs) })), 3);
  // Statistics refreshed after bursts, so claims keep their indexed plan on a suddenly deep queue.
  const analyzer = new Analyzer(getPool, `${sql.schema}.jobs`, report);
  const kick = (queue?: string): void => {
    for (const c of consumers) if (queue === undefined || c.name === queue) c.kick();
  };

  // Due schedules of the queues consumed here: one tick at a time, re-armed for the next due time.
  let ticking = false;
  let tickAgain = false;
  let tickTimer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (!pool || consumers.size === 0) return;
    if (ticking) return void (tickAgain = true);
    ticking = true;
    const names = [...new Set([...consumers].map((c) => c.name))];
    const fired = new Set<string>();
    fireDue({ pool: getPool(), schema: sql.schema }, names, async (client, job) => {
      await client.query(sql.insert, insertValues([job]));
      fired.add(job.name);
    })
      .then(
        (ms) => {
          // Our own notification is skipped by our listener: wake the local workers here.
          for (const name of fired) kick(name);
          notifier.notify(fired);
          clearTimeout(tickTimer);
          if (ms !== undefined && pool) tickTimer = setTimeout(tick, Math.max(1, Math.ceil(ms)));
        },
        (err: unknown) => report('schedule', err),
      )
      .finally(() => {
        ticking = false;
        if (tickAgain) {
          tickAgain = false;
          tick();
        }
      });
  };

  // Job events of every worker, for queues with `events: 'all'` (see postgres-events.ts).
  const events = new EventPublisher({ pool: getPool, schema: sql.schema }, eventsChannel, report);
  const watchers = new Set<(event: QueueAdapterEvent) => void>();

  /** The LISTEN connection, started with the first consumer or observer. */
  function listen(): void {
    listener ??= new Listener({
      pool: getPool,
      channels: new Map<string, (payload: string, pid: number) => void>([
        [channel, (queue: string, pid: number) => void (notifier.isOwn(pid) || kick(queue))],
        [scheduleChannel, () => tick()],
        [eventsChannel, (payload: string) => {
          const event = watchers.size > 0 ? decodeEvent(payload) : undefined;
          if (event) for (const w of watchers) w(event);
        }],
      ]),
      onConnect: () => {
        kick();
        tick();
      },
      report,
    });
    if (!listening) {
      listening = true;
      listener.start();
    }
  }

  /** Timers (heartbeats, recovery, the fallback poll), started with the first consumer. */
  function background(): void {
    listen();
    if (timers.length > 0) return;
    const every = (ms: number, run: () => Promise<unknown> | void): void => {
      const t = setInterval(() => {
        if (!pool || consumers.size === 0) return;
        Promise.resolve(run()).catch((err: unknown) => report('maintenance', err));
      }, ms);
      t.unref();
      timers.push(t);
    };
    every(Math.max(10, Math.floor(leaseMs / 3)), async () => {
      const held = { queues: [] as string[], ids: [] as string[], claims: [] as number[] };
      for (const c of consumers) c.held(held);
      if (held.ids.length > 0) await getPool().query(sql.heartbeat, [ctx.worker, leaseMs, held.queues, held.ids, held.claims]);
    });
    every(options.stalledIntervalMs ?? Math.floor(leaseMs / 2), async () => {
      const recovered = await getPool().query<{ queue: string }>(sql.recover, [options.maxStalledCount ?? 1, channel]);
      // Its NOTIFY may come back on a backend the notifier used, and be taken for one already acted on.
      for (const { queue } of recovered.rows) kick(queue);
      await getPool().query(sql.expire);
    });
    every(options.pollIntervalMs ?? 5000, () => {
      kick();
      tick();
    });
    every(1000, () => events.refresh());
  }

  const adapter: PostgresQueueAdapter = {
    kind: 'postgres',
    transactional: true,
    schema,
    deadLetters: createPostgresDeadLetterStore(getPool, sql.schema),
    // Job administration (postgres-admin.ts); a job moved to waiting wakes the workers here and elsewhere.
    admin: createPostgresAdmin({
      pool: getPool,
      schema: sql.schema,
      wake: (name) => {
        kick(name);
        notifier.notify([name]);
      },
    }),
    health() {
      return { connected: pool !== undefined && (listener?.connected ?? true), counts: { waitingForConnection: pool?.waitingCount ?? 0 } };
    },
    async start(context?: QueueAdapterContext) {
      if (context) hook = context.report;
      if (!pool) {
        const created = options.pool ?? newPool(options);
        // An idle pooled connection that drops emits here; without a listener it would crash the process.
        if (!options.pool) created.on('error', (err) => report('connection', err));
        // Your pool's new connections notify apart too; those already open notify in the insert (slower, as correct).
        else created.on('connect', (client) => void client.query(`SET ${QUIET.replace('=', ' = ')}`).catch(() => undefined));
        pool = created;
      }
      try {
        if (options.migrate) await runMigrations(pool, schema);
        else await checkVersion(pool, schema);
      } catch (err) {
        if (!options.pool) await pool.end().catch(() => undefined);
        pool = undefined;
        throw err;
      }
    },
    async add(jobs, addOptions) {
      if (jobs.length === 0) return [];
      checkBulk(jobs.length);
      if (addOptions?.transaction) {
        // Your session: the trigger notifies inside your transaction, delivered on your COMMIT.
        await addOptions.transaction.query(sql.insert, insertValues(jobs));
        analyzer.added(jobs.length);
        return jobs.map((j) => j.id);
      }
      await bounded(inserts.add(jobs), addOptions);
      analyzer.added(jobs.length);
      const names = new Set(jobs.map((j) => j.name));
      for (const name of names) kick(name);
      notifier.notify(names);
      return jobs.map((j) => j.id);
    },
    async consume(name, handler, consumeOptions) {
      getPool();
      await events.refresh();
      const onEvent = (event: QueueAdapterEvent): void => {
        consumeOptions.onEvent(event);
        events.publish(event);
      };
      const consumer = new PostgresConsumer({ name, handler, options: { ...consumeOptions, onEvent } }, ctx);
      consumers.add(consumer);
      background();
      consumer.kick();
      tick();
      return {
        get running() {
          return consumer.active;
        },
        close: async (closeOptions) => {
          await consumer.close(closeOptions);
          consumers.delete(consumer);
        },
      };
    },
    async schedule(id, spec, template) {
      await upsertSchedule({ pool: getPool(), schema: sql.schema }, id, { ...spec, template });
      await getPool().query('SELECT pg_notify($1, $2)', [scheduleChannel, template.name]);
    },
    async watch(onEvent) {
      const id = `${worker}:${randomUUID().slice(0, 8)}`;
      const { upsert, remove } = observerSql(sql.schema);
      await getPool().query(upsert, [id]);
      events.observe();
      watchers.add(onEvent);
      listen();
      const renew = setInterval(() => void getPool().query(upsert, [id]).catch((err: unknown) => report('events', err)), OBSERVER_TTL_MS / 3);
      renew.unref();
      return async () => {
        clearInterval(renew);
        watchers.delete(onEvent);
        await getPool().query(remove, [id]).catch((err: unknown) => report('events', err));
      };
    },
    async unschedule(name, id) {
      return removeSchedule({ pool: getPool(), schema: sql.schema }, name, id);
    },
    async getJob(name, id): Promise<StoredJobInfo | undefined> {
      const { rows } = await getPool().query<JobRow>(sql.getJob, [name, id]);
      return rows[0] ? toJobInfo(rows[0]) : undefined;
    },
    async counts(name): Promise<JobCounts> {
      const { rows } = await getPool().query<JobCounts>(sql.counts, [name]);
      return rows[0] ?? { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    },
    async close(closeOptions = {}) {
      // Also after a failed start: everything is released and start() may be called again.
      const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      await Promise.all([...consumers].map((c) => c.close(closeOptions)));
      consumers.clear();
      await drainWithin(notifier.idle(), 1000);
      for (const t of timers.splice(0)) clearInterval(t);
      clearTimeout(tickTimer);
      await drainWithin(listener?.close() ?? Promise.resolve(), 1000);
      listener = undefined;
      listening = false;
      const owned = pool && !options.pool ? pool : undefined;
      pool = undefined;
      // pg's end() waits for checked-out clients: bounded, so close settles with the server unreachable.
      if (owned) await drainWithin(owned.end(), timeoutMs);
    },
  };
  return adapter;
}
