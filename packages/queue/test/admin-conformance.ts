/**
 * The queue's job administration (`queue.admin`), one meaning on every adapter: an adapter's
 * conformance test file calls `adminConformance(label, factory)` beside `queueConformance`.
 */
import { InvalidOptionError, type ErrorEvent } from '@events/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DoNotRetryError, type Queue, type QueueOptions } from '../src/index.js';
import { delay, waitFor } from '@events/testing';
import type { ConformanceHarness } from './conformance.js';

const fast = { type: 'fixed' as const, delayMs: 10 };
const keep = { removeOnComplete: false, removeOnFail: false } as const;

export function adminConformance(label: string, factory: () => Promise<ConformanceHarness>): void {
  describe(`queue admin conformance: ${label}`, () => {
    let harness: ConformanceHarness | undefined;
    const opened: Queue[] = [];
    const heard: ErrorEvent[] = [];
    async function setup(options: Omit<QueueOptions, 'adapter'> = {}): Promise<Queue> {
      harness ??= await factory();
      const q = harness.make({ defaults: { backoff: fast, ...keep }, onError: (e) => heard.push(e), ...options });
      opened.push(q);
      return q;
    }
    afterEach(async () => {
      heard.length = 0;
      await Promise.all(opened.splice(0).map((q) => q.close({ timeoutMs: 2000 })));
      await harness?.cleanup();
      harness = undefined;
    });

    it('lists jobs by state in bounded pages, with totals and counts', async () => {
      const q = await setup();
      const waiting = [];
      for (let i = 0; i < 5; i += 1) waiting.push(await q.enqueue('adm-list', { i }));
      const delayed = await q.enqueue('adm-list', { d: 1 }, { delay: 60_000 });
      const urgent = await q.enqueue('adm-list', { p: 1 }, { priority: 1 });
      const p1 = await q.admin.list('adm-list', 'waiting', { offset: 0, limit: 2 });
      const p3 = await q.admin.list('adm-list', 'waiting', { offset: 4, limit: 2 });
      expect(p1).toMatchObject({ total: 5, offset: 0, limit: 2 });
      expect(p1.jobs.map((j) => j.id)).toEqual(waiting.slice(0, 2));
      expect(p3.jobs.map((j) => j.id)).toEqual(waiting.slice(4));
      const d = await q.admin.list('adm-list', 'delayed');
      expect(d.jobs).toMatchObject([{ id: delayed, state: 'delayed', attemptsMade: 0, maxAttempts: 3 }]);
      expect(d.jobs[0]!.runAt).toBeGreaterThan(Date.now() + 50_000);
      expect((await q.admin.list('adm-list', 'prioritized')).jobs).toMatchObject([{ id: urgent, state: 'prioritized', priority: 1 }]);
      expect(await q.admin.counts('adm-list')).toEqual({ waiting: 5, prioritized: 1, delayed: 1, active: 0, completed: 0, failed: 0, paused: false, dead: 0 });
      await expect(q.admin.list('adm-list', 'waiting', { limit: 101 })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.admin.list('adm-list', 'bogus' as 'waiting')).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.admin.list('bad name!', 'waiting')).rejects.toThrow();
    });

    it("shows a job's data, attempts, progress, logs, result, error, stack, timings and envelope ids", async () => {
      const q = await setup();
      await q.process('adm-detail', async (payload, ctx) => {
        await ctx.log(`step 1 of ${JSON.stringify(payload)}`);
        await ctx.updateProgress(50);
        if ((payload as { ok: boolean }).ok) return { done: true };
        throw new DoNotRetryError('card declined');
      });
      const ok = await q.enqueue('adm-detail', { ok: true }, { correlationId: 'flow-7', causationId: 'evt-3' });
      const bad = await q.enqueue('adm-detail', { ok: false });
      await q.waitUntilIdle();
      const done = await q.admin.job('adm-detail', ok);
      expect(done).toMatchObject({ id: ok, state: 'completed', attemptsMade: 1, progress: 50, result: { done: true }, payload: { ok: true }, logs: ['step 1 of {"ok":true}'] });
      expect(done!.envelope).toMatchObject({ id: ok, correlationId: 'flow-7', causationId: 'evt-3' });
      expect(done!.startedAt).toBeGreaterThanOrEqual(done!.enqueuedAt);
      expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.startedAt!);
      const failed = await q.admin.job('adm-detail', bad);
      expect(failed).toMatchObject({ id: bad, state: 'failed', attemptsMade: 1, failedReason: expect.stringContaining('card declined'), deadLetter: true, logs: ['step 1 of {"ok":false}'] });
      expect(failed!.stack).toContain('card declined');
      expect((await q.admin.list('adm-detail', 'completed')).jobs.map((j) => j.id)).toEqual([ok]);
      expect((await q.admin.list('adm-detail', 'failed')).jobs.map((j) => j.id)).toEqual([bad]);
      expect((await q.admin.list('adm-detail', 'dead')).jobs).toMatchObject([{ id: bad, state: 'dead', failedReason: 'card declined' }]);
      expect(await q.admin.job('adm-detail', 'no-such-job')).toBeUndefined();
    });

    it('retries a failed job in place: same id, attempts from 0, its dead letter gone', async () => {
      const q = await setup();
      const state = { fail: true };
      await q.process('adm-retry', () => {
        if (state.fail) throw new DoNotRetryError('down');
        return 'ok';
      });
      const id = await q.enqueue('adm-retry', { n: 1 });
      await q.waitUntilIdle();
      expect(await q.admin.counts('adm-retry')).toMatchObject({ failed: 1, dead: 1 });
      await expect(q.admin.retry('adm-retry', 'missing')).resolves.toBe(false);
      state.fail = false;
      await expect(q.admin.retry('adm-retry', id)).resolves.toBe(true);
      await waitFor(async () => (await q.admin.job('adm-retry', id))?.state === 'completed');
      expect(await q.admin.job('adm-retry', id)).toMatchObject({ id, state: 'completed', attemptsMade: 1, deadLetter: false });
      expect(await q.admin.counts('adm-retry')).toMatchObject({ failed: 0, completed: 1, dead: 0 });
      await expect(q.admin.retry('adm-retry', id)).resolves.toBe(false);
    });

    it('promotes a delayed job and removes a job that is not active', async () => {
      const q = await setup();
      const ran: string[] = [];
      const later = await q.enqueue('adm-promote', { n: 1 }, { delay: 60_000 });
      const gone = await q.enqueue('adm-remove', { n: 2 });
      await expect(q.admin.promote('adm-promote', gone)).resolves.toBe(false);
      await q.process('adm-promote', (_p, ctx) => void ran.push(ctx.id));
      await expect(q.admin.promote('adm-promote', later)).resolves.toBe(true);
      await waitFor(() => ran.length === 1);
      expect(ran).toEqual([later]);
      await expect(q.admin.remove('adm-remove', gone)).resolves.toBe(true);
      await expect(q.admin.remove('adm-remove', gone)).resolves.toBe(false);
      expect(await q.getJob('adm-remove', gone)).toBeUndefined();
      expect(await q.admin.counts('adm-remove')).toMatchObject({ waiting: 0 });
    });

    it('pauses a job name for every worker until resumed', async () => {
      const q = await setup();
      const other = await setup();
      const ran: string[] = [];
      await q.admin.pause('adm-pause');
      await other.process('adm-pause', (_p, ctx) => void ran.push(ctx.id));
      const id = await q.enqueue('adm-pause', { n: 1 });
      // Nothing may start while paused: long enough for a wake-up and a poll to have run it.
      await delay(700);
      expect(ran).toEqual([]);
      expect(await q.admin.counts('adm-pause')).toMatchObject({ waiting: 1, paused: true });
      await q.admin.resume('adm-pause');
      await waitFor(() => ran.length === 1, 10_000);
      expect(ran).toEqual([id]);
      expect(await q.admin.counts('adm-pause')).toMatchObject({ paused: false });
    });

    it('cleans by state and age, with a dry run that removes nothing', async () => {
      const q = await setup();
      await q.process('adm-clean', () => 'ok');
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push(await q.enqueue('adm-clean', { i }));
      await q.waitUntilIdle();
      await delay(5);
      const dry = await q.admin.clean('adm-clean', { state: 'completed', olderThanMs: 0, dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect([...dry.ids].sort()).toEqual([...ids].sort());
      expect(await q.admin.counts('adm-clean')).toMatchObject({ completed: 3 });
      expect((await q.admin.clean('adm-clean', { state: 'completed', olderThanMs: 3_600_000 })).ids).toEqual([]);
      const real = await q.admin.clean('adm-clean', { state: 'completed', olderThanMs: 0, limit: 2 });
      expect(real).toMatchObject({ dryRun: false });
      expect(real.ids).toHaveLength(2);
      expect(await q.admin.counts('adm-clean')).toMatchObject({ completed: 1 });
      await expect(q.admin.clean('adm-clean', { state: 'active' as 'waiting', olderThanMs: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    });

    it('counts enqueued, completed and failed jobs per minute over the last hour', async () => {
      const q = await setup();
      await q.process('adm-rates', (p) => {
        if ((p as { fail: boolean }).fail) throw new DoNotRetryError('no');
      });
      await q.enqueueMany([{ name: 'adm-rates', payload: { fail: false } }, { name: 'adm-rates', payload: { fail: false } }]);
      await q.enqueue('adm-rates', { fail: true });
      await q.waitUntilIdle();
      await waitFor(async () => (await q.admin.rates('adm-rates')).totals.failed === 1, 5000);
      const series = await q.admin.rates('adm-rates');
      expect(series.totals).toEqual({ enqueued: 3, completed: 2, failed: 1 });
      expect(series.points).toHaveLength(60);
      expect(series.points.at(-1)!.at).toBe(Math.floor(Date.now() / 60_000) * 60_000);
      // Counted in this minute's point or, when the test crossed a minute boundary, the one before (points are rates).
      expect(series.points.slice(-2).reduce((n, point) => n + point.enqueued, 0)).toBeGreaterThan(0);
      expect(heard.filter((e) => e.kind === 'transport')).toEqual([]);
    });
  });
}
