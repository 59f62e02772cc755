/**
 * Dead letters that must not be lost or mislead: a failed dead-letter write is reported and the
 * record comes back from BullMQ's failed set; a plain BullMQ worker's final failures reach our
 * view (list, replay); a letter no worker can serve is refused by replay with the reason.
 */
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorEvent } from '@events/core';
import { REDIS_URL, spawnTs, waitFor } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { memoryQueue } from '../src/adapters/memory.js';
import { DEFAULT_JOB_OPTIONS } from '../src/options.js';
import { createQueue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('dead letters kept and honest (bullmq)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a failed dead-letter write is reported, the job keeps its own error, and the record comes back from the failed set', async () => {
    const prefix = randomPrefix();
    const redis = new Redis(REDIS_URL);
    const events: ErrorEvent[] = [];
    const q = createQueue<{ pay: { n: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), onError: (e) => events.push(e) });
    const bull = new BullQueue('pay', { connection: redis.duplicate(), prefix });
    cleanups.push(async () => {
      await q.close();
      await bull.close();
      redis.disconnect();
      await deletePrefix(prefix);
    });
    // The dead-letter hash is the wrong type: every write to it fails (WRONGTYPE).
    await redis.set(`${prefix}:#dead-letters`, 'not a hash');
    await q.process('pay', () => {
      throw new RangeError('card declined');
    });
    const id = await q.enqueue('pay', { n: 1 }, { attempts: 1 });
    await waitFor(() => events.some((e) => e.kind === 'dead-letter'), 10_000, 'the dead-letter failure report');
    const report = events.find((e) => e.kind === 'dead-letter')!;
    expect(report).toMatchObject({ tier: 'queue', name: 'pay', id });
    expect(report.error.message).toMatch(/WRONGTYPE/);
    await waitFor(async () => (await bull.getJobState(id)) === 'failed', 10_000, 'the job to be failed');
    expect((await bull.getJob(id))!.failedReason).toBe('card declined');
    await redis.del(`${prefix}:#dead-letters`);
    const letters = await q.deadLetters.list({ name: 'pay' });
    expect(letters).toMatchObject([{ id, name: 'pay', payload: { n: 1 }, error: { message: 'card declined' }, attemptsMade: 1 }]);
  }, 30_000);

  it('a stalled job whose dead-letter write fails: reported, and the record comes back from the failed set', async () => {
    const prefix = randomPrefix();
    const redis = new Redis(REDIS_URL);
    const events: ErrorEvent[] = [];
    const producer = createQueue<{ work: { ms: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await producer.close();
      redis.disconnect();
      await deletePrefix(prefix);
    });
    const id = await producer.enqueue('work', { ms: 60_000 });
    const doomed = spawnTs(cli, ['run', 'packages/queue/test/fixtures/fault-worker.ts'], { cwd: root, env: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL, CONCURRENCY: '1', MAX_STALLED: '0' } });
    cleanups.push(async () => {
      if (doomed.child.exitCode === null && doomed.child.signalCode === null) doomed.child.kill('SIGKILL');
      await doomed.exited;
    });
    await waitFor(async () => (await producer.counts('work')).active === 1, 20_000, 'the job to start');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await redis.set(`${prefix}:#dead-letters`, 'not a hash');
    const rescuer = createQueue<{ work: { ms: number } }>({
      adapter: bullmqQueue({ url: REDIS_URL, prefix, lockDuration: 1000, stalledInterval: 300, maxStalledCount: 0 }),
      onError: (e) => events.push(e),
    });
    cleanups.push(() => rescuer.close({ timeoutMs: 1000 }));
    await rescuer.process('work', () => undefined);
    await waitFor(() => events.some((e) => e.kind === 'dead-letter' && e.id === id), 20_000, 'the failed write to be reported');
    expect(events.find((e) => e.kind === 'stall')).toMatchObject({ name: 'work', id });
    await redis.del(`${prefix}:#dead-letters`);
    expect(await producer.deadLetters.list()).toMatchObject([{ id, name: 'work', payload: { ms: 60_000 }, error: { message: 'job stalled more than allowable limit' } }]);
  }, 60_000);

  it("a job a plain BullMQ worker fails for good reaches the dead-letter view, and replay takes it out for good", async () => {
    const prefix = randomPrefix();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const q = createQueue<{ resize: { w: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), names: ['resize'] });
    const plain = new BullWorker(
      'resize',
      async () => {
        throw new Error('plain worker says no');
      },
      { connection, prefix },
    );
    cleanups.push(async () => {
      await plain.close();
      await q.close();
      connection.disconnect();
      await deletePrefix(prefix);
    });
    const id = await q.enqueue('resize', { w: 640 }, { attempts: 1 });
    await waitFor(async () => (await q.counts('resize')).failed === 1, 10_000, 'the plain worker to fail the job');
    expect(await q.deadLetters.list()).toMatchObject([{ id, name: 'resize', payload: { w: 640 }, error: { message: 'plain worker says no' } }]);
    expect(await q.deadLetters.count({ name: 'resize' })).toBe(1);
    await plain.close();

    const replayedFrom: string[] = [];
    await q.process('resize', (_p, ctx) => void replayedFrom.push(ctx.envelope.headers.replayOf ?? ''));
    const result = await q.deadLetters.replay({ name: 'resize' });
    expect(result.replayed).toMatchObject([{ from: id, name: 'resize' }]);
    await waitFor(() => replayedFrom.length === 1);
    expect(replayedFrom).toEqual([id]);
    // Out of BullMQ's failed set too: not imported again after the import interval.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await q.deadLetters.count()).toBe(0);
  }, 30_000);
});

describe('replay of a letter no worker serves', () => {
  it('is refused with the reason, the letter kept, nothing enqueued', async () => {
    const adapter = memoryQueue();
    const q = createQueue({ adapter, onError: () => undefined });
    const { attempts, backoff, removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS;
    adapter.injectRaw({ queue: 'known', name: 'stranger', id: 'foreign-1', raw: '{"x":1}', options: { attempts, backoff, removeOnComplete, removeOnFail, delayMs: 0, priority: 0 } });
    await q.process('known', () => undefined);
    await waitFor(async () => (await q.deadLetters.count()) === 1);
    const result = await q.deadLetters.replay();
    expect(result.replayed).toEqual([]);
    expect(result.skipped).toEqual([{ id: 'foreign-1', reason: expect.stringMatching(/no worker serves "stranger" where it was found .*enqueue its payload under a job name a worker serves/) }]);
    expect(await q.deadLetters.count()).toBe(1);
    expect((await q.counts('stranger')).waiting).toBe(0);
    await q.close();
  });
});
