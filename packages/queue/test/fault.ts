/**
 * The queue's fault suite, a function over a backend harness like the conformance suite: worker
 * processes SIGKILLed mid-job (none of 1,000 jobs lost), a clean SIGTERM drain, a job failed over
 * the stall limit dead-lettered, and the backend connection cut and restored under a live worker
 * (through a TCP proxy in front of `harness.url`). An adapter's test file calls
 * `queueFaults(label, factory)`; the worker processes run `test/fixtures/fault-worker.ts` with
 * `harness.workerEnv` (which names the adapter module) and record their work in Redis.
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorHook } from '@events/core';
import { REDIS_URL, randomId, spawnTs, startTcpProxy, waitFor, type SpawnedTs } from '@events/testing';
import type { Queue } from '../src/index.js';

type Work = { work: { ms: number } };

export interface FaultQueueOptions {
  /** Connect through this URL instead of `harness.url` (a TCP proxy). */
  url?: string;
  /** Quick stall detection: a job whose worker died is failed (maxStalled 0) or retried within about a second. */
  stall?: { maxStalled: number };
  onError?: ErrorHook;
}

export interface FaultHarness {
  /** A queue on this harness's fresh namespace of the backend. */
  make(options?: FaultQueueOptions): Queue<Work>;
  /** The backend URL (what the proxy fronts). */
  readonly url: string;
  /** Environment for the fixture worker process: the adapter module and its settings (without MAX_STALLED). */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** Ids of the `work` jobs the backend holds as active. */
  activeIds(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const fixture = 'packages/queue/test/fixtures/fault-worker.ts';

export function queueFaults(label: string, factory: () => Promise<FaultHarness>): void {
  describe(`queue faults: ${label}`, () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function setup() {
      const harness = await factory();
      const records = randomId('evq-rec');
      const redis = new Redis(REDIS_URL);
      const producer = harness.make();
      cleanups.push(async () => {
        await producer.close();
        const keys = await redis.keys(`${records}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
        await harness.cleanup();
      });
      const worker = (concurrency = 10, env: Record<string, string> = {}): SpawnedTs => {
        const w = spawnTs(cli, ['run', fixture], { cwd: root, env: { ...harness.workerEnv, RECORD_PREFIX: records, RECORD_URL: REDIS_URL, CONCURRENCY: String(concurrency), ...env } });
        cleanups.push(async () => {
          if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
          await w.exited;
        });
        return w;
      };
      const done = (): Promise<number> => redis.scard(`${records}:test:done`);
      return { harness, records, redis, producer, worker, done };
    }

    it('recovers jobs of workers killed with SIGKILL mid-job: 1,000 jobs, none lost', async () => {
      const { harness, records, redis, producer, worker, done } = await setup();
      await producer.enqueueMany(Array.from({ length: 1000 }, () => ({ name: 'work' as const, payload: { ms: 15 } })));

      const a = worker();
      await waitFor(async () => (await done()) >= 150, 20_000, 'worker A to finish 150 jobs');
      a.child.kill('SIGKILL');
      await a.exited;
      // Still active in the backend: jobs the dead process held when it died (their locks run out later).
      const activeAtKillA = await harness.activeIds();
      expect(activeAtKillA.length).toBeGreaterThan(0);

      const b = worker();
      await waitFor(async () => (await done()) >= 500, 20_000, 'worker B to pass 500 jobs');
      b.child.kill('SIGKILL');
      await b.exited;
      const activeAtKillB = await harness.activeIds();
      expect(activeAtKillB.length).toBeGreaterThan(0);

      const c = worker();
      await waitFor(async () => (await done()) === 1000, 30_000, 'all 1000 jobs done');
      await producer.waitUntilIdle({ timeoutMs: 10_000 });
      expect(await done()).toBe(1000);
      expect(await producer.deadLetters.count()).toBe(0);
      // Jobs cut off mid-run were completed (last run) by a later process.
      const by = await redis.hgetall(`${records}:test:by`);
      for (const id of activeAtKillA) expect([String(b.child.pid), String(c.child.pid)]).toContain(by[id]);
      for (const id of activeAtKillB) expect(by[id]).toBe(String(c.child.pid));
      // At-least-once: a job killed after its work but before the backend recorded completion runs twice.
      expect(Number(await redis.get(`${records}:test:runs`))).toBeGreaterThanOrEqual(1000);
      c.child.kill('SIGTERM');
      expect((await c.exited).code).toBe(0);
    }, 90_000);

    it('drains active jobs on SIGTERM and exits 0', async () => {
      const { records, redis, producer, worker } = await setup();
      const w = worker(2);
      await waitFor(() => w.output().includes('ready'), 20_000, 'worker ready');
      const ids = await producer.enqueueMany([{ name: 'work', payload: { ms: 600 } }, { name: 'work', payload: { ms: 600 } }]);
      await waitFor(async () => (await producer.counts('work')).active === 2, 10_000, 'both jobs active');
      w.child.kill('SIGTERM');
      const exit = await w.exited;
      expect(exit.code).toBe(0);
      expect(w.output()).toContain('SIGTERM, draining');
      expect((await redis.smembers(`${records}:test:done`)).sort()).toEqual([...ids].sort());
      expect(await producer.counts('work')).toMatchObject({ active: 0, waiting: 0 });
    }, 60_000);

    it('dead-letters a job failed for stalling more than the limit', async () => {
      const { harness, producer, worker } = await setup();
      const id = await producer.enqueue('work', { ms: 60_000 });
      const doomed = worker(1, { MAX_STALLED: '0' });
      await waitFor(async () => (await producer.counts('work')).active === 1, 20_000, 'the job to start');
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      const rescuer = harness.make({ stall: { maxStalled: 0 }, onError: () => undefined });
      cleanups.push(() => rescuer.close({ timeoutMs: 1000 }));
      let ran = false;
      await rescuer.process('work', () => void (ran = true));
      await waitFor(async () => (await producer.deadLetters.count()) === 1, 20_000, 'the stalled job to be dead-lettered');
      expect(ran).toBe(false);
      expect(await producer.deadLetters.list()).toMatchObject([{ id, name: 'work', payload: { ms: 60_000 } }]);
    }, 60_000);

    it('resumes processing after the backend connection is cut and restored, without a restart', async () => {
      const { harness, producer } = await setup();
      const proxy = await startTcpProxy(harness.url);
      const seen: number[] = [];
      const consumer = harness.make({ url: proxy.url, onError: () => undefined });
      cleanups.push(async () => {
        await consumer.close({ timeoutMs: 2000 });
        await proxy.close();
      });
      await consumer.process('work', (p) => void seen.push(p.ms), { concurrency: 2 });
      await producer.enqueueMany([1, 2, 3].map((ms) => ({ name: 'work' as const, payload: { ms } })));
      await waitFor(() => seen.length === 3, 10_000, 'jobs before the cut');

      // The backend out of reach until restored: live connections dropped, reconnects refused.
      proxy.refuse();
      proxy.cut();
      await producer.enqueueMany([4, 5, 6].map((ms) => ({ name: 'work' as const, payload: { ms } })));
      await new Promise((r) => setTimeout(r, 700));
      expect(seen).toHaveLength(3); // nothing can reach the worker while the backend is cut off

      proxy.resume();
      await waitFor(() => seen.length === 6, 20_000, 'jobs after the connection is restored');
      expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    }, 60_000);
  });
}
