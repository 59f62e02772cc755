/**
 * Our queue tier on BullMQ (beside plain BullMQ) and in memory (no raw baseline: it is the same
 * semantics in one process, shown for its own cost and scaling).
 */
import { createQueue, type Queue } from '@events/queue';
import { bullmqQueue } from '@events/queue/bullmq';
import { memoryQueue } from '@events/queue/memory';
import { withTimeout } from '@events/core';
import { benchTracing } from '../../otel.js';
import { makePayload, stampOf, type BenchPayload } from '../../payload.js';
import { REDIS_URL } from '../../resources.js';
import { uniqueName, type RowContext } from '../../row.js';
import type { PhaseResult } from '../../driver.js';
import { deletePrefix, JOB_NAME, queueRows, type QueueScenario } from '../queue-bullmq.js';

type Jobs = { [JOB_NAME]: BenchPayload };

async function drive(ctx: RowContext, queue: Queue<Jobs>, size: number, scenario: QueueScenario): Promise<PhaseResult> {
  if (scenario.kind === 'process') {
    await queue.process(
      JOB_NAME,
      async (payload) => {
        ctx.rec.hit(stampOf(payload));
      },
      { concurrency: scenario.concurrency },
    );
  }
  if (scenario.kind === 'addBulk') {
    const batch = scenario.batch;
    return ctx.measure({
      batch,
      complete: 'ack',
      send: (stamp, i) => queue.enqueueMany(Array.from({ length: batch }, (_, k) => ({ name: JOB_NAME, payload: makePayload(size, stamp, i + k) }))),
    });
  }
  return ctx.measure({
    complete: scenario.kind === 'add' ? 'ack' : 'delivery',
    send: (stamp, i) => queue.enqueue(JOB_NAME, makePayload(size, stamp, i)),
  });
}

async function oursBullmq(ctx: RowContext, size: number, scenario: QueueScenario): Promise<PhaseResult> {
  const prefix = uniqueName('bench');
  const queue = createQueue<Jobs>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  try {
    await withTimeout(queue.start(), 10_000, 'queue bullmq start');
    return await drive(ctx, queue, size, scenario);
  } finally {
    await queue.close({ timeoutMs: 5_000 }).catch(() => undefined);
    await deletePrefix(prefix);
  }
}

async function oursMemory(ctx: RowContext, size: number, scenario: QueueScenario): Promise<PhaseResult> {
  const queue = createQueue<Jobs>({ adapter: memoryQueue(), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  try {
    return await drive(ctx, queue, size, scenario);
  } finally {
    await queue.close({ force: true });
  }
}

export const oursQueueBullmqRows = queueRows('bullmq', 'ours', oursBullmq);
export const oursQueueMemoryRows = queueRows('memory', 'ours', oursMemory);
