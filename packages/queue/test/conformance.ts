/**
 * The queue tier's conformance suite: one set of behaviours every adapter must show. An adapter's
 * test file calls `queueConformance(label, factory)`.
 */
import { DecodeError, InvalidOptionError, SerializationError, ValidationError, type AnyMessageMap, type ErrorEvent, type StandardSchemaV1 } from '@events/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DoNotRetryError, type Queue, type QueueOptions } from '../src/index.js';
import { waitFor } from '@events/testing';

export interface ConformanceHarness {
  make(options?: Omit<QueueOptions, 'adapter'>): Queue;
  /** Stores a job as a foreign producer would: `raw` is the stored data text, verbatim. */
  injectRaw(job: { queue: string; name: string; id: string; raw: string }): Promise<void>;
  cleanup(): Promise<void>;
}

const fast = { type: 'fixed' as const, delayMs: 10 };

export function queueConformance(label: string, factory: () => Promise<ConformanceHarness>): void {
  describe(`queue conformance: ${label}`, () => {
    let harness: ConformanceHarness | undefined;
    const opened: Queue[] = [];
    /** What the queues' one error hook heard in this test. */
    const heard: ErrorEvent[] = [];
    async function setup(options: Omit<QueueOptions, 'adapter'> = {}): Promise<Queue> {
      harness ??= await factory();
      const q = harness.make({ defaults: { backoff: fast }, onError: (e) => heard.push(e), ...options });
      opened.push(q);
      return q;
    }
    afterEach(async () => {
      heard.length = 0;
      await Promise.all(opened.splice(0).map((q) => q.close({ timeoutMs: 2000 })));
      await harness?.cleanup();
      harness = undefined;
    });

    it('enqueues and processes a job with its payload and context', async () => {
      const q = await setup();
      const seen: Array<{ payload: unknown; id: string; name: string; attempt: number; envId: string; corr?: string }> = [];
      const completed: unknown[] = [];
      q.on('completed', (e) => completed.push(e.result));
      await q.process('send-email', async (payload, ctx) => {
        seen.push({ payload, id: ctx.id, name: ctx.name, attempt: ctx.attempt, envId: ctx.envelope.id, corr: ctx.envelope.correlationId });
        return { sent: true };
      });
      const id = await q.enqueue('send-email', { to: 'a@b.c' }, { correlationId: 'flow-1', removeOnComplete: false });
      await q.waitUntilIdle();
      expect(seen).toEqual([{ payload: { to: 'a@b.c' }, id, name: 'send-email', attempt: 1, envId: id, corr: 'flow-1' }]);
      await waitFor(() => completed.length === 1);
      expect(completed).toEqual([{ sent: true }]);
      expect(await q.getJob('send-email', id)).toMatchObject({ id, state: 'completed', result: { sent: true } });
    });

    it('stores one job per jobId and enqueues batches', async () => {
      const q = await setup();
      const runs: string[] = [];
      const a = await q.enqueue('dedupe', { n: 1 }, { jobId: 'order-42' });
      const b = await q.enqueue('dedupe', { n: 2 }, { jobId: 'order-42' });
      expect([a, b]).toEqual(['order-42', 'order-42']);
      const ids = await q.enqueueMany([
        { name: 'dedupe', payload: { n: 3 } },
        { name: 'dedupe', payload: { n: 4 }, options: { jobId: 'order-42' } },
        { name: 'other', payload: { n: 5 } },
      ]);
      expect(ids).toHaveLength(3);
      expect(ids[1]).toBe('order-42');
      await q.process('dedupe', (p) => void runs.push(`dedupe:${(p as { n: number }).n}`));
      await q.process('other', (p) => void runs.push(`other:${(p as { n: number }).n}`));
      await q.waitUntilIdle();
      expect(runs.sort()).toEqual(['dedupe:1', 'dedupe:3', 'other:5']);
      await expect(q.enqueueMany([{ name: 'batch', payload: 1 }, { name: 'batch', payload: 2n }])).rejects.toBeInstanceOf(SerializationError);
      expect(await q.counts('batch')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
    });

    it('retries with fixed backoff until the handler succeeds', async () => {
      const q = await setup();
      const attempts: number[] = [];
      const failures: Array<{ attempt: number; final: boolean }> = [];
      q.on('failed', (e) => failures.push({ attempt: e.attempt, final: e.final }));
      await q.process('flaky', (_p, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
        return 'ok';
      });
      await q.enqueue('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delayMs: 20 } });
      await q.waitUntilIdle();
      expect(attempts).toEqual([1, 2, 3]);
      await waitFor(() => failures.length === 2);
      expect(failures).toEqual([{ attempt: 1, final: false }, { attempt: 2, final: false }]);
      expect(await q.deadLetters.count()).toBe(0);
    });

    it('spaces attempts by exponential backoff with jitter', async () => {
      const q = await setup();
      const at: number[] = [];
      await q.process('expo', () => {
        at.push(Date.now());
        throw new Error('always');
      });
      await q.enqueue('expo', {}, { attempts: 4, backoff: { type: 'exponential', delayMs: 40, jitter: 0.5 } });
      await q.waitUntilIdle();
      expect(at).toHaveLength(4);
      // Lower bounds only: retry n waits at least delay * 2^(n-1) * (1 - jitter).
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(20 - 2);
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(40 - 2);
      expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(80 - 2);
    });

    it('caps backoff delays at maxDelayMs', async () => {
      const q = await setup();
      const at: number[] = [];
      await q.process('capped', () => {
        at.push(Date.now());
        throw new Error('again');
      });
      await q.enqueue('capped', {}, { attempts: 4, backoff: { type: 'exponential', delayMs: 20, maxDelayMs: 30 } });
      await q.waitUntilIdle();
      expect(at).toHaveLength(4);
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(18);
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(28);
      expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(28);
      expect(await q.deadLetters.list()).toMatchObject([{ name: 'capped', attemptsMade: 4 }]);
    });

    it('validates payloads with Standard Schema at enqueue and before the handler', async () => {
      const positive: StandardSchemaV1<unknown, number> = {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: (value) => (typeof value === 'number' && value > 0 ? { value } : { issues: [{ message: 'must be a positive number' }] }),
        },
      };
      const q = await setup({ schemas: { count: positive } });
      const got: unknown[] = [];
      await expect(q.enqueue('count', -1)).rejects.toBeInstanceOf(ValidationError);
      await harness!.injectRaw({ queue: 'count', name: 'count', id: 'foreign-bad', raw: '-5' });
      await q.process('count', (n) => void got.push(n));
      await q.enqueue('count', 3);
      await q.waitUntilIdle();
      await waitFor(async () => (await q.deadLetters.count()) === 1);
      expect(got).toEqual([3]);
      expect(await q.deadLetters.list()).toMatchObject([{ id: 'foreign-bad', payload: -5, error: { name: 'ValidationError' }, attemptsMade: 1 }]);
    });

    it('dead-letters a job after its last attempt, with payload, error and timestamps', async () => {
      const q = await setup();
      const finals: boolean[] = [];
      q.on('failed', (e) => finals.push(e.final));
      const before = Date.now();
      await q.process('doomed', () => {
        throw new TypeError('bad thing');
      });
      const id = await q.enqueue('doomed', { user: 7 }, { attempts: 2 });
      await q.waitUntilIdle();
      const [letter] = await q.deadLetters.list({ name: 'doomed' });
      expect(letter).toMatchObject({ id, name: 'doomed', payload: { user: 7 }, error: { name: 'TypeError', message: 'bad thing' }, attemptsMade: 2 });
      expect(letter!.failedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(letter!.enqueuedAt.getTime()).toBeLessThanOrEqual(letter!.failedAt.getTime());
      await waitFor(() => finals.length === 2);
      expect(finals).toEqual([false, true]);
    });

    it('does not retry a DoNotRetryError', async () => {
      const q = await setup();
      let runs = 0;
      await q.process('refuse', () => {
        runs += 1;
        throw new DoNotRetryError('card declined');
      });
      await q.enqueue('refuse', {}, { attempts: 5 });
      await q.waitUntilIdle();
      expect(runs).toBe(1);
      expect(await q.deadLetters.list()).toMatchObject([{ name: 'refuse', error: { name: 'DoNotRetryError', message: 'card declined' }, attemptsMade: 1 }]);
    });

    it('aborts the handler at its timeout and counts the attempt as failed', async () => {
      const q = await setup();
      const aborted: boolean[] = [];
      await q.process(
        'slow',
        (_p, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.push(true);
              resolve('too late');
            });
          }),
        { timeoutMs: 50 },
      );
      await q.enqueue('slow', {}, { attempts: 2 });
      await q.waitUntilIdle();
      expect(aborted).toEqual([true, true]);
      expect(await q.deadLetters.list()).toMatchObject([{ name: 'slow', error: { name: 'JobTimeoutError' }, attemptsMade: 2 }]);
    });

    it('runs delayed jobs after their delay', async () => {
      const q = await setup();
      let ranAt = 0;
      await q.process('later', () => void (ranAt = Date.now()));
      const start = Date.now();
      const id = await q.enqueue('later', {}, { delay: 150 });
      expect((await q.getJob('later', id))?.state).toBe('delayed');
      await q.waitUntilIdle();
      expect(ranAt - start).toBeGreaterThanOrEqual(145);
    });

    it('takes waiting jobs by priority (1 first)', async () => {
      const q = await setup();
      const order: number[] = [];
      for (const priority of [5, 1, 3, 2, 4]) await q.enqueue('prio', { priority }, { priority });
      await q.process('prio', (p) => void order.push((p as { priority: number }).priority), { concurrency: 1 });
      await q.waitUntilIdle();
      expect(order).toEqual([1, 2, 3, 4, 5]);
    });

    it('never runs more jobs at once than the concurrency', async () => {
      const q = await setup();
      let active = 0;
      let peak = 0;
      await q.process(
        'parallel',
        async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 40));
          active -= 1;
        },
        { concurrency: 3 },
      );
      await q.enqueueMany(Array.from({ length: 9 }, (_, i) => ({ name: 'parallel', payload: i })));
      await q.waitUntilIdle();
      expect(peak).toBe(3);
    });

    it('rate-limits job starts', async () => {
      const q = await setup();
      const starts: number[] = [];
      await q.process('limited', () => void starts.push(Date.now()), { concurrency: 5, limiter: { max: 2, durationMs: 300 } });
      await q.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ name: 'limited', payload: i })));
      await q.waitUntilIdle();
      expect(starts).toHaveLength(6);
      for (let i = 2; i < starts.length; i += 1) expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(250);
    });

    it('reports progress as events and on the job', async () => {
      const q = await setup();
      const progress: unknown[] = [];
      q.on('progress', (e) => progress.push(e.progress));
      await q.process('long', async (_p, ctx) => {
        await ctx.updateProgress(50);
        await ctx.updateProgress({ step: 'done' });
      });
      const id = await q.enqueue('long', {}, { removeOnComplete: false });
      await q.waitUntilIdle();
      await waitFor(() => progress.length === 2);
      expect(progress).toEqual([50, { step: 'done' }]);
      expect((await q.getJob('long', id))?.progress).toEqual({ step: 'done' });
    });

    it('keeps finished jobs by retention per state', async () => {
      const q = await setup();
      await q.process('kept', (p) => {
        if ((p as { fail?: boolean }).fail) throw new Error('x');
      });
      const gone = await q.enqueue('kept', {}, { removeOnComplete: true });
      const kept = await q.enqueue('kept', {}, { removeOnComplete: false });
      const failed = await q.enqueue('kept', { fail: true }, { attempts: 1 });
      await q.waitUntilIdle();
      expect(await q.getJob('kept', gone)).toBeUndefined();
      expect((await q.getJob('kept', kept))?.state).toBe('completed');
      expect((await q.getJob('kept', failed))?.state).toBe('failed');
      const counted: string[] = [];
      for (let i = 0; i < 4; i += 1) counted.push(await q.enqueue('counted', i, { removeOnComplete: { count: 2 } }));
      await q.process('counted', () => undefined);
      await q.waitUntilIdle();
      expect((await q.counts('counted')).completed).toBe(2);
      expect(await q.getJob('counted', counted[0]!)).toBeUndefined();
    });

    it('repeats scheduled jobs (every) until unscheduled', async () => {
      const q = await setup();
      let runs = 0;
      await q.process('tick', () => void (runs += 1));
      await q.schedule('tick', { at: 'every' }, { id: 'ticker', every: 100 });
      await waitFor(() => runs >= 3, 5000, 'three ticks');
      expect(await q.unschedule('tick', 'ticker')).toBe(true);
      await q.waitUntilIdle();
      const after = runs;
      await new Promise((r) => setTimeout(r, 300));
      expect(runs).toBe(after);
    });

    it('repeats scheduled jobs by cron pattern', async () => {
      const q = await setup();
      const payloads: unknown[] = [];
      await q.process('cron', (p) => void payloads.push(p));
      await q.schedule('cron', { kind: 'cron' }, { id: 'every-second', cron: '* * * * * *' });
      await waitFor(() => payloads.length >= 1, 5000, 'a cron run');
      await q.unschedule('cron', 'every-second');
      expect(payloads[0]).toEqual({ kind: 'cron' });
    });

    it('lists, counts, replays and discards dead letters', async () => {
      const q = await setup();
      const replays: Array<{ payload: unknown; replayOf?: string; id: string }> = [];
      await q.process('charge', (payload, ctx) => {
        const p = payload as { n: number };
        if (ctx.envelope.headers.replayOf) return void replays.push({ payload: p, replayOf: ctx.envelope.headers.replayOf, id: ctx.id });
        if (p.n % 2 === 0) throw new RangeError(`even ${p.n}`);
        throw new Error(`odd ${p.n}`);
      });
      await q.process('mail', () => {
        throw new Error('smtp down');
      });
      const ids = await q.enqueueMany([0, 1, 2, 3].map((n) => ({ name: 'charge', payload: { n }, options: { attempts: 1 } })));
      await q.enqueue('mail', {}, { attempts: 1 });
      await q.waitUntilIdle();
      expect(await q.deadLetters.count()).toBe(5);
      expect(await q.deadLetters.count({ name: 'charge' })).toBe(4);
      expect(await q.deadLetters.count({ error: 'RangeError' })).toBe(2);
      expect(await q.deadLetters.count({ error: 'smtp' })).toBe(1);
      expect(await q.deadLetters.count({ from: Date.now() + 60_000 })).toBe(0);
      expect(await q.deadLetters.count({ to: new Date() })).toBe(5);
      expect(await q.deadLetters.list({ limit: 2 })).toHaveLength(2);

      const dry = await q.deadLetters.replay({ name: 'charge', error: 'RangeError', dryRun: true });
      expect(dry.replayed.map((r) => r.from).sort()).toEqual([ids[0], ids[2]].sort());
      expect(await q.deadLetters.count()).toBe(5);
      expect(replays).toHaveLength(0);

      const started = Date.now();
      const done = await q.deadLetters.replay({ name: 'charge', error: 'RangeError', ratePerSecond: 10 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
      await q.waitUntilIdle();
      expect(replays.map((r) => r.replayOf).sort()).toEqual([ids[0], ids[2]].sort());
      for (const r of replays) expect(ids).not.toContain(r.id);
      expect(done.replayed.map((r) => r.id).sort()).toEqual(replays.map((r) => r.id).sort());
      expect(await q.deadLetters.count()).toBe(3);

      expect(await q.deadLetters.discard({ name: 'mail' })).toBe(1);
      expect(await q.deadLetters.count()).toBe(2);
    });

    it('dead-letters stored data that is not JSON, or a malformed envelope, as a decode error', async () => {
      const q = await setup();
      let runs = 0;
      await harness!.injectRaw({ queue: 'decode', name: 'decode', id: 'bad-json', raw: '{"payload": nope' });
      await harness!.injectRaw({ queue: 'decode', name: 'decode', id: 'bad-envelope', raw: '{"id":"e5","name":"decode","payload":{},"headers":{"n":5}}' });
      await q.process('decode', () => void (runs += 1), { concurrency: 2 });
      await q.waitUntilIdle({ names: ['decode'] });
      await waitFor(async () => (await q.deadLetters.count()) === 2);
      expect(runs).toBe(0);
      const letters = await q.deadLetters.list({ error: 'DecodeError' });
      expect(letters.map((l) => l.id).sort()).toEqual(['bad-envelope', 'bad-json']);
      expect(letters.find((l) => l.id === 'bad-json')).toMatchObject({ raw: '{"payload": nope', attemptsMade: 1 });
      expect((await q.deadLetters.replay({ ids: ['bad-json'] })).skipped).toHaveLength(1);
      expect(heard.filter((e) => e.kind === 'decode').map((e) => [e.tier, e.name, e.id]).sort()).toEqual([
        ['queue', 'decode', 'bad-envelope'],
        ['queue', 'decode', 'bad-json'],
      ]);
      expect(new DecodeError('x', Buffer.from('')).code).toBe('DECODE');
    });

    it('dead-letters a job whose name has no handler in its queue (UnknownJobError)', async () => {
      const q = await setup();
      await harness!.injectRaw({ queue: 'known', name: 'stranger', id: 'foreign-1', raw: '{"x":1}' });
      await q.process('known', () => undefined);
      await waitFor(async () => (await q.deadLetters.count()) === 1);
      expect(await q.deadLetters.list()).toMatchObject([{ id: 'foreign-1', name: 'stranger', payload: { x: 1 }, error: { name: 'UnknownJobError' }, attemptsMade: 1 }]);
    });

    it('refuses bad options and unserializable payloads, storing nothing', async () => {
      const q = await setup();
      await expect(q.enqueue('bad', {}, { delay: -1 })).rejects.toThrow(/invalid option delay: must be a finite number of ms >= 0, got -1/);
      await expect(q.enqueue('bad', {}, { attempts: 0 })).rejects.toThrow(/invalid option attempts: must be an integer >= 1, got 0/);
      await expect(q.enqueue('bad', {}, { backoff: { jitter: 2 } })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.enqueue('bad', {}, { jobId: 'a:b' })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.enqueue('bad', { big: 1n }, { jobId: 'never' })).rejects.toThrow(/payload\.big: BigInt cannot be serialized/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(q.enqueue('bad', cyclic)).rejects.toBeInstanceOf(SerializationError);
      await expect(q.enqueue('bad name', {})).rejects.toThrow(/invalid job name/);
      await expect(q.process('bad', () => undefined, { concurrency: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
      expect(await q.getJob('bad', 'never')).toBeUndefined();
      expect(await q.counts('bad')).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
    });

    it('close() waits for active jobs, then refuses work', async () => {
      const q = await setup();
      let finished = false;
      let started = false;
      await q.process('drain', async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 200));
        finished = true;
      });
      const id = await q.enqueue('drain', {}, { removeOnComplete: false });
      await waitFor(() => started);
      await q.close({ timeoutMs: 5000 });
      expect(finished).toBe(true);
      await expect(q.enqueue('drain', {})).rejects.toThrow(/closed/);
      const check = harness!.make();
      opened.push(check);
      expect((await check.getJob('drain', id))?.state).toBe('completed');
    });

    it('close() past its timeout aborts the signal of handlers still running', async () => {
      const q = await setup();
      let started = false;
      let reason: unknown;
      await q.process('stubborn', (_p, ctx) => {
        started = true;
        return new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            resolve();
          });
        });
      });
      await q.enqueue('stubborn', {});
      await waitFor(() => started);
      await q.close({ timeoutMs: 100 });
      expect(reason).toMatchObject({ code: 'CLOSED' });
    });
  });
}

export type { AnyMessageMap };
