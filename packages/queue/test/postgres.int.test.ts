/**
 * The PostgreSQL adapter against a real server: enqueue inside the application's transaction,
 * the LISTEN connection terminated by the server, the whole connection cut through a TCP proxy,
 * a lease renewed through a long run, a completion the server refuses (a trigger), and foreign
 * rows written straight into the jobs table. Each test has its own schema.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@events/core';
import { DATABASE_URL, startTcpProxy, waitFor } from '@events/testing';
import { createQueue, type Queue } from '../src/index.js';
import { memoryQueue } from '../src/adapters/memory.js';
import { dropSchema, insertForeign, pgQueue, randomSchema, sql } from './postgres-helpers.js';

const { Client } = createRequire(import.meta.url)('pg') as typeof pg;

describe('postgres queue (real PostgreSQL)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function schema(): string {
    const s = randomSchema();
    cleanups.push(() => dropSchema(s));
    return s;
  }

  function track<Q extends Pick<Queue, 'close'>>(q: Q): Q {
    cleanups.push(() => q.close({ timeoutMs: 2000 }));
    return q;
  }

  it('stores a job in the application transaction: rollback leaves 0 jobs, commit leaves 1, run only after the commit', async () => {
    const s = schema();
    const queue = track(pgQueue<{ welcome: { user: string } }>(s));
    const ran: string[] = [];
    await queue.process('welcome', (p) => void ran.push(p.user));
    const app = new Client({ connectionString: DATABASE_URL });
    await app.connect();
    cleanups.push(() => app.end());
    await app.query(`CREATE TABLE "${s}".users (id text PRIMARY KEY)`);

    await app.query('BEGIN');
    await app.query(`INSERT INTO "${s}".users VALUES ('ann')`);
    await queue.enqueue('welcome', { user: 'ann' }, { transaction: app, jobId: 'welcome-ann' });
    await app.query('ROLLBACK');
    expect(await sql(`SELECT id FROM "${s}".jobs`)).toEqual([]);
    expect(await sql(`SELECT id FROM "${s}".users`)).toEqual([]);

    await app.query('BEGIN');
    await app.query(`INSERT INTO "${s}".users VALUES ('bob')`);
    const id = await queue.enqueue('welcome', { user: 'bob' }, { transaction: app, jobId: 'welcome-bob' });
    // Not visible (so not run) before the commit.
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([]);
    expect(await queue.getJob('welcome', id)).toBeUndefined();
    await app.query('COMMIT');
    await waitFor(() => ran.length === 1, 10_000, 'the committed job to run');
    expect(ran).toEqual(['bob']);
    expect(await sql(`SELECT id FROM "${s}".jobs`)).toEqual([{ id: 'welcome-bob' }]);
  });

  it('refuses a transaction on an adapter that cannot honour it', async () => {
    const q = track(createQueue({ adapter: memoryQueue() }));
    await expect(q.enqueue('x', {}, { transaction: { query: async () => undefined } })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('picks jobs up after the server terminates its LISTEN connection', async () => {
    const s = schema();
    // A fallback poll longer than the test: only the LISTEN connection (or its reconnect) can wake the worker.
    const worker = track(pgQueue<{ ping: { n: number } }>(s, {}, { pollIntervalMs: 600_000 }));
    const producer = track(pgQueue<{ ping: { n: number } }>(s));
    const seen: number[] = [];
    await worker.process('ping', (p) => void seen.push(p.n));
    const listenPid = async (): Promise<number | undefined> =>
      (await sql<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query LIKE $1`, [`LISTEN "${s}.%`]))[0]?.pid;
    await waitFor(async () => (await listenPid()) !== undefined, 10_000, 'the LISTEN connection');
    await producer.enqueue('ping', { n: 1 });
    await waitFor(() => seen.length === 1, 10_000, 'a job through NOTIFY');

    const first = await listenPid();
    expect(await sql('SELECT pg_terminate_backend($1) AS ok', [first])).toEqual([{ ok: true }]);
    await producer.enqueueMany([2, 3].map((n) => ({ name: 'ping' as const, payload: { n } })));
    await waitFor(() => seen.length === 3, 10_000, 'jobs enqueued while the LISTEN connection was down');
    await waitFor(async () => ![undefined, first].includes(await listenPid()), 10_000, 'a new LISTEN connection');
    await producer.enqueue('ping', { n: 4 });
    await waitFor(() => seen.length === 4, 10_000, 'a job through the new LISTEN connection');
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
  });

  it('resumes after the PostgreSQL connection is cut and restored, without a restart', async () => {
    const s = schema();
    const proxy = await startTcpProxy(DATABASE_URL);
    cleanups.push(() => proxy.close());
    const seen: number[] = [];
    const errors: string[] = [];
    const worker = track(pgQueue<{ cut: { n: number } }>(s, { onError: (e) => void errors.push(e.kind) }, { connectionString: proxy.url }));
    const producer = track(pgQueue<{ cut: { n: number } }>(s));
    await worker.process('cut', (p) => void seen.push(p.n), { concurrency: 2 });
    await producer.enqueueMany([1, 2, 3].map((n) => ({ name: 'cut' as const, payload: { n } })));
    await waitFor(() => seen.length === 3, 10_000, 'jobs before the cut');

    proxy.refuse();
    proxy.cut();
    await producer.enqueueMany([4, 5, 6].map((n) => ({ name: 'cut' as const, payload: { n } })));
    await new Promise((r) => setTimeout(r, 700));
    expect(seen).toHaveLength(3); // the worker cannot reach the server
    expect(worker.health().connected).toBe(false);

    proxy.resume();
    await waitFor(() => seen.length === 6, 20_000, 'jobs after the connection is restored');
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(errors).toContain('transport');
    await waitFor(() => worker.health().connected, 10_000, 'connected again');
  });

  it("delivers every worker's job events to a queue with events: 'all' in another process's adapter", async () => {
    const s = schema();
    const observer = track(pgQueue<{ job: { fail: boolean } }>(s, { events: 'all' }));
    await observer.start();
    const seen: string[] = [];
    observer.on('completed', (e) => void seen.push(`completed:${e.id}:${JSON.stringify(e.result)}`));
    observer.on('failed', (e) => void seen.push(`failed:${e.id}:${e.error.message}:${e.final}`));
    const worker = track(pgQueue<{ job: { fail: boolean } }>(s));
    await worker.process('job', (p, ctx) => {
      if (p.fail) throw new Error('nope');
      return { ran: ctx.id };
    });
    const ok = await worker.enqueue('job', { fail: false });
    const bad = await worker.enqueue('job', { fail: true }, { attempts: 1 });
    await waitFor(() => seen.length === 2, 10_000, 'two job events in the observer');
    expect(seen.sort()).toEqual([`completed:${ok}:${JSON.stringify({ ran: ok })}`, `failed:${bad}:nope:true`].sort());
  });

  it('renews the lease of a job running past it: run once, not taken back as stalled', async () => {
    const s = schema();
    const queue = track(pgQueue<{ slow: { ms: number } }>(s, {}, { leaseMs: 1000, stalledIntervalMs: 50 }));
    let runs = 0;
    await queue.process('slow', async (payload) => {
      runs += 1;
      await new Promise((r) => setTimeout(r, payload.ms));
    });
    const id = await queue.enqueue('slow', { ms: 3000 });
    await waitFor(async () => (await queue.getJob('slow', id))?.state === 'completed', 10_000, 'the slow job to complete');
    expect(runs).toBe(1);
    expect(await sql(`SELECT stalls, attempt FROM "${s}".jobs WHERE id = $1`, [id])).toEqual([{ stalls: 0, attempt: 1 }]);
  }, 20_000);

  it('runs a job again after its lease when the server refuses its completion, while the worker lives on', async () => {
    const s = schema();
    const reported: string[] = [];
    const queue = track(pgQueue<{ work: { n: number } }>(s, { onError: (e) => void reported.push(`${e.kind}:${String(e.detail?.op)}`) }, { leaseMs: 1000, stalledIntervalMs: 100 }));
    await queue.start();
    // The first completion written in this schema fails (a sequence is not rolled back with it).
    await sql(`CREATE SEQUENCE "${s}".refusals`);
    await sql(`CREATE FUNCTION "${s}".refuse_first() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.state = 'completed' AND OLD.state = 'active' AND nextval('"${s}".refusals') = 1 THEN RAISE EXCEPTION 'completion refused by the test'; END IF;
      RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER refuse_first BEFORE UPDATE ON "${s}".jobs FOR EACH ROW EXECUTE FUNCTION "${s}".refuse_first()`);
    const runs: number[] = [];
    await queue.process('work', (payload) => void runs.push(payload.n));
    const id = await queue.enqueue('work', { n: 1 });
    // Sent 1, its first completion refused: run twice (a duplicate, as at-least-once allows), completed once, none lost.
    await waitFor(async () => (await queue.getJob('work', id))?.state === 'completed', 10_000, 'the refused job to run again and complete');
    expect(runs).toEqual([1, 1]);
    expect(reported).toEqual(['transport:ack']);
    await queue.waitUntilIdle({ timeoutMs: 5000 });
    expect(await queue.deadLetters.count()).toBe(0);
  }, 20_000);

  it('keeps working through foreign rows with arbitrary data: bad ones dead-lettered with their raw text', async () => {
    const s = schema();
    const reported: string[] = [];
    const queue = track(pgQueue<{ foreign: unknown }>(s, { onError: (e) => void reported.push(e.kind) }));
    const handled = new Map<string, string>();
    await queue.process('foreign', (payload, ctx) => void handled.set(ctx.id, JSON.stringify(payload)), { concurrency: 4 });
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.json({ maxDepth: 2 }),
      fc.record({ id: fc.oneof(fc.string(), fc.integer()), name: fc.oneof(fc.constant('foreign'), fc.string()), payload: fc.jsonValue({ maxDepth: 1 }) }).map((o) => JSON.stringify(o)),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, fc.constantFrom('foreign', 'stranger')), { minLength: 1, maxLength: 8 }), async (rows) => {
        const ids = rows.map(() => `f${(n += 1)}`);
        for (const [i, [raw, name]] of rows.entries()) await insertForeign(s, { queue: 'foreign', name, id: ids[i]!, raw });
        await waitFor(async () => (await queue.counts('foreign')).waiting + (await queue.counts('foreign')).active === 0, 10_000, 'the rows to be taken');
        const letters = new Map((await queue.deadLetters.list({ ids })).map((l) => [l.id, l]));
        for (const [i, [raw, name]] of rows.entries()) {
          const id = ids[i]!;
          // Each row exactly once: handled, or dead-lettered.
          expect(handled.has(id) !== letters.has(id)).toBe(true);
          let parsed: { ok: boolean; value?: unknown } = { ok: false };
          try {
            parsed = { ok: true, value: JSON.parse(raw) as unknown };
          } catch {
            /* not JSON */
          }
          // Another job name in this queue: refused before its data is read.
          if (name !== 'foreign') expect(letters.get(id)?.error.name).toBe('UnknownJobError');
          // Text that is not JSON: dead-lettered with the text verbatim.
          if (!parsed.ok) expect(letters.get(id)).toMatchObject({ raw, error: { name: name === 'foreign' ? 'DecodeError' : 'UnknownJobError' } });
          else if (name !== 'foreign') continue;
          else if (typeof parsed.value !== 'object' || parsed.value === null || !('payload' in parsed.value)) {
            // A bare JSON value is the payload itself (the foreign-producer rule).
            expect(handled.get(id)).toBe(JSON.stringify(parsed.value));
          }
        }
      }),
      { numRuns: 12 },
    );
    // Still up: an ordinary job runs.
    const id = await queue.enqueue('foreign', { after: true });
    await waitFor(() => handled.has(id), 10_000, 'an ordinary job after the foreign rows');
  }, 30_000);
});
