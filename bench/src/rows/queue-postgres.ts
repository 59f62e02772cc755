/**
 * The queue on PostgreSQL (`@events/queue/postgres`) beside the same scenarios on BullMQ + Redis,
 * in one run: enqueue (window 500, as the BullMQ rows), enqueue one by one (each awaited before
 * the next), enqueue in bulk, enqueue -> process at concurrency 10, a drain of a filled queue at
 * concurrency 10, and enqueue -> handler latency with an idle worker (one job in flight). The
 * PostgreSQL rows use a fresh schema each, dropped afterwards; the Redis rows a fresh prefix.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { createQueue, type Queue } from '@events/queue';
import { bullmqQueue } from '@events/queue/bullmq';
import { postgresQueue } from '@events/queue/postgres';
import type { QueueAdapter } from '@events/core';
import { withTimeout } from '@events/core';
import { now } from '../clock.js';
import { benchTracing } from '../otel.js';
import { makePayload, sizeLabel, stampOf, type BenchPayload } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { deletePrefix, JOB_NAME } from './queue-bullmq.js';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { Pool } = createRequire(import.meta.url)('pg') as typeof pg;

type Jobs = { [JOB_NAME]: BenchPayload };
type Scenario = 'add' | 'add-c1' | 'addBulk' | 'process-c10' | 'process-c50' | 'drain-c10' | 'latency';

/** A backend for one row: a fresh adapter per call (a queue object each), and cleanup after. */
interface Backend {
  adapter(): QueueAdapter;
  cleanup(): Promise<void>;
}

function postgresBackend(): Backend {
  const schema = uniqueName('bench').replace('-', '_');
  return {
    adapter: () => postgresQueue({ connectionString: DATABASE_URL, schema, migrate: true }),
    async cleanup() {
      const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

function redisBackend(): Backend {
  const prefix = uniqueName('bench');
  return { adapter: () => bullmqQueue({ url: REDIS_URL, prefix }), cleanup: () => deletePrefix(prefix) };
}

async function open(backend: Backend, ctx: RowContext): Promise<Queue<Jobs>> {
  const queue = createQueue<Jobs>({ adapter: backend.adapter(), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  await withTimeout(queue.start(), 10_000, 'queue start');
  return queue;
}

/** Fills the queue with `count` jobs (not measured), then a worker drains it: jobs/s of the drain alone. */
async function drain(ctx: RowContext, backend: Backend, producer: Queue<Jobs>, size: number): Promise<PhaseResult> {
  let worker: Queue<Jobs> | undefined;
  try {
    return await ctx.measure({
      complete: 'delivery',
      async beforePhase(measured) {
        await worker?.close({ timeoutMs: 5_000 });
        worker = undefined;
        const count = measured ? ctx.drive.messages : ctx.drive.warmup;
        for (let i = 0; i < count; i += 500) {
          const n = Math.min(500, count - i);
          await producer.enqueueMany(Array.from({ length: n }, (_, k) => ({ name: JOB_NAME, payload: makePayload(size, 0, i + k) })));
        }
      },
      send: (_stamp, i) => {
        if (i > 0) return;
        worker = createQueue<Jobs>({ adapter: backend.adapter(), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
        // The latency column of a drain is not a path latency: each hit is stamped now.
        return worker.process(JOB_NAME, () => void ctx.rec.hit(now()), { concurrency: 10 });
      },
    });
  } finally {
    await worker?.close({ timeoutMs: 5_000 }).catch(() => undefined);
  }
}

async function run(ctx: RowContext, backend: Backend, size: number, scenario: Scenario): Promise<PhaseResult> {
  const queue = await open(backend, ctx);
  try {
    if (scenario === 'drain-c10') return await drain(ctx, backend, queue, size);
    if (scenario === 'process-c10' || scenario === 'process-c50' || scenario === 'latency') {
      const concurrency = { 'process-c10': 10, 'process-c50': 50, latency: 1 }[scenario];
      await queue.process(JOB_NAME, async (payload) => void ctx.rec.hit(stampOf(payload)), { concurrency });
    }
    if (scenario === 'addBulk') {
      return await ctx.measure({
        batch: 100,
        complete: 'ack',
        send: (stamp, i) => queue.enqueueMany(Array.from({ length: 100 }, (_, k) => ({ name: JOB_NAME, payload: makePayload(size, stamp, i + k) }))),
      });
    }
    const ack = scenario === 'add' || scenario === 'add-c1';
    return await ctx.measure({ complete: ack ? 'ack' : 'delivery', send: (stamp, i) => queue.enqueue(JOB_NAME, makePayload(size, stamp, i)) });
  } finally {
    await queue.close({ timeoutMs: 5_000 }).catch(() => undefined);
    await backend.cleanup();
  }
}

const LABELS: Record<Scenario, string> = {
  add: 'add (no worker)',
  'add-c1': 'add one by one, awaited (no worker)',
  addBulk: 'addBulk x100 (no worker)',
  'process-c10': 'add -> process, concurrency 10',
  'process-c50': 'add -> process, concurrency 50',
  'drain-c10': 'drain a filled queue, concurrency 10',
  latency: 'add -> handler, idle worker (1 in flight)',
};

function rowsFor(transport: 'postgres' | 'bullmq', scenarios: readonly Scenario[]): RowDef[] {
  const size = 100;
  return scenarios.map((scenario) => ({
    id: `queue/${transport}/ours/${scenario}/${sizeLabel(size)}`,
    tier: 'queue',
    transport,
    impl: 'ours',
    scenario: LABELS[scenario],
    payloadBytes: size,
    pair: `queue/${transport}/${scenario}/${size}`,
    broker: transport === 'bullmq' ? 'redis' : undefined,
    fanout: 1,
    // Jobs left without a worker, or filled before a drain, are bounded.
    maxMessages: scenario === 'drain-c10' ? 5_000 : scenario === 'latency' || scenario === 'add-c1' ? 2_000 : 50_000,
    inflight: { add: 500, 'add-c1': 1, addBulk: 1_000, 'process-c10': 50, 'process-c50': 250, 'drain-c10': 5_000, latency: 1 }[scenario],
    latencyIs: scenario === 'add' || scenario === 'add-c1' || scenario === 'addBulk' ? 'send->ack' : 'send->handler',
    run: (ctx: RowContext) => run(ctx, transport === 'postgres' ? postgresBackend() : redisBackend(), size, scenario),
  }));
}

/** Every scenario on PostgreSQL; on Redis, the ones the BullMQ rows do not already cover. */
export const oursQueuePostgresRows: RowDef[] = rowsFor('postgres', ['add', 'add-c1', 'addBulk', 'process-c10', 'process-c50', 'drain-c10', 'latency']);
export const oursQueueRedisExtraRows: RowDef[] = rowsFor('bullmq', ['add-c1', 'drain-c10', 'latency']);
