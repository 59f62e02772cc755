/**
 * Interop with plain BullMQ (what a worker or producer in another language sees), and the BullMQ
 * adapter's own promises: the eviction-policy check and caller-owned connections.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Queue as BullQueue, Worker as BullWorker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@events/core';
import { createQueue } from '../src/index.js';
import { bullmqQueueName, bullmqQueue } from '../src/adapters/bullmq.js';
import { REDIS_URL, waitFor } from '@events/testing';
import { deletePrefix, randomPrefix } from './helpers.js';

describe('interop with plain BullMQ', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a job enqueued by @events/queue is an ordinary BullMQ job a plain Worker processes', async () => {
    const prefix = randomPrefix();
    const queue = createQueue<{ 'mail:welcome': { userId: string } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    const seen: Array<{ id?: string; name: string; data: unknown; attempts?: number }> = [];
    const worker = new BullWorker(
      bullmqQueueName('mail:welcome'),
      async (job: Job) => {
        seen.push({ id: job.id, name: job.name, data: job.data, attempts: job.opts.attempts });
        return 'done by a plain worker';
      },
      { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix },
    );
    cleanups.push(async () => {
      await worker.close();
      await queue.close();
      await deletePrefix(prefix);
    });
    const id = await queue.enqueue('mail:welcome', { userId: 'u1' }, { attempts: 4, correlationId: 'c-1' });
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toEqual({
      id,
      name: 'mail:welcome',
      attempts: 4,
      data: { id, name: 'mail:welcome', payload: { userId: 'u1' }, occurredAt: expect.any(String), headers: {}, correlationId: 'c-1' },
    });
    await waitFor(async () => (await queue.getJob('mail:welcome', id))?.state === 'completed');
  });

  it('a job added by a plain BullMQ Queue is processed by @events/queue (data = payload)', async () => {
    const prefix = randomPrefix();
    const queue = createQueue<{ resize: { w: number } }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    const connection = new Redis(REDIS_URL);
    const plain = new BullQueue('resize', { connection, prefix });
    cleanups.push(async () => {
      await queue.close();
      await plain.close();
      connection.disconnect();
      await deletePrefix(prefix);
    });
    const got: Array<{ payload: unknown; id: string; attempt: number }> = [];
    await queue.process('resize', (payload, ctx) => {
      got.push({ payload, id: ctx.id, attempt: ctx.attempt });
      return { ok: true };
    });
    const job = await plain.add('resize', { w: 640 });
    const enveloped = await plain.add('resize', { id: 'x', name: 'resize', payload: { w: 320 }, occurredAt: new Date().toISOString(), headers: {} });
    await waitFor(() => got.length === 2);
    expect(got).toContainEqual({ payload: { w: 640 }, id: job.id, attempt: 1 });
    expect(got).toContainEqual({ payload: { w: 320 }, id: enveloped.id, attempt: 1 });
    await waitFor(async () => (await job.getState()) === 'completed');
    expect((await plain.getJob(job.id!))?.returnvalue).toEqual({ ok: true });
  });

  it("events: 'all' delivers job events of workers in other queue objects and processes", async () => {
    const prefix = randomPrefix();
    type Jobs = { step: { fail: boolean } };
    const worker = createQueue<Jobs>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), defaults: { backoff: { type: 'fixed', delayMs: 10 } } });
    const observer = createQueue<Jobs>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }), events: 'all' });
    cleanups.push(async () => {
      await worker.close();
      await observer.close();
      await deletePrefix(prefix);
    });
    const seen: string[] = [];
    observer.on('completed', (e) => seen.push(`completed ${e.name} ${e.attempt} ${JSON.stringify(e.result)}`));
    observer.on('failed', (e) => seen.push(`failed ${e.attempt} ${e.final} ${e.error.name}: ${e.error.message}`));
    observer.on('progress', (e) => seen.push(`progress ${JSON.stringify(e.progress)}`));
    await observer.start();
    await worker.process('step', async (p, ctx) => {
      await ctx.updateProgress(ctx.attempt * 10);
      if (p.fail) throw new RangeError(`attempt ${ctx.attempt}`);
      return 'ok';
    });
    await worker.enqueue('step', { fail: false });
    await waitFor(() => seen.length === 2);
    await worker.enqueue('step', { fail: true }, { attempts: 2 });
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual(['progress 10', 'completed step 1 "ok"', 'progress 10', 'failed 1 false RangeError: attempt 1', 'progress 20', 'failed 2 true RangeError: attempt 2']);
  });

  it('uses a connection the caller passes, enforces maxRetriesPerRequest: null for workers, and leaves it open', async () => {
    const prefix = randomPrefix();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const queue = createQueue<{ ping: number }>({ adapter: bullmqQueue({ connection, prefix }) });
    const got: number[] = [];
    await queue.process('ping', (n) => void got.push(n));
    await queue.enqueue('ping', 7);
    await waitFor(() => got.length === 1);
    await queue.close();
    expect(connection.status).toBe('ready');
    expect(await connection.exists(`${prefix}:ping:meta`)).toBe(1);
    await deletePrefix(prefix);
    connection.disconnect();
  });
});

describe('maxmemory-policy check', () => {
  it('refuses to start on an evicting Redis unless told to warn', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
    try {
      const url = `redis://127.0.0.1:${port}`;
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 50 });
      probe.on('error', () => undefined); // refused until the server is up
      await waitFor(async () => (await probe.connect().then(() => true, () => false)) || probe.status === 'ready', 10_000, 'dedicated redis-server');
      probe.disconnect();
      const strict = createQueue({ adapter: bullmqQueue({ url }) });
      const error = await strict.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/maxmemory-policy is "allkeys-lru", not "noeviction"/);
      await strict.close();
      const warnings: string[] = [];
      const lenient = createQueue({ adapter: bullmqQueue({ url, evictionPolicy: 'warn', onWarning: (m) => warnings.push(m) }) });
      await lenient.start();
      expect(warnings).toEqual([expect.stringMatching(/allkeys-lru/)]);
      await lenient.close();
    } finally {
      server.kill('SIGTERM');
    }
  });
});
