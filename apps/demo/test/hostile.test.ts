/**
 * Hostile HTTP to the demo (its API, its page, the mounted dashboard and the websocket path), as a
 * property (fast-check, bounded): the process stays up (vitest fails the run on any uncaught
 * exception or unhandled rejection), no answer is a 500 or leaks a stack or a server path, valid
 * requests still get answers afterwards, the error hook hears of what Node could not parse, and the
 * heap grows by less than HEAP_BOUND_MB over the run.
 */
import type { ErrorEvent } from '@events/core';
import { hostileRequest, leaksInternals, sendRaw, wellFormedRequest } from '@events/dashboard/hostile-http';
import { randomId } from '@events/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';

/** Heap growth allowed over the whole run (no forced GC, so a loose upper bound). */
const HEAP_BOUND_MB = 64;
let demo: Demo;
const errors: ErrorEvent[] = [];

beforeAll(async () => {
  demo = await startDemo({ platform: {}, port: 0, failureRate: 0, sendMs: 0, log: { write: () => undefined }, onError: (e) => errors.push(e) });
});
afterAll(() => demo.close({ timeoutMs: 5000 }));

it('survives hostile requests and keeps serving', { timeout: 30_000 }, async () => {
  const heapBefore = process.memoryUsage().heapUsed;
  const url = demo.url!;
  const host = new URL(url).host;
  const statuses = new Map<number | 'none', number>();
  const check = async (bytes: Buffer): Promise<void> => {
    const answer = await sendRaw(url, bytes, { waitMs: 1500 });
    statuses.set(answer.status ?? 'none', (statuses.get(answer.status ?? 'none') ?? 0) + 1);
    expect(answer.status === undefined || answer.status < 500 || answer.status === 503, answer.text.slice(0, 300)).toBe(true);
    expect(leaksInternals(answer.text), answer.text.slice(0, 300)).toBe(false);
  };
  const seed = Number(process.env.FC_SEED ?? Date.now() % 1e9);
  await fc.assert(fc.asyncProperty(hostileRequest({ host, bearer: demo.dashboardToken! }), check), { numRuns: 250, seed });
  await fc.assert(fc.asyncProperty(wellFormedRequest({ host, bearer: demo.dashboardToken! }), check), { numRuns: 250, seed });
  const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(`demo hostile run: answers ${JSON.stringify(Object.fromEntries(statuses))}; heap growth ${heapGrowthMb.toFixed(1)} MiB`);
  expect(heapGrowthMb).toBeLessThan(HEAP_BOUND_MB);

  // Still serving: a signup, the health check, the dashboard with the token.
  const signup = await fetch(`${url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'after@example.com', tenant: randomId('t') }) });
  expect(signup.status).toBe(201);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/dashboard/api/overview`, { headers: { authorization: `Bearer ${demo.dashboardToken}` } })).status).toBe(200);
  expect(errors.some((e) => e.kind === 'http-client' || e.kind === 'request')).toBe(true);
  // No request made the server fail: nothing reached the 500 path.
  expect(errors.filter((e) => e.kind === 'http' || e.kind === 'handler')).toEqual([]);
});
