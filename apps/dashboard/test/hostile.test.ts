/**
 * Hostile HTTP to the dashboard, as a property (fast-check, bounded): whatever the request line,
 * method, path encoding, headers or body, the process stays up (vitest fails the run on any
 * uncaught exception or unhandled rejection), no answer is a 500 or leaks a stack or a path,
 * valid requests still get answers afterwards, the error hook hears of the requests it had to
 * refuse, and the heap grows by less than HEAP_BOUND_MB over the whole run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, startHarness, TEST_TOKEN, type Harness } from './helpers.js';
import { hostileRequest, leaksInternals, sendRaw, wellFormedRequest } from './hostile-http.js';

/** Heap growth allowed over the whole run (no forced GC, so this is a loose upper bound). */
const HEAP_BOUND_MB = 64;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ jobNames: ['sendWelcomeEmail'], actionsPerMinute: 1000 });
});
afterAll(() => h.close());

it('survives hostile requests and keeps serving', { timeout: 30_000 }, async () => {
  const heapBefore = process.memoryUsage().heapUsed;
  const host = new URL(h.origin).host;
  const statuses = new Map<number | 'none', number>();
  const check = async (bytes: Buffer): Promise<void> => {
    const answer = await sendRaw(h.origin, bytes, { waitMs: 1500 });
    statuses.set(answer.status ?? 'none', (statuses.get(answer.status ?? 'none') ?? 0) + 1);
    expect(answer.status === undefined || answer.status < 500 || answer.status === 503, answer.text.slice(0, 300)).toBe(true);
    expect(leaksInternals(answer.text), answer.text.slice(0, 300)).toBe(false);
  };
  const seed = Number(process.env.FC_SEED ?? Date.now() % 1e9);
  // Anything goes (most of it Node's parser refuses), then requests that parse with hostile contents.
  await fc.assert(fc.asyncProperty(hostileRequest({ host, bearer: TEST_TOKEN }), check), { numRuns: 250, seed });
  await fc.assert(fc.asyncProperty(wellFormedRequest({ host, bearer: TEST_TOKEN }), check), { numRuns: 250, seed });
  const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(`dashboard hostile run: answers ${JSON.stringify(Object.fromEntries(statuses))}; heap growth ${heapGrowthMb.toFixed(1)} MiB`);
  expect(heapGrowthMb).toBeLessThan(HEAP_BOUND_MB);
  // Still serving, and the hook heard of what it refused.
  expect((await call(h.origin, '/dashboard/api/overview')).status).toBe(200);
  expect((await call(h.origin, '/dashboard/')).status).toBe(200);
  expect(h.errors.some((e) => e.kind === 'request' || e.kind === 'client')).toBe(true);
  expect(h.errors.filter((e) => e.kind === 'handler')).toEqual([]);
});
