/**
 * PostgreSQL-only fault tests with real worker processes (`events-worker run`; the shared fault
 * suite runs in postgres.faults.int.test.ts): workers SIGKILLed mid-job with every run recorded in
 * PostgreSQL itself (sent, completed, duplicated, lost counted), and `events-worker migrate`.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_URL, spawnTs, waitFor, type SpawnedTs } from '@events/testing';
import { dropSchema, pgQueue, randomSchema, sql } from './postgres-helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const fixture = 'packages/queue/test/fixtures/postgres-worker.ts';

describe('faults (postgres, real PostgreSQL)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function worker(schema: string, concurrency = 10): SpawnedTs {
    const w = spawnTs(cli, ['run', fixture], { cwd: root, env: { QUEUE_SCHEMA: schema, DATABASE_URL, CONCURRENCY: String(concurrency) } });
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    return w;
  }

  async function setup(): Promise<{ schema: string; producer: ReturnType<typeof pgQueue<{ work: { ms: number } }>> }> {
    const schema = randomSchema();
    const producer = pgQueue<{ work: { ms: number } }>(schema);
    cleanups.push(async () => {
      await producer.close();
      await dropSchema(schema);
    });
    await producer.start();
    await sql(`CREATE TABLE "${schema}".test_runs (id text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    return { schema, producer };
  }

  it('recovers jobs of workers killed with SIGKILL mid-job: 1,000 jobs, none lost', async () => {
    const { schema, producer } = await setup();
    const sent = await producer.enqueueMany(Array.from({ length: 1000 }, () => ({ name: 'work' as const, payload: { ms: 15 } })));
    const done = async (): Promise<number> => (await sql<{ n: number }>(`SELECT count(DISTINCT id)::int AS n FROM "${schema}".test_runs`))[0]!.n;
    const active = async (): Promise<string[]> => (await sql<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE state = 'active'`)).map((r) => r.id);

    const a = worker(schema);
    await waitFor(async () => (await done()) >= 150, 30_000, 'worker A to finish 150 jobs');
    a.child.kill('SIGKILL');
    await a.exited;
    // Still 'active' in the table: what the dead process held (its leases run out later).
    const activeAtKillA = await active();
    expect(activeAtKillA.length).toBeGreaterThan(0);

    const b = worker(schema);
    await waitFor(async () => (await done()) >= 500, 30_000, 'worker B to pass 500 jobs');
    b.child.kill('SIGKILL');
    await b.exited;
    const activeAtKillB = await active();
    expect(activeAtKillB.length).toBeGreaterThan(0);

    const c = worker(schema);
    await waitFor(async () => (await done()) === 1000, 60_000, 'all 1000 jobs done');
    await producer.waitUntilIdle({ names: ['work'], timeoutMs: 20_000 }).catch(async (err: unknown) => {
      // Say which jobs were left, in what state and held by whom, not only that time ran out.
      const left = await sql(`SELECT id, state, locked_by, locked_until, stalls, attempt, run_at FROM "${schema}".jobs WHERE state <> 'completed'`);
      throw new Error(`not idle (${String(err)}); C is ${c.child.pid}; left: ${JSON.stringify(left)}`);
    });
    const [tally] = await sql<{ runs: number; distinct: number }>(`SELECT count(*)::int AS runs, count(DISTINCT id)::int AS distinct FROM "${schema}".test_runs`);
    const finished = new Set((await sql<{ id: string }>(`SELECT DISTINCT id FROM "${schema}".test_runs`)).map((r) => r.id));
    const lost = sent.filter((id) => !finished.has(id)).length;
    console.log(`postgres SIGKILL x2: sent ${sent.length}, completed ${tally!.distinct}, duplicated ${tally!.runs - tally!.distinct}, lost ${lost}`);
    expect(lost).toBe(0);
    expect(tally!.distinct).toBe(1000);
    expect(await producer.deadLetters.count()).toBe(0);
    // A job cut off mid-run was finished (its last run) by a later process.
    const lastBy = new Map((await sql<{ id: string; pid: number }>(`SELECT DISTINCT ON (id) id, pid FROM "${schema}".test_runs ORDER BY id, at DESC`)).map((r) => [r.id, r.pid]));
    for (const id of activeAtKillA) expect([b.child.pid, c.child.pid]).toContain(lastBy.get(id));
    for (const id of activeAtKillB) expect(lastBy.get(id)).toBe(c.child.pid);
    c.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  }, 120_000);

  it('events-worker migrate applies the migrations once, and a queue without them refuses to start', async () => {
    const schema = randomSchema();
    cleanups.push(() => dropSchema(schema));
    const unmigrated = pgQueue(schema, {}, { migrate: false });
    cleanups.push(() => unmigrated.close());
    await expect(unmigrated.start()).rejects.toThrow(/at version 0, this @events\/queue needs 2: run `events-worker migrate/);
    const first = spawnTs(cli, ['migrate', '--url', DATABASE_URL, '--schema', schema], { cwd: root });
    expect((await first.exited).code).toBe(0);
    expect(first.stdout()).toContain('applied migrations 1, 2');
    const again = spawnTs(cli, ['migrate', '--schema', schema], { cwd: root, env: { DATABASE_URL } });
    expect((await again.exited).code).toBe(0);
    expect(again.stdout()).toContain('schema up to date');
    expect(await sql(`SELECT version FROM "${schema}".migrations`)).toEqual([{ version: 1 }, { version: 2 }]);
    const q = pgQueue(schema, {}, { migrate: false });
    cleanups.push(() => q.close());
    await q.start();
  }, 60_000);
});
