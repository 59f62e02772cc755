/**
 * Scale rows: does processing slow down when a queue is deep? (issue 14; what a team sizing
 * workers for a backlog reads). For each backend, the same worker (our queue, concurrency 10)
 * drains a fixed batch of K jobs from the head of one queue that holds D jobs of the same name:
 *
 *   Redis (BullMQ)   D = 0 and 1,000,000   (quick 10,000, smoke 1,000)
 *   PostgreSQL       D = 0 and   100,000   (quick 10,000, smoke 1,000)
 *
 * D = 0 is the same drain on a queue holding only the K jobs. The backlog is stored before the
 * measured phase (not measured) with `enqueueMany` in chunks of 5,000, in our job format, so the
 * jobs the worker takes are backlog jobs like any others; the measured figure is jobs/s of the
 * drain and CPU µs per job of this process (producer idle), plus Redis's CPU on Redis. The latency
 * column means nothing here (each completion is stamped when it happens).
 *
 * Cleanup: every row's Redis prefix / PostgreSQL schema carries this process's pid and is listed
 * in an owners hash (Redis) / found by name (PostgreSQL); it is deleted after the row, failed or
 * not (SCAN + UNLINK, DROP SCHEMA), and a row first deletes what a killed earlier run (its pid
 * gone) left behind. Nothing is flushed.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { createQueue, type Queue } from '@events/queue';
import { bullmqQueue } from '@events/queue/bullmq';
import { postgresQueue } from '@events/queue/postgres';
import { withTimeout, type QueueAdapter } from '@events/core';
import { now } from '../clock.js';
import { makePayload, type BenchPayload } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type Mode, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { deletePrefix, JOB_NAME } from './queue-bullmq.js';
import { DATABASE_URL } from './queue-postgres.js';
import { redisClient } from './pubsub-redis.js';

const { Pool } = createRequire(import.meta.url)('pg') as typeof pg;

type Jobs = { [JOB_NAME]: BenchPayload };
type Transport = 'bullmq' | 'postgres';

const SIZE = 100;
const CONCURRENCY = 10;
const CHUNK = 5_000;
/** Chunks in flight while filling. */
const FILL_AT_ONCE = 4;
/** K, the measured batch, in every mode but smoke (whose message budget is 200): a drain of about 2 s here. */
const BATCH = 5_000;
const DEEP: Record<Transport, Record<Mode, number>> = {
  bullmq: { full: 1_000_000, quick: 10_000, smoke: 1_000 },
  postgres: { full: 100_000, quick: 10_000, smoke: 1_000 },
};
/** Owners of the Redis prefixes of these rows: prefix -> pid. */
const OWNERS_KEY = 'bench-scaleq:owners';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Backend {
  adapter(): QueueAdapter;
  cleanup(): Promise<void>;
}

async function redisBackend(): Promise<Backend> {
  const prefix = uniqueName(`bench-scaleq-${process.pid}`);
  const redis = redisClient();
  try {
    await withTimeout(redis.connect(), 10_000, 'redis connect');
    // What a killed earlier run left behind (its process is gone).
    for (const [old, pid] of Object.entries(await redis.hgetall(OWNERS_KEY))) {
      if (alive(Number(pid))) continue;
      await deletePrefix(old);
      await redis.hdel(OWNERS_KEY, old);
    }
    await redis.hset(OWNERS_KEY, prefix, String(process.pid));
  } finally {
    redis.disconnect();
  }
  return {
    adapter: () => bullmqQueue({ url: REDIS_URL, prefix }),
    async cleanup() {
      await deletePrefix(prefix);
      const r = redisClient();
      try {
        await r.connect();
        await r.hdel(OWNERS_KEY, prefix);
      } finally {
        r.disconnect();
      }
    },
  };
}

async function sql(text: string): Promise<Array<Record<string, unknown>>> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    return (await pool.query(text)).rows as Array<Record<string, unknown>>;
  } finally {
    await pool.end();
  }
}

async function postgresBackend(): Promise<Backend> {
  const schema = uniqueName(`bench_scaleq_${process.pid}`).replace('-', '_');
  // Schemas of killed earlier runs: bench_scaleq_<pid>_<hex>.
  for (const row of await sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_scaleq\\_%'")) {
    const name = String(row['nspname']);
    const pid = Number(/^bench_scaleq_(\d+)_/.exec(name)?.[1]);
    if (Number.isInteger(pid) && !alive(pid)) await sql(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  }
  return {
    adapter: () => postgresQueue({ connectionString: DATABASE_URL, schema, migrate: true }),
    cleanup: async () => void (await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
  };
}

/** Stores `count` jobs, CHUNK per enqueueMany, FILL_AT_ONCE chunks in flight. */
async function fill(producer: Queue<Jobs>, count: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const from = next;
      const n = Math.min(CHUNK, count - from);
      next += n;
      await producer.enqueueMany(Array.from({ length: n }, (_, k) => ({ name: JOB_NAME, payload: makePayload(SIZE, 0, from + k) })), { timeoutMs: 60_000 });
    }
  };
  await Promise.all(Array.from({ length: FILL_AT_ONCE }, lane));
}

async function run(ctx: RowContext, transport: Transport, deep: boolean): Promise<PhaseResult> {
  const backend = transport === 'bullmq' ? await redisBackend() : await postgresBackend();
  const open = (): Queue<Jobs> => createQueue<Jobs>({ adapter: backend.adapter(), onError: (event) => ctx.rec.fail(event.error) });
  const producer = open();
  let worker: Queue<Jobs> | undefined;
  try {
    await withTimeout(producer.start(), 10_000, 'queue start');
    let filled = false;
    return await ctx.measure({
      complete: 'delivery',
      async beforePhase(measured) {
        await worker?.close({ timeoutMs: 5_000 });
        worker = undefined;
        // The backlog once, then the jobs of this phase behind it (the worker drains the head).
        if (deep && !filled) await fill(producer, DEEP[transport][ctx.mode]);
        filled = true;
        await fill(producer, measured ? ctx.drive.messages : ctx.drive.warmup);
      },
      send: (_stamp, i) => {
        if (i > 0) return;
        worker = open();
        return worker.process(JOB_NAME, () => void ctx.rec.hit(now()), { concurrency: CONCURRENCY });
      },
    });
  } finally {
    await worker?.close({ timeoutMs: 5_000 }).catch(() => undefined);
    await producer.close({ timeoutMs: 5_000 }).catch(() => undefined);
    await backend.cleanup();
  }
}

function row(transport: Transport, deep: boolean): RowDef {
  const depth = DEEP[transport];
  const label = deep ? `${depth.full.toLocaleString('en')} (quick ${depth.quick.toLocaleString('en')}, smoke ${depth.smoke.toLocaleString('en')})` : '0';
  // Filling the backlog is setup, but it must fit in the row's hard limit: ~14 s per 100,000 jobs measured on a loaded machine, 25 s allowed.
  const fillMs = (mode: Mode): number => (deep ? Math.ceil(depth[mode] / 100_000) * 25_000 : 0);
  const phaseMs: Record<Mode, number> = { full: 2_500, quick: 200, smoke: 60 };
  const budget = (mode: Mode): number => fillMs(mode) + phaseMs[mode];
  return {
    id: `scale/queue-depth/${transport}/ours/${deep ? 'deep' : 'empty'}`,
    tier: 'queue',
    transport: transport === 'bullmq' ? 'bullmq (Redis)' : 'postgres',
    impl: 'ours',
    scenario: `scale: drain K jobs from the head, concurrency ${CONCURRENCY}, with ${label} jobs waiting behind`,
    payloadBytes: SIZE,
    pair: `scale/queue-depth/${transport}/${deep ? 'deep' : 'empty'}`,
    ...(transport === 'bullmq' ? { broker: 'redis' as const } : {}),
    fanout: 1,
    maxMessages: BATCH,
    // Every job of the phase is "sent" at once (the fill): the window is the whole batch.
    inflight: BATCH,
    maxMs: { full: budget('full'), quick: budget('quick'), smoke: budget('smoke') },
    run: (ctx) => run(ctx, transport, deep),
  };
}

export const scaleQueueRows: RowDef[] = [row('bullmq', false), row('bullmq', true), row('postgres', false), row('postgres', true)];
