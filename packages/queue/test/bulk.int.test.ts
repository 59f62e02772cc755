/**
 * The bulk enqueue path (`enqueueMany`) on BullMQ and on PostgreSQL, the two adapters whose bulk
 * path the benchmark work of issue 14 changed (PostgreSQL: one JSON parameter per batch read with
 * json_to_recordset; both: no promise per job without schemas): N jobs land exactly N times under the ids returned;
 * ids given twice (in one call, or again later) are stored once; hostile payloads (any JSON,
 * control characters, NUL, lone surrogates) come back from the backend as they went in; a bulk
 * above the adapters' bound is refused before anything is stored; and on PostgreSQL a burst of
 * enqueues refreshes the table's statistics, so claims keep their indexed plan on a deep queue.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@events/core';
import { REDIS_URL, waitFor } from '@events/testing';
import { bullmqQueue, MAX_JOBS_PER_ADD as BULLMQ_MAX } from '../src/adapters/bullmq.js';
import { MAX_JOBS_PER_ADD as POSTGRES_MAX } from '../src/adapters/postgres.js';
import { createQueue, type Queue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';
import { dropSchema, pgQueue, randomSchema, sql } from './postgres-helpers.js';

type Jobs = Record<string, unknown>;

interface Backend {
  readonly label: string;
  readonly max: number;
  open(): Queue<Jobs>;
  cleanup(): Promise<void>;
}

function bullmqBackend(): Backend {
  const prefix = randomPrefix();
  return { label: 'BullMQ', max: BULLMQ_MAX, open: () => createQueue<Jobs>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) }), cleanup: () => deletePrefix(prefix) };
}

function postgresBackend(): Backend {
  const schema = randomSchema();
  return { label: 'PostgreSQL', max: POSTGRES_MAX, open: () => pgQueue<Jobs>(schema), cleanup: () => dropSchema(schema) };
}

/** JSON values with the characters that break naive encoders: quotes, backslashes, NUL, controls, lone surrogates. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '"', '\\', '\\"', '{"', '\ud800', '\udc00x', '\u2028\u2029', "'; DROP TABLE jobs; --", '{}', '[]', 'null'),
);
const hostilePayload = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  fc.dictionary(hostileString, fc.oneof(hostileString, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }),
  fc.array(hostileString, { maxLength: 5 }),
);

/** What a payload looks like after the JSON round trip every backend makes (-0 becomes 0). */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

for (const make of [bullmqBackend, postgresBackend]) {
  const backend = make();
  describe(`enqueueMany on ${backend.label}`, () => {
    let queue: Queue<Jobs>;

    beforeAll(async () => {
      queue = backend.open();
      await queue.start();
    });

    afterAll(async () => {
      await queue.close({ timeoutMs: 5000 });
      await backend.cleanup();
    });

    it('stores exactly N jobs under the ids it returns, in order', async () => {
      const n = 2_500;
      const ids = await queue.enqueueMany(Array.from({ length: n }, (_, i) => ({ name: 'bulk-n', payload: { i } })));
      expect(ids).toHaveLength(n);
      expect(new Set(ids).size).toBe(n);
      expect((await queue.counts('bulk-n')).waiting).toBe(n);
      for (const i of [0, 1, 1_249, n - 1]) {
        const job = await queue.getJob('bulk-n', ids[i]!);
        expect(job?.data).toEqual({ ok: true, value: expect.objectContaining({ id: ids[i], name: 'bulk-n', payload: { i } }) });
      }
    });

    it('stores a jobId given twice once, in one call or in a later one', async () => {
      const first = await queue.enqueueMany([
        { name: 'bulk-dedupe', payload: { v: 1 }, options: { jobId: 'order-1' } },
        { name: 'bulk-dedupe', payload: { v: 2 }, options: { jobId: 'order-2' } },
        { name: 'bulk-dedupe', payload: { v: 3 }, options: { jobId: 'order-1' } },
        { name: 'bulk-dedupe', payload: { v: 4 } },
      ]);
      expect(first.slice(0, 3)).toEqual(['order-1', 'order-2', 'order-1']);
      const again = await queue.enqueueMany([
        { name: 'bulk-dedupe', payload: { v: 5 }, options: { jobId: 'order-2' } },
        { name: 'bulk-dedupe', payload: { v: 6 }, options: { jobId: 'order-3' } },
      ]);
      expect(again).toEqual(['order-2', 'order-3']);
      // order-1, order-2, the generated one, order-3: four jobs, each id's first payload kept.
      expect((await queue.counts('bulk-dedupe')).waiting).toBe(4);
      const kept = await queue.getJob('bulk-dedupe', 'order-2');
      expect(kept?.data).toEqual({ ok: true, value: expect.objectContaining({ payload: { v: 2 } }) });
    });

    it('returns hostile payloads from the backend exactly as they went in', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(hostilePayload, { minLength: 1, maxLength: 20 }), async (payloads) => {
          const name = `bulk-hostile-${(run += 1)}`;
          const ids = await queue.enqueueMany(payloads.map((payload) => ({ name, payload })));
          expect(ids).toHaveLength(payloads.length);
          for (const [k, id] of ids.entries()) {
            const job = await queue.getJob(name, id);
            expect(job?.data.ok).toBe(true);
            expect((job?.data as { value: { payload: unknown } }).value.payload).toEqual(roundTrip(payloads[k]));
          }
        }),
        { numRuns: 25 },
      );
    });

    it(`refuses a bulk above ${backend.max.toLocaleString('en')} jobs, naming the bound, and stores none of it`, async () => {
      const items = Array.from({ length: backend.max + 1 }, (_, i) => ({ name: 'bulk-bound', payload: i }));
      const refused = queue.enqueueMany(items);
      await expect(refused).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(refused).rejects.toThrow(`at most ${backend.max} jobs per call`);
      expect((await queue.counts('bulk-bound')).waiting).toBe(0);
      // The bound itself is accepted.
      expect(await queue.enqueueMany(items.slice(0, backend.max))).toHaveLength(backend.max);
      expect((await queue.counts('bulk-bound')).waiting).toBe(backend.max);
    });
  });
}

describe('a burst of enqueues on PostgreSQL', () => {
  const schema = randomSchema();
  const queue = pgQueue<Jobs>(schema);

  afterAll(async () => {
    await queue.close({ timeoutMs: 5000 });
    await dropSchema(schema);
  });

  it('is followed by an ANALYZE of the jobs table, and the claim reads the head of the ready index instead of sorting the queue', async () => {
    for (let i = 0; i < 4; i += 1) await queue.enqueueMany(Array.from({ length: 5_000 }, (_, k) => ({ name: 'burst', payload: { k } })));
    const analyzed = async (): Promise<boolean> => {
      const rows = await sql<{ n: number }>('SELECT analyze_count::int AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2', [schema, 'jobs']);
      return (rows[0]?.n ?? 0) > 0;
    };
    await waitFor(analyzed, 10_000, 'an ANALYZE of the jobs table');
    const plan = await sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT queue, id FROM "${schema}".jobs WHERE queue = 'burst' AND state = 'waiting' AND run_at <= now() ORDER BY priority, run_at, seq LIMIT 10 FOR UPDATE SKIP LOCKED`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('jobs_ready');
    expect(text).not.toMatch(/\bSort\b/);
  });
});
