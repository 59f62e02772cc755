/**
 * The dashboard's JSON endpoints over a platform on memory adapters, mounted in a node:http server
 * the way an application mounts it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDashboard } from '../src/dashboard.js';
import { call, eventually, openStream, post, startHarness, type Harness } from './helpers.js';

interface Letter {
  id: string;
  name: string;
  error: { name: string; message: string; stack?: string };
  attemptsMade: number;
  payload: unknown;
  envelope?: { id: string; correlationId?: string };
}
interface LetterList {
  total: number;
  items: Letter[];
}

let h: Harness;
const job = `sendEmail${randomUUID().slice(0, 8)}`;

beforeEach(async () => {
  h = await startHarness({ jobNames: [job] });
});
afterEach(async () => {
  await h.close();
});

/** Registers a worker for `job` that fails while `state.fail` is true, and enqueues one job with one attempt. */
async function failOneJob(payload: unknown, state: { fail: boolean }): Promise<string> {
  await h.platform.queue.process(job, (p: unknown) => {
    if (state.fail) throw new Error(`smtp down for ${JSON.stringify(p)}`);
    return 'sent';
  });
  const id = await h.platform.queue.enqueue(job, payload, { attempts: 1, correlationId: 'corr-1' });
  await eventually(async () => ((await h.platform.queue.deadLetters.count({ ids: [id] })) === 1 ? true : undefined));
  return id;
}

describe('failed jobs', () => {
  it('lists a dead letter, shows its detail, replays it on a dry run and for real, and the replay completes', async () => {
    const state = { fail: true };
    const id = await failOneJob({ userId: 'u1' }, state);

    const list = (await call(h.origin, '/dashboard/api/dead-letters')).body as LetterList;
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ id, name: job, attemptsMade: 1, error: { name: 'Error', message: 'smtp down for {"userId":"u1"}' } });

    // Filters by job name and by error text.
    expect(((await call(h.origin, `/dashboard/api/dead-letters?name=${job}&error=smtp`)).body as LetterList).total).toBe(1);
    expect(((await call(h.origin, '/dashboard/api/dead-letters?error=no-such-text')).body as LetterList).total).toBe(0);
    expect(((await call(h.origin, '/dashboard/api/dead-letters?name=otherJob')).body as LetterList).total).toBe(0);

    const detail = (await call(h.origin, `/dashboard/api/dead-letters/${id}`)).body as Letter;
    expect(detail.payload).toEqual({ userId: 'u1' });
    expect(detail.envelope).toMatchObject({ id, correlationId: 'corr-1' });
    expect(detail.error.stack).toContain('smtp down');

    const overview = (await call(h.origin, '/dashboard/api/overview')).body as { deadLetters: { total: number }; queues: Array<{ name: string; counts: Record<string, number> }> };
    expect(overview.deadLetters.total).toBe(1);
    expect(overview.queues.find((q) => q.name === job)?.counts.failed).toBe(1);

    const dry = await post(h.origin, '/dashboard/api/dead-letters/replay', { ids: [id], dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ dryRun: true, replayed: [{ from: id, name: job }], skipped: [] });
    expect(((await call(h.origin, '/dashboard/api/dead-letters')).body as LetterList).total).toBe(1);

    state.fail = false;
    const replay = await post(h.origin, '/dashboard/api/dead-letters/replay', { ids: [id] });
    const replayed = (replay.body as { replayed: Array<{ from: string; id: string }> }).replayed;
    expect(replayed).toHaveLength(1);
    expect(replayed[0]!.from).toBe(id);
    const newId = replayed[0]!.id;
    expect(newId).not.toBe(id);

    await h.platform.queue.waitUntilIdle({ names: [job] });
    expect(((await call(h.origin, '/dashboard/api/dead-letters')).body as LetterList).total).toBe(0);
    expect((await h.platform.queue.getJob(job, newId))?.state).toBe('completed');
    const queues = (await call(h.origin, '/dashboard/api/queues')).body as { queues: Array<{ name: string; counts: Record<string, number> }> };
    expect(queues.queues.find((q) => q.name === job)?.counts.completed).toBe(1);

    // The job events of this process were recorded too.
    const jobs = (await call(h.origin, '/dashboard/api/jobs')).body as { events: Array<{ type: string; id: string; final?: boolean }> };
    expect(jobs.events).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'failed', id, final: true }), expect.objectContaining({ type: 'completed', id: newId })]),
    );
  });

  it('replays every letter matching a filter and discards by id', async () => {
    const state = { fail: true };
    const first = await failOneJob({ n: 1 }, state);
    const second = await h.platform.queue.enqueue(job, { n: 2 }, { attempts: 1 });
    await eventually(async () => ((await h.platform.queue.deadLetters.count()) === 2 ? true : undefined));

    const dry = (await post(h.origin, '/dashboard/api/dead-letters/replay', { name: job, error: 'smtp', dryRun: true })).body as { replayed: unknown[] };
    expect(dry.replayed).toHaveLength(2);

    const discarded = await post(h.origin, '/dashboard/api/dead-letters/discard', { ids: [second] });
    expect(discarded.body).toEqual({ discarded: 1 });
    const left = (await call(h.origin, '/dashboard/api/dead-letters')).body as LetterList;
    expect(left.items.map((l) => l.id)).toEqual([first]);

    state.fail = false;
    const all = (await post(h.origin, '/dashboard/api/dead-letters/replay', { name: job })).body as { replayed: unknown[] };
    expect(all.replayed).toHaveLength(1);
    await h.platform.queue.waitUntilIdle({ names: [job] });
    expect(((await call(h.origin, '/dashboard/api/dead-letters')).body as LetterList).total).toBe(0);
  });

  it('refuses bad requests with a 4xx and a message', async () => {
    const replay = '/dashboard/api/dead-letters/replay';
    expect((await call(h.origin, replay, { body: '{"ids":[]}', contentType: 'text/plain' })).status).toBe(415);
    expect((await call(h.origin, replay, { body: '{not json' })).status).toBe(400);
    expect((await call(h.origin, replay, { body: '[1,2]' })).status).toBe(400);
    const badIds = await post(h.origin, replay, { ids: 'abc' });
    expect(badIds.status).toBe(400);
    expect(badIds.body).toEqual({ error: '"ids" must be an array of strings of at most 256 characters' });
    expect((await post(h.origin, replay, { dryRun: 'yes' })).status).toBe(400);
    expect((await call(h.origin, replay, { body: 'x'.repeat(70 * 1024) })).status).toBe(413);

    // A discard without any filter would remove everything: it must say so.
    const discardAll = await post(h.origin, '/dashboard/api/dead-letters/discard', {});
    expect(discardAll.status).toBe(400);
    expect(await post(h.origin, '/dashboard/api/dead-letters/discard', { all: true })).toMatchObject({ status: 200, body: { discarded: 0 } });

    expect((await call(h.origin, '/dashboard/api/dead-letters?limit=0')).status).toBe(400);
    expect((await call(h.origin, '/dashboard/api/dead-letters/no-such-id')).status).toBe(404);
    expect((await call(h.origin, '/dashboard/api/nothing')).status).toBe(404);
    expect((await call(h.origin, '/dashboard/api/overview', { method: 'DELETE' })).status).toBe(405);
    expect((await call(h.origin, '/dashboard/../etc/passwd')).status).not.toBe(200);
    expect((await call(h.origin, '/dashboard/secret.txt')).status).toBe(404);
  });
});

describe('bus flow', () => {
  it('shows emitted events with correlation and causation ids, and counts them per name', async () => {
    await h.platform.bus.on('users.UserSignedUp', async (envelope, ctx) => {
      await ctx.emit('audit.Recorded', { of: envelope.id });
    }, { group: `audit${randomUUID().slice(0, 8)}` });
    const emitted = await h.platform.bus.emit('users.UserSignedUp', { userId: 'u1' }, { correlationId: 'flow-1' });

    type Flow = { total: number; events: Array<{ id: string; name: string; correlationId?: string; causationId?: string }>; names: Array<{ name: string; total: number }> };
    const flow = await eventually(async () => {
      const body = (await call(h.origin, '/dashboard/api/bus')).body as Flow;
      return body.events.length === 2 ? body : undefined;
    });
    // Newest first.
    expect(flow.events[1]).toMatchObject({ id: emitted.id, name: 'users.UserSignedUp', correlationId: 'flow-1' });
    expect(flow.events[0]).toMatchObject({ name: 'audit.Recorded', correlationId: 'flow-1', causationId: emitted.id });
    expect(flow.names.map((n) => [n.name, n.total]).sort()).toEqual([['audit.Recorded', 1], ['users.UserSignedUp', 1]]);

    const overview = (await call(h.origin, '/dashboard/api/overview')).body as { bus: { total: number; stats: { consumers: Array<{ group: string }> } } };
    expect(overview.bus.total).toBe(2);
    expect(overview.bus.stats.consumers.some((c) => c.group === 'dashboard')).toBe(true);
  });
});

describe('live channels', () => {
  it('shows broadcast messages and per-channel counters, over JSON and over the event stream', async () => {
    const channel = `user:${randomUUID()}:notifications`;
    // The stream says `ready` once the dashboard's subscriptions are live: from then on, nothing is missed.
    const stream = await openStream(h.origin, '/dashboard/api/stream');
    await stream.next((event) => event === 'ready');
    const streamed = stream.next((event, data) => event === 'batch' && data.includes(channel));
    await h.platform.pubsub.broadcast(channel, { text: 'hi' });
    const batch = JSON.parse(await streamed) as { channel: Array<{ channel: string; message: string }> };
    expect(batch.channel[0]).toMatchObject({ channel, message: '{"text":"hi"}' });
    stream.close();

    const live = (await call(h.origin, '/dashboard/api/channels')).body as { messages: Array<{ channel: string }>; channels: Array<{ name: string; total: number; ratePerSecond: number }> };
    expect(live.messages[0]!.channel).toBe(channel);
    const counter = live.channels.find((c) => c.name === channel)!;
    expect(counter.total).toBeGreaterThanOrEqual(1);
    expect(counter.ratePerSecond).toBeGreaterThan(0);
  });
});

describe('mounting', () => {
  it('serves only under its base path and redirects the bare path to the page', async () => {
    const bare = await call(h.origin, '/dashboard?jobs=a');
    expect(bare.status).toBe(302);
    expect(bare.headers.location).toBe('/dashboard/?jobs=a');
    const page = await call(h.origin, '/dashboard/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('Failed jobs');
    expect((await call(h.origin, '/dashboard/app.js')).headers['content-type']).toContain('javascript');
    expect((await call(h.origin, '/elsewhere')).text).toBe('app 404');
    expect((await call(h.origin, '/dashboardish')).text).toBe('app 404');
  });

  it("reads each tier's health facts", async () => {
    const health = (await call(h.origin, '/dashboard/api/health')).body as { ok: boolean; tiers: Record<string, { phase: string; connected: boolean }> };
    expect(health.ok).toBe(true);
    expect(Object.keys(health.tiers).sort()).toEqual(['bus', 'pubsub', 'queue']);
    for (const tier of Object.values(health.tiers)) expect(tier).toMatchObject({ phase: 'ready', connected: true });
  });

  it('picks among the known job names with ?jobs=, and never counts a name it does not know', async () => {
    const extra = `other${randomUUID().slice(0, 8)}`;
    const queues = (await call(h.origin, `/dashboard/api/queues?jobs=${job},${extra}`)).body as { queues: Array<{ name: string; counts: Record<string, number> }>; unknown: string[] };
    expect(queues.queues.map((q) => q.name)).toEqual([job]);
    expect(queues.unknown).toEqual([extra]);
    expect(queues.queues[0]!.counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
    // Names are checked with the core job-name rules, and bounded per request.
    expect((await call(h.origin, '/dashboard/api/queues?jobs=a%20b')).status).toBe(400);
    const many = Array.from({ length: 51 }, (_, i) => `j${i}`).join(',');
    expect((await call(h.origin, `/dashboard/api/queues?jobs=${many}`)).status).toBe(400);
  });

  it('honours authorize, rejects a bad basePath, and close() cancels its subscriptions', async () => {
    expect(() => createDashboard({ platform: h.platform, insecure: true, basePath: 'no-slash' })).toThrow(/basePath/);
    const ops = await startHarness({ basePath: '/ops/', authorize: (req) => req.headers['x-ok'] === '1' });
    try {
      expect((await call(ops.origin, '/ops/api/overview')).status).toBe(403);
      expect((await call(ops.origin, '/ops/api/overview', { headers: { 'x-ok': '1' } })).status).toBe(200);
      expect((await call(ops.origin, '/dashboard/api/overview')).text).toBe('app 404');
      const { bus, pubsub } = ops.platform;
      expect(bus.stats().consumers.filter((c) => c.group === 'dashboard')).toHaveLength(1);
      expect(pubsub.subscriptions().get('*')).toBe(1);
      await ops.dashboard.close();
      await ops.dashboard.close();
      expect(bus.stats().consumers.filter((c) => c.group === 'dashboard')).toHaveLength(0);
      expect(pubsub.subscriptions().get('*') ?? 0).toBe(0);
      expect((await call(ops.origin, '/ops/api/overview', { headers: { 'x-ok': '1' } })).status).toBe(503);
    } finally {
      await ops.close();
    }
  });
});
