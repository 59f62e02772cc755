/**
 * The job administration endpoints under hostile input, as properties (fast-check, bounded): any
 * query or JSON body is answered 200, 400, 404 or 409 (never a 5xx), a name the dashboard does
 * not know reaches no queue call, a dry run changes nothing, and every action still goes through
 * the guard: no credentials 401, a foreign Origin 403, past the action rate 429.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, post, startHarness, type Harness } from './helpers.js';
import { adminBody } from './hostile-http.js';

const known = 'sendWelcomeEmail';
const other = 'chargeCard';
let h: Harness;
const ids: string[] = [];

beforeAll(async () => {
  h = await startHarness({ jobNames: [known, other], actionsPerMinute: 100_000 });
  const q = h.platform.queue;
  // A job in every state a request can meet: waiting, delayed, prioritized, failed, dead, completed.
  await q.process(other, (p) => {
    if ((p as { fail?: boolean }).fail) throw new Error('declined');
  });
  for (const fail of [false, true]) ids.push(await q.enqueue(other, { fail }, { attempts: 1, removeOnComplete: false, removeOnFail: false }));
  await q.waitUntilIdle({ names: [other] });
  ids.push(await q.enqueue(known, { n: 1 }), await q.enqueue(known, { n: 2 }, { delay: 3_600_000 }), await q.enqueue(known, { n: 3 }, { priority: 2 }));
});
afterAll(() => h.close());

const seed = Number(process.env.FC_SEED ?? Date.now() % 1e9);
const anyValue = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('', '-1', '1e3', '0x10', '101', '1000001', 'waiting', 'dead', known, other, 'x'.repeat(400)), fc.integer().map(String));

describe('job administration endpoints', () => {
  it('answer any query with 200, 400 or 404, within their page bounds', { timeout: 30_000 }, async () => {
    const query = fc.record({ name: anyValue, state: anyValue, offset: anyValue, limit: anyValue, id: fc.oneof(anyValue, fc.constantFrom(...ids)), names: anyValue }, { requiredKeys: [] });
    const route = fc.constantFrom('jobs', 'job', 'find', 'rates');
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(route, query, async (r, q) => {
        const reply = await call(h.origin, `/dashboard/api/admin/${r}?${new URLSearchParams(q as Record<string, string>)}`);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect([200, 400, 404], reply.text.slice(0, 200)).toContain(reply.status);
        if (r === 'jobs' && reply.status === 200) expect((reply.body as { jobs: unknown[] }).jobs.length).toBeLessThanOrEqual(100);
      }),
      { numRuns: 300, seed },
    );
    console.log(`admin GET answers ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(h.errors.filter((e) => e.kind === 'handler')).toEqual([]);
  });

  it('answer any action body with 200, 400, 404 or 409; a dry run changes nothing', { timeout: 30_000 }, async () => {
    const action = fc.constantFrom('retry', 'promote', 'remove', 'pause', 'resume', 'clean');
    const body = fc.oneof(adminBody, adminBody.map((b) => ({ ...b, name: known, id: ids[2] })), adminBody.map((b) => ({ ...b, name: other, dryRun: true })));
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(action, body, async (a, b) => {
        const dry = a === 'clean' && b.dryRun === true;
        const before = dry && typeof b.name === 'string' ? await h.platform.queue.admin.counts(b.name).catch(() => undefined) : undefined;
        const reply = await post(h.origin, `/dashboard/api/admin/${a}`, b);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect([200, 400, 404, 409], reply.text.slice(0, 200)).toContain(reply.status);
        if (before && typeof b.name === 'string') expect(await h.platform.queue.admin.counts(b.name)).toEqual(before);
      }),
      { numRuns: 300, seed },
    );
    console.log(`admin POST answers ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(h.errors.filter((e) => e.kind === 'handler')).toEqual([]);
    // Every action was logged, with who asked.
    expect(h.actions.length).toBeGreaterThan(0);
    expect(h.actions.every((a) => a.user.length > 0 && a.address.length > 0)).toBe(true);
  });
});

describe('the guard', () => {
  it('refuses actions without credentials (401) and from a foreign Origin (403); the job stays', async () => {
    // The properties above may have removed or paused anything: a fresh job, a running name.
    await h.platform.queue.admin.resume(known);
    const waiting = await h.platform.queue.enqueue(known, { n: 4 });
    const anonymous = await call(h.origin, '/dashboard/api/admin/remove', { body: JSON.stringify({ name: known, id: waiting }), anonymous: true });
    expect(anonymous.status).toBe(401);
    const foreign = await call(h.origin, '/dashboard/api/admin/remove', { body: JSON.stringify({ name: known, id: waiting }), headers: { origin: 'https://attacker.example' } });
    expect(foreign.status).toBe(403);
    const crossSite = await call(h.origin, '/dashboard/api/admin/pause', { body: JSON.stringify({ name: known }), headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    await expect(h.platform.queue.admin.job(known, waiting)).resolves.toMatchObject({ state: 'waiting' });
    await expect(h.platform.queue.admin.counts(known)).resolves.toMatchObject({ paused: false });
  });

  it('rate-limits the actions per caller with the same bucket as replay and discard', async () => {
    const limited = await startHarness({ jobNames: [known], actionsPerMinute: 2 });
    try {
      expect((await post(limited.origin, '/dashboard/api/admin/pause', { name: known })).status).toBe(200);
      expect((await post(limited.origin, '/dashboard/api/dead-letters/replay', { dryRun: true })).status).toBe(200);
      const third = await post(limited.origin, '/dashboard/api/admin/resume', { name: known });
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toMatch(/^\d+$/);
      expect(limited.actions.map((a) => a.action)).toEqual(['pause', 'replay']);
    } finally {
      await limited.close();
    }
  });
});
