/**
 * The worker runner against real processes and Redis: Ctrl-C (SIGINT to the whole process group,
 * echoed by the shim) drains instead of exiting at once; a SIGKILLed shim does not leave its
 * worker running; a drain timeout puts interrupted jobs back to waiting without a stall count.
 */
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, spawnTs, waitFor, type SpawnedTs } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createStopper, REPEAT_WINDOW_MS } from '../src/cli/runner.js';
import { createQueue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const shim = fileURLToPath(new URL('../bin/events-worker.js', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const fixture = 'packages/queue/test/fixtures/fault-worker.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('signal rule', () => {
  it('drains on the first signal, ignores its echo within the window, exits on a later one', () => {
    let t = 0;
    const calls: string[] = [];
    const stop = createStopper({ drain: (r) => calls.push(`drain ${r}`), exitNow: (r) => calls.push(`exit ${r}`), now: () => t });
    stop('SIGINT');
    t = 50;
    stop('SIGINT'); // the shim's echo of the group's Ctrl-C
    expect(calls).toEqual(['drain SIGINT']);
    t = REPEAT_WINDOW_MS + 10;
    stop('SIGINT');
    expect(calls).toEqual(['drain SIGINT', 'exit SIGINT']);
  });
});

describe('events-worker processes (bullmq, real Redis)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setup() {
    const prefix = randomPrefix();
    const redis = new Redis(REDIS_URL);
    const producer = createQueue<{ work: { ms: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await producer.close();
      redis.disconnect();
      await deletePrefix(prefix);
    });
    return { prefix, redis, producer };
  }

  function track(w: SpawnedTs, extra: () => number | undefined = () => undefined): SpawnedTs {
    cleanups.push(async () => {
      const other = extra();
      if (other !== undefined && alive(other)) process.kill(other, 'SIGKILL');
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    return w;
  }

  const workerPid = (w: SpawnedTs): number | undefined => {
    const m = /ready \(pid (\d+)\)/.exec(w.output());
    return m ? Number(m[1]) : undefined;
  };

  it('Ctrl-C (SIGINT to the process group, echoed by the shim) drains the running job and exits 0', async () => {
    const { prefix, redis, producer } = setup();
    // Its own process group, as a terminal would make it: the group signal reaches shim and worker.
    const w = spawnTs(shim, ['run', fixture], { cwd: root, detached: true, env: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL, CONCURRENCY: '1' } });
    track(w, () => workerPid(w));
    await waitFor(() => workerPid(w) !== undefined, 20_000, 'worker ready');
    const id = await producer.enqueue('work', { ms: 800 });
    await waitFor(async () => (await producer.counts('work')).active === 1, 10_000, 'the job to start');
    process.kill(-w.child.pid!, 'SIGINT');
    const exit = await w.exited;
    expect(w.output()).not.toContain('exiting now');
    expect(w.output()).toContain('SIGINT, draining');
    expect(exit.code).toBe(0);
    expect(await redis.smembers(`${prefix}:test:done`)).toEqual([id]);
  }, 60_000);

  it('a SIGKILLed shim does not leave its worker running', async () => {
    const { prefix } = setup();
    const w = spawnTs(shim, ['run', fixture], { cwd: root, env: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL } });
    track(w, () => workerPid(w));
    await waitFor(() => workerPid(w) !== undefined, 20_000, 'worker ready');
    const pid = workerPid(w)!;
    w.child.kill('SIGKILL');
    await w.exited;
    await waitFor(() => !alive(pid), 10_000, 'the orphaned worker to exit');
  }, 60_000);

  it('a drain timeout puts the running job back to waiting: no attempt, no stall counted', async () => {
    const { prefix, redis, producer } = setup();
    const bull = new BullQueue('work', { connection: redis.duplicate(), prefix });
    cleanups.push(() => bull.close());
    const start = (): SpawnedTs =>
      track(spawnTs(cli, ['run', fixture, '--drain-timeout', '300'], { cwd: root, env: { QUEUE_PREFIX: prefix, QUEUE_URL: REDIS_URL, CONCURRENCY: '1', MAX_STALLED: '0' } }));
    const id = await producer.enqueue('work', { ms: 2500 }, { attempts: 1 });
    // Interrupted twice: with a stall counted per interruption (maxStalledCount 0) it would fail.
    for (let round = 0; round < 2; round += 1) {
      const w = start();
      await waitFor(async () => (await producer.counts('work')).active === 1, 20_000, 'the job to start');
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      const job = await bull.getJob(id);
      expect(await job!.getState()).toBe('waiting');
      expect(job!.attemptsMade).toBe(0);
      expect(job!.stalledCounter).toBe(0);
    }
    const last = start();
    await waitFor(async () => (await redis.smembers(`${prefix}:test:done`)).includes(id), 20_000, 'the job to complete on the third worker');
    last.child.kill('SIGTERM');
    await last.exited;
    expect(await producer.deadLetters.count()).toBe(0);
  }, 90_000);
});
