/**
 * The dashboard fails closed (issue 11, findings 1 and 2): a request it cannot parse is answered
 * 400 and reported instead of throwing into the event loop; it will not start open by accident;
 * Host and Origin are checked; answers carry the security headers; stack traces and 5xx messages
 * reach authorized callers only; replay and discard are rate-limited and logged with who asked.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDashboard } from '../src/dashboard.js';
import { call, eventually, post, raw, startHarness, TEST_TOKEN, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function failJob(harness: Harness, name: string): Promise<string> {
  await harness.platform.queue.process(name, () => {
    throw new Error('smtp refused (see /srv/app/mailer.js)');
  });
  const id = await harness.platform.queue.enqueue(name, { n: 1 }, { attempts: 1 });
  await eventually(async () => ((await harness.platform.queue.deadLetters.count({ ids: [id] })) === 1 ? true : undefined));
  return id;
}

describe('a request that cannot be parsed', () => {
  it('is answered 400 and reported; the server keeps serving', async () => {
    h = await startHarness();
    for (const target of ['http://[', 'http://[::1', '//[', 'http://%%30%30']) {
      const answer = await raw(h.origin, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(h.errors.filter((e) => e.kind === 'request').length).toBeGreaterThanOrEqual(1);
    expect((await call(h.origin, '/dashboard/api/overview')).status).toBe(200);
  });

  it('answers 400, not 500, to a bad percent-encoding in a dead-letter id', async () => {
    h = await startHarness();
    const reply = await call(h.origin, '/dashboard/api/dead-letters/%E0%A4%A');
    expect(reply.status).toBe(400);
  });
});

describe('closed by default', () => {
  it('refuses to start without authorize unless insecure: true', async () => {
    h = await startHarness({ insecure: true });
    expect(() => createDashboard({ platform: h!.platform })).toThrow(/authorize.*is required/);
    expect(() => createDashboard({ platform: h!.platform, insecure: true, busGroup: false, channelPattern: false })).not.toThrow();
  });

  it('answers 401 with how to log in, and lets the bearer token or the login cookie in', async () => {
    h = await startHarness();
    const anonymous = await call(h.origin, '/dashboard/api/overview', { anonymous: true });
    expect(anonymous.status).toBe(401);
    expect((anonymous.body as { error: string }).error).toContain('/login?token=');
    expect((await call(h.origin, '/dashboard/', { anonymous: true })).status).toBe(401);
    expect((await call(h.origin, '/dashboard/api/overview', { anonymous: true, headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);

    expect((await call(h.origin, '/login?token=wrong', { anonymous: true })).status).toBe(401);
    const login = await call(h.origin, `/login?token=${TEST_TOKEN}`, { anonymous: true });
    expect(login.status).toBe(302);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(TEST_TOKEN);
    const session = cookie.split(';')[0]!;
    expect((await call(h.origin, '/dashboard/api/overview', { anonymous: true, headers: { cookie: session } })).status).toBe(200);
  });

  it('refuses a Host it does not know (DNS rebinding) unless allowed', async () => {
    h = await startHarness({ allowedHosts: ['ops.example.com'] });
    const port = new URL(h.origin).port;
    const at = (host: string): Promise<string> => raw(h!.origin, `GET /dashboard/api/overview HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nConnection: close\r\n\r\n`);
    expect(await at(`attacker.example:${port}`)).toMatch(/^HTTP\/1\.1 403 /);
    expect(await at(`ops.example.com.attacker.example:${port}`)).toMatch(/^HTTP\/1\.1 403 /);
    expect(await at(`ops.example.com:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
    expect(await at(`localhost:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
    expect(await at(`[::1]:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('refuses cross-site API requests (Origin, Sec-Fetch-Site), and takes allowedOrigins', async () => {
    h = await startHarness({ allowedOrigins: ['https://ops.example.com'] });
    const api = '/dashboard/api/overview';
    expect((await call(h.origin, api, { headers: { origin: 'https://attacker.example' } })).status).toBe(403);
    expect((await call(h.origin, api, { headers: { origin: 'null' } })).status).toBe(403);
    expect((await call(h.origin, api, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await call(h.origin, api, { headers: { origin: h.origin } })).status).toBe(200);
    expect((await call(h.origin, api, { headers: { origin: 'https://ops.example.com' } })).status).toBe(200);
    const replay = await call(h.origin, '/dashboard/api/dead-letters/replay', { body: '{}', headers: { origin: 'https://attacker.example' } });
    expect(replay.status).toBe(403);
    // A plain form post (no preflight) is refused for its content type.
    expect((await call(h.origin, '/dashboard/api/dead-letters/discard', { body: 'all=true', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('sends the CSP with frame-ancestors none and nosniff on pages, API answers and errors', async () => {
    h = await startHarness();
    for (const [path, anonymous] of [['/dashboard/', false], ['/dashboard/app.js', false], ['/dashboard/api/overview', false], ['/dashboard/api/nothing', false], ['/dashboard/api/overview', true]] as const) {
      const reply = await call(h.origin, path, { anonymous });
      expect(reply.headers['content-security-policy'], path).toContain("frame-ancestors 'none'");
      expect(reply.headers['content-security-policy'], path).toContain("script-src 'self'");
      expect(reply.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });
});

describe('what an answer tells', () => {
  it('shows a stack only to an authorized caller, never to an anonymous one', async () => {
    h = await startHarness({ insecure: true, jobNames: ['mail'] });
    const id = await failJob(h, 'mail');
    const anonymous = (await call(h.origin, `/dashboard/api/dead-letters/${id}`, { anonymous: true })).body as { error: { message: string; stack?: string } };
    expect(anonymous.error.message).toContain('smtp refused');
    expect(anonymous.error.stack).toBeUndefined();
    expect(JSON.stringify(anonymous)).not.toMatch(/\n\s+at /);

    const authorized = await startHarness({ jobNames: ['mail'] });
    try {
      const id2 = await failJob(authorized, 'mail');
      const detail = (await call(authorized.origin, `/dashboard/api/dead-letters/${id2}`)).body as { error: { stack?: string } };
      expect(detail.error.stack).toContain('smtp refused');
    } finally {
      await authorized.close();
    }
  });

  it('answers a server fault with a reference only, and reports it with the details', async () => {
    h = await startHarness({ insecure: true });
    vi.spyOn(h.platform.queue.deadLetters, 'list').mockRejectedValue(new Error('ENOENT: /srv/secret/store.db'));
    const reply = await call(h.origin, '/dashboard/api/dead-letters', { anonymous: true });
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain('/srv/secret');
    expect(reply.body).toMatchObject({ error: 'internal error', ref: expect.any(String) as string });
    const heard = h.errors.find((e) => e.kind === 'handler');
    expect(heard?.error.message).toContain('/srv/secret');
    expect(heard?.id).toBe((reply.body as { ref: string }).ref);
  });
});

describe('replay and discard', () => {
  it('are rate-limited per caller (429 with Retry-After) and logged with who asked', async () => {
    h = await startHarness({ actionsPerMinute: 2 });
    const discard = '/dashboard/api/dead-letters/discard';
    expect((await post(h.origin, discard, { ids: ['nope-1'] })).status).toBe(200);
    expect((await post(h.origin, '/dashboard/api/dead-letters/replay', { ids: ['nope-2'], dryRun: true })).status).toBe(200);
    const limited = await post(h.origin, discard, { ids: ['nope-3'] });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(h.actions.map((a) => [a.action, a.user, a.address])).toEqual([
      ['discard', 'token (bearer)', '127.0.0.1'],
      ['replay', 'token (bearer)', '127.0.0.1'],
    ]);
    expect(h.actions[0]!.request).toEqual({ ids: ['nope-1'] });
    expect(h.actions[0]!.result).toEqual({ discarded: 0 });
  });

  it('answers 503 when authorize does not answer in time, and 403 when it throws', async () => {
    h = await startHarness({ authorizeTimeoutMs: 50, authorize: (req) => (req.headers['x-hang'] ? new Promise<boolean>(() => undefined) : Promise.reject(new Error('session store down'))) });
    expect((await call(h.origin, '/dashboard/api/overview', { headers: { 'x-hang': '1' } })).status).toBe(503);
    expect((await call(h.origin, '/dashboard/api/overview')).status).toBe(403);
    expect(h.errors.filter((e) => e.kind === 'authorize').map((e) => e.error.message)).toEqual([expect.stringContaining('within 50 ms'), 'session store down']);
  });
});
