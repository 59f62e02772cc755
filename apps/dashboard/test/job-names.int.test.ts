/**
 * Issue 11, finding 4: on BullMQ, counting a job name creates a Queue object and writes a
 * `<prefix>:<name>:meta` key (BullMQ 5), so names from a request must never reach `queue.counts`
 * unchecked. A flood of random names in `?jobs=` (1,000 names in 20 requests, as in the report)
 * reaches no count and creates no key.
 */
import { randomUUID } from 'node:crypto';
import { randomId, REDIS_URL } from '@events/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { call, post, startHarness, type Harness } from './helpers.js';

const prefix = randomId('dash-names');
const redis = new Redis(REDIS_URL);
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ config: { queue: { adapter: 'bullmq', url: REDIS_URL, prefix } }, jobNames: ['knownJob'], actionsPerMinute: 10_000 });
});
afterAll(async () => {
  await h?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const keysNaming = async (names: ReadonlySet<string>): Promise<string[]> => (await redis.keys(`${prefix}:*`)).filter((key) => [...names].some((n) => key.includes(n)));

it('counts no name it was not configured with: a flood of names creates no Redis key and no Queue', async () => {
  // On BullMQ 6.7 a count no longer writes `<name>:meta` (5.x did), but it still creates and caches
  // a Queue per name in the adapter: the spy sees every name that reaches the queue.
  const counted = vi.spyOn(h.platform.queue, 'counts');
  const asked = new Set<string>();
  for (let r = 0; r < 20; r += 1) {
    const names = Array.from({ length: 50 }, () => `flood${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    names.forEach((n) => asked.add(n));
    const path = r % 2 === 0 ? '/dashboard/api/queues' : '/dashboard/api/overview';
    const reply = await call(h.origin, `${path}?jobs=${names.join(',')}`);
    expect(reply.status).toBe(200);
    expect((reply.body as { unknown?: string[]; unknownJobs?: string[] }).unknown ?? (reply.body as { unknownJobs?: string[] }).unknownJobs).toHaveLength(50);
  }
  expect(asked.size).toBe(1000);
  expect(counted.mock.calls.map(([name]) => name).filter((name) => asked.has(name))).toEqual([]);
  expect(await keysNaming(asked)).toEqual([]);

  // The configured name is still counted.
  const known = (await call(h.origin, '/dashboard/api/queues?jobs=knownJob')).body as { queues: Array<{ name: string; counts: object }> };
  expect(known.queues.map((q) => q.name)).toEqual(['knownJob']);
  expect(counted).toHaveBeenCalledWith('knownJob');
});

it('lets no unknown name reach queue.admin: reads and actions on 200 random names are 404 and create no Redis key', async () => {
  const asked = new Set(Array.from({ length: 200 }, () => `adm${randomUUID().replaceAll('-', '').slice(0, 12)}`));
  const reached = vi.spyOn(h.platform.queue.admin, 'counts');
  const paused = vi.spyOn(h.platform.queue.admin, 'pause');
  let i = 0;
  for (const name of asked) {
    const reply =
      i % 4 === 0
        ? await call(h.origin, `/dashboard/api/admin/jobs?name=${name}&state=waiting`)
        : i % 4 === 1
          ? await call(h.origin, `/dashboard/api/admin/rates?names=${name}`)
          : i % 4 === 2
            ? await post(h.origin, '/dashboard/api/admin/pause', { name })
            : await post(h.origin, '/dashboard/api/admin/clean', { name, state: 'completed', olderThanMs: 0, dryRun: true });
    expect(reply.status, reply.text).toBe(404);
    i += 1;
  }
  expect([...reached.mock.calls, ...paused.mock.calls].map(([name]) => name).filter((name) => asked.has(name))).toEqual([]);
  expect(await keysNaming(asked)).toEqual([]);
});
