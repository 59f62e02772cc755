/**
 * The journey endpoints over a platform on memory adapters: search and one journey's tree, the
 * guards every API route has, and hostile input: whatever the query or id (fast-check), the answer
 * is a 200, 400 or 404, never a 500, and nothing from the request or the stored steps comes back
 * with a raw `<`, `>` or `&`.
 */
import fc from 'fast-check';
import { waitFor } from '@events/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './helpers.js';

let h: Harness;
const HOSTILE = '<img src=x onerror=alert(1)>&amp;</script>';

interface Node {
  envelopeId: string;
  name: string;
  tier: string;
  steps: Array<{ kind: string; outcome: string; error?: string; group?: string }>;
  children: Node[];
}

beforeAll(async () => {
  h = await startHarness({});
  let first = true;
  await h.platform.bus.on(
    'UserSignedUp',
    () => {
      if (first) {
        first = false;
        throw new Error(HOSTILE);
      }
    },
    { group: 'audit', retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } } },
  );
  await h.platform.bus.emit('UserSignedUp', { email: 'ada@example.com' }, { correlationId: 'signup-1' });
  await h.platform.bus.emit('UserSignedUp', { email: 'bob@example.com' }, { correlationId: HOSTILE });
  await waitFor(async () => (await h.platform.journeys.get('signup-1'))?.stepList.some((s) => s.kind === 'handle' && s.outcome === 'ok') === true, 10_000, 'the handler retried');
});
afterAll(() => h.close());

it('searches journeys and answers one with its tree: the event, the failed attempt with its error, the retry', async () => {
  const found = await call(h.origin, '/dashboard/api/journeys?q=signup-1');
  expect(found.status).toBe(200);
  expect(found.body).toMatchObject({ mode: 'memory', journeys: [{ correlationId: 'signup-1', names: ['UserSignedUp'], retries: 1 }] });
  const recent = (await call(h.origin, '/dashboard/api/journeys')).body as { journeys: Array<{ correlationId: string }> };
  expect(recent.journeys.map((j) => j.correlationId).sort()).toEqual([HOSTILE, 'signup-1'].sort());
  const one = await call(h.origin, '/dashboard/api/journeys/signup-1');
  expect(one.status).toBe(200);
  const roots = (one.body as { roots: Node[] }).roots;
  expect(roots).toHaveLength(1);
  expect(roots[0]!).toMatchObject({ tier: 'bus', name: 'UserSignedUp' });
  const handles = roots[0]!.steps.filter((s) => s.kind === 'handle');
  expect(handles.map((s) => [s.group, s.outcome])).toEqual([['audit', 'retry'], ['audit', 'ok']]);
  expect(handles[0]!.error).toBe(HOSTILE);
  // The error is hostile: it comes back as JSON escapes only.
  expect(one.text).not.toMatch(/[<>&]/);
  expect((await call(h.origin, '/dashboard/api/journeys/no-such-flow')).status).toBe(404);
  expect((await call(h.origin, `/dashboard/api/journeys?q=${'x'.repeat(300)}`)).status).toBe(400);
  expect((await call(h.origin, '/dashboard/api/journeys?limit=0')).status).toBe(400);
  expect((await call(h.origin, '/dashboard/api/journeys/%E0%A4%A')).status).toBe(400);
});

it('a hostile correlation id is found and answered escaped', async () => {
  const found = await call(h.origin, `/dashboard/api/journeys?q=${encodeURIComponent(HOSTILE)}`);
  expect((found.body as { journeys: Array<{ correlationId: string }> }).journeys.map((j) => j.correlationId)).toEqual([HOSTILE]);
  expect(found.text).not.toMatch(/[<>&]/);
  const one = await call(h.origin, `/dashboard/api/journeys/${encodeURIComponent(HOSTILE)}`);
  expect(one.status).toBe(200);
  expect(one.text).not.toMatch(/[<>&]/);
});

it('the journey endpoints sit behind the same guards as every API route', async () => {
  expect((await call(h.origin, '/dashboard/api/journeys?q=signup-1', { anonymous: true })).status).toBe(401);
  expect((await call(h.origin, '/dashboard/api/journeys?q=signup-1', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
});

it('hostile queries and ids: never a 500, never reflected unescaped', { timeout: 60_000 }, async () => {
  const hostile = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom(HOSTILE, '"><svg onload=alert(1)>', '%', '%00', '../../etc/passwd', '*', '\u2028', 'signup-1\r\nSet-Cookie: x=1', ' '.repeat(300)),
  );
  await fc.assert(
    fc.asyncProperty(hostile, fc.boolean(), async (text, asId) => {
      const path = asId ? `/dashboard/api/journeys/${encodeURIComponent(text)}` : `/dashboard/api/journeys?q=${encodeURIComponent(text)}&limit=5`;
      const answer = await call(h.origin, path);
      expect([200, 400, 404], `${answer.status} ${answer.text.slice(0, 200)}`).toContain(answer.status);
      expect(answer.headers['content-type']).toContain('application/json');
      expect(answer.text).not.toMatch(/[<>&]/);
    }),
    { numRuns: 200 },
  );
  expect(h.errors.filter((e) => e.kind === 'handler')).toEqual([]);
});
