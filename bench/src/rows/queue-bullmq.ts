/**
 * Queue on BullMQ: enqueue (one at a time and in bulk) and processing at several concurrencies,
 * beside a plain BullMQ Queue + Worker given the job options our queue uses by default (3
 * attempts, exponential backoff, completed jobs kept for an hour / 1 000), so Redis does the same
 * work per job. Every row uses a fresh key prefix and unlinks exactly its own keys afterwards.
 */
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { withTimeout } from '@events/core';
import { makePayload, sizeLabel, stampOf, type BenchPayload } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { redisClient } from './pubsub-redis.js';

export const JOB_NAME = 'sendWelcomeEmail';

const RAW_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.2 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 14 * 24 * 3600, count: 10_000 },
};

/** Unlinks every key under `prefix:` (SCAN, never FLUSH). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = redisClient();
  try {
    await withTimeout(redis.connect(), 10_000, 'redis connect for cleanup');
    let cursor = '0';
    do {
      // COUNT 5000: a scale row leaves a million keys; fewer round trips over the whole keyspace.
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export type QueueScenario = { kind: 'add' } | { kind: 'addBulk'; batch: number } | { kind: 'process'; concurrency: number };

function connectionOptions(): { url: string } {
  return { url: REDIS_URL };
}

async function rawBullmq(ctx: RowContext, size: number, scenario: QueueScenario): Promise<PhaseResult> {
  const prefix = uniqueName('bench');
  const connection = { ...connectionOptions(), maxRetriesPerRequest: null };
  const queue = new Queue(JOB_NAME, { connection, prefix });
  let worker: Worker | undefined;
  try {
    await withTimeout(queue.waitUntilReady(), 10_000, 'bullmq queue ready');
    if (scenario.kind === 'process') {
      const processor = async (job: { data: BenchPayload }): Promise<void> => {
        ctx.rec.hit(stampOf(job.data));
      };
      worker = new Worker(JOB_NAME, processor, { connection, prefix, concurrency: scenario.concurrency });
      worker.on('error', (error) => ctx.rec.fail(error));
      await withTimeout(worker.waitUntilReady(), 10_000, 'bullmq worker ready');
    }
    if (scenario.kind === 'addBulk') {
      const batch = scenario.batch;
      return await ctx.measure({
        batch,
        complete: 'ack',
        send: (stamp, i) =>
          queue.addBulk(Array.from({ length: batch }, (_, k) => ({ name: JOB_NAME, data: makePayload(size, stamp, i + k), opts: RAW_JOB_OPTIONS }))),
      });
    }
    return await ctx.measure({
      complete: scenario.kind === 'add' ? 'ack' : 'delivery',
      send: (stamp, i) => queue.add(JOB_NAME, makePayload(size, stamp, i), RAW_JOB_OPTIONS),
    });
  } finally {
    await worker?.close(true).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await deletePrefix(prefix);
  }
}

export type QueueRunner = (ctx: RowContext, size: number, scenario: QueueScenario) => Promise<PhaseResult>;

function slugOf(s: QueueScenario): string {
  return s.kind === 'process' ? `process-c${s.concurrency}` : s.kind;
}

function labelOf(s: QueueScenario): string {
  if (s.kind === 'add') return 'add (no worker)';
  if (s.kind === 'addBulk') return `addBulk x${s.batch} (no worker)`;
  return `add -> process, concurrency ${s.concurrency}`;
}

export function queueRows(transport: 'bullmq' | 'memory', impl: 'ours' | 'raw', run: QueueRunner): RowDef[] {
  const cells: Array<{ size: number; scenario: QueueScenario }> = [
    { size: 100, scenario: { kind: 'add' } },
    { size: 10_240, scenario: { kind: 'add' } },
    { size: 100, scenario: { kind: 'addBulk', batch: 100 } },
    { size: 10_240, scenario: { kind: 'addBulk', batch: 100 } },
    { size: 100, scenario: { kind: 'process', concurrency: 1 } },
    { size: 10_240, scenario: { kind: 'process', concurrency: 1 } },
    { size: 100, scenario: { kind: 'process', concurrency: 10 } },
    { size: 100, scenario: { kind: 'process', concurrency: 50 } },
    { size: 10_240, scenario: { kind: 'process', concurrency: 50 } },
    { size: 100, scenario: { kind: 'process', concurrency: 100 } },
  ];
  return cells.map(({ size, scenario }) => {
    const slug = slugOf(scenario);
    const concurrency = scenario.kind === 'process' ? scenario.concurrency : 0;
    return {
      id: `queue/${transport}/${impl}/${slug}/${sizeLabel(size)}`,
      tier: 'queue',
      transport,
      impl,
      scenario: concurrency === 10 || concurrency === 100 ? `scaling: ${labelOf(scenario)}` : labelOf(scenario),
      payloadBytes: size,
      pair: `queue/${transport}/${slug}/${size}`,
      broker: transport === 'bullmq' ? 'redis' : undefined,
      fanout: 1,
      // Jobs waiting without a worker stay in Redis until the row deletes them: bound them.
      maxMessages: scenario.kind === 'process' ? undefined : size > 1_000 ? 10_000 : 50_000,
      inflight: scenario.kind === 'addBulk' ? 1_000 : scenario.kind === 'add' ? 500 : Math.max(50, 4 * concurrency),
      latencyIs: scenario.kind === 'process' ? 'send->handler' : 'send->ack',
      target: impl === 'ours' && transport === 'bullmq' ? 0.9 : undefined,
      run: (ctx) => run(ctx, size, scenario),
    } satisfies RowDef;
  });
}

export const rawQueueBullmqRows = queueRows('bullmq', 'raw', rawBullmq);
