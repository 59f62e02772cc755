/**
 * Fault tests against real Redis: worker processes SIGKILLed mid-job (BullMQ stalled-job recovery
 * must hand every job to another worker: none lost over 1,000 jobs), a clean SIGTERM drain, and
 * the Redis connection cut and restored under a live worker.
 */
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, spawnTs, startTcpProxy, waitFor, type SpawnedTs } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createQueue, type Queue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const fixture = 'packages/queue/test/fixtures/fault-worker.ts';

describe('faults (bullmq, real Redis)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** The CLI (`events-worker run <fixture>`) from source, in a child process. */
  function worker(prefix: string, concurrency = 10, env: Record<string, string> = {}): SpawnedTs {
    const w = spawnTs(cli, ['run', fixture], { cwd: root, env: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL, CONCURRENCY: String(concurrency), ...env } });
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    return w;
  }

  it('recovers jobs of workers killed with SIGKILL mid-job: 1,000 jobs, none lost', async () => {
    const prefix = randomPrefix();
    const redis = new Redis(REDIS_URL);
    const producer = createQueue<{ work: { ms: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    const bull = new BullQueue('work', { connection: redis.duplicate(), prefix });
    cleanups.push(async () => {
      await producer.close();
      await bull.close();
      redis.disconnect();
      await deletePrefix(prefix);
    });
    await producer.enqueueMany(Array.from({ length: 1000 }, () => ({ name: 'work' as const, payload: { ms: 15 } })));
    const done = (): Promise<number> => redis.scard(`${prefix}:test:done`);

    const a = worker(prefix);
    await waitFor(async () => (await done()) >= 150, 20_000, 'worker A to finish 150 jobs');
    a.child.kill('SIGKILL');
    await a.exited;
    // Still 'active' in Redis: jobs the dead process held when it died (their locks run out later).
    const activeAtKillA = (await bull.getJobs(['active'])).map((j) => j.id!);
    expect(activeAtKillA.length).toBeGreaterThan(0);

    const b = worker(prefix);
    await waitFor(async () => (await done()) >= 500, 20_000, 'worker B to pass 500 jobs');
    b.child.kill('SIGKILL');
    await b.exited;
    const activeAtKillB = (await bull.getJobs(['active'])).map((j) => j.id!);
    expect(activeAtKillB.length).toBeGreaterThan(0);

    const c = worker(prefix);
    await waitFor(async () => (await done()) === 1000, 30_000, 'all 1000 jobs done');
    await producer.waitUntilIdle({ timeoutMs: 10_000 });
    expect(await done()).toBe(1000);
    expect(await producer.deadLetters.count()).toBe(0);
    // Jobs cut off mid-run were completed (last run) by a later process.
    const by = await redis.hgetall(`${prefix}:test:by`);
    for (const id of activeAtKillA) expect([String(b.child.pid), String(c.child.pid)]).toContain(by[id]);
    for (const id of activeAtKillB) expect(by[id]).toBe(String(c.child.pid));
    // At-least-once: a job killed after its work but before BullMQ recorded completion runs twice.
    expect(Number(await redis.get(`${prefix}:test:runs`))).toBeGreaterThanOrEqual(1000);
    c.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  }, 90_000);

  it('drains active jobs on SIGTERM and exits 0', async () => {
    const prefix = randomPrefix();
    const redis = new Redis(REDIS_URL);
    const producer = createQueue<{ work: { ms: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await producer.close();
      redis.disconnect();
      await deletePrefix(prefix);
    });
    const w = worker(prefix, 2);
    await waitFor(() => w.output().includes('ready'), 20_000, 'worker ready');
    const ids = await producer.enqueueMany([{ name: 'work', payload: { ms: 600 } }, { name: 'work', payload: { ms: 600 } }]);
    await waitFor(async () => (await producer.counts('work')).active === 2, 10_000, 'both jobs active');
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code).toBe(0);
    expect(w.output()).toContain('SIGTERM, draining');
    expect((await redis.smembers(`${prefix}:test:done`)).sort()).toEqual([...ids].sort());
    expect(await producer.counts('work')).toMatchObject({ active: 0, waiting: 0 });
  }, 60_000);

  it('dead-letters a job BullMQ fails for stalling more than maxStalledCount', async () => {
    const prefix = randomPrefix();
    const producer = createQueue<{ work: { ms: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await producer.close();
      await deletePrefix(prefix);
    });
    const id = await producer.enqueue('work', { ms: 60_000 });
    const doomed = worker(prefix, 1, { MAX_STALLED: '0' });
    await waitFor(async () => (await producer.counts('work')).active === 1, 20_000, 'the job to start');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const rescuer = createQueue<{ work: { ms: number } }>({
      adapter: bullmqQueue({ url: REDIS_URL, prefix, lockDuration: 1000, stalledInterval: 300, maxStalledCount: 0 }),
    });
    cleanups.push(() => rescuer.close({ timeoutMs: 1000 }));
    let ran = false;
    await rescuer.process('work', () => void (ran = true));
    await waitFor(async () => (await producer.deadLetters.count()) === 1, 20_000, 'the stalled job to be dead-lettered');
    expect(ran).toBe(false);
    expect(await producer.deadLetters.list()).toMatchObject([{ id, name: 'work', payload: { ms: 60_000 }, error: { message: 'job stalled more than allowable limit' } }]);
  }, 60_000);

  it('resumes processing after the Redis connection is cut and restored, without a restart', async () => {
    const prefix = randomPrefix();
    const proxy = await startTcpProxy(REDIS_URL);
    const seen: number[] = [];
    const consumer: Queue<{ cut: { n: number } }> = createQueue({ adapter: bullmqQueue({ url: proxy.url, prefix }), onError: () => undefined });
    const producer = createQueue<{ cut: { n: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await producer.close();
      await consumer.close({ timeoutMs: 2000 });
      await proxy.close();
      await deletePrefix(prefix);
    });
    await consumer.process('cut', (p) => void seen.push(p.n), { concurrency: 2 });
    await producer.enqueueMany([1, 2, 3].map((n) => ({ name: 'cut' as const, payload: { n } })));
    await waitFor(() => seen.length === 3, 10_000, 'jobs before the cut');

    // Redis out of reach until restored: live connections dropped, reconnects refused.
    proxy.refuse();
    proxy.cut();
    await producer.enqueueMany([4, 5, 6].map((n) => ({ name: 'cut' as const, payload: { n } })));
    await new Promise((r) => setTimeout(r, 700));
    expect(seen).toHaveLength(3); // nothing can reach the worker while Redis is cut off

    proxy.resume();
    await waitFor(() => seen.length === 6, 20_000, 'jobs after the connection is restored');
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  }, 60_000);
});
