/**
 * The demo's HTTP edge (issue 11, findings 1, 2 and 7): a request line that is not a URL is answered
 * 400 and the process keeps serving; the demo listens on 127.0.0.1 unless told otherwise; signup
 * takes JSON only (no CSRF from a plain form) and refuses emails with control characters; the
 * dashboard answers 401 without the demo's token and lets the login link's cookie in.
 */
import type { ErrorEvent } from '@events/core';
import { randomId, rawHttp } from '@events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';

let demo: Demo;
const errors: ErrorEvent[] = [];
const logs: string[] = [];
beforeAll(async () => {
  // No host given: the default must be loopback only.
  demo = await startDemo({ platform: {}, port: 0, failureRate: 0, sendMs: 0, log: { write: (line) => void logs.push(line) }, onError: (e) => errors.push(e) });
});
afterAll(() => demo.close({ timeoutMs: 5000 }));

const raw = (bytes: string): Promise<string> => rawHttp(demo.url!, bytes);

const signup = (body: string, contentType = 'application/json'): Promise<Response> =>
  fetch(`${demo.url}/api/signup`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('the demo HTTP edge', () => {
  it('listens on 127.0.0.1 by default', () => {
    expect(new URL(demo.url!).hostname).toBe('127.0.0.1');
  });

  it('answers 400 to a request line that is not a URL, and keeps serving', async () => {
    for (const target of ['http://[', 'http://[::1', '//[']) {
      expect(await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`), target).toMatch(/^HTTP\/1\.1 400 /);
      expect(await raw(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`), target).toMatch(/^HTTP\/1\.1 400 /);
    }
    // A line Node itself cannot parse: answered 400 by the server, and the hook hears of it.
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(errors.some((e) => e.kind === 'http-client')).toBe(true);
    expect((await fetch(`${demo.url}/healthz`)).status).toBe(200);
  });

  it('takes signups as JSON only: a plain form (text/plain, urlencoded) gets 415 and signs no one up', async () => {
    const tenant = randomId('csrf');
    const body = JSON.stringify({ email: 'csrf@example.com', tenant });
    expect((await signup(body, 'text/plain')).status).toBe(415);
    expect((await signup(`email=csrf@example.com&tenant=${tenant}`, 'application/x-www-form-urlencoded')).status).toBe(415);
    const audit = (await (await fetch(`${demo.url}/api/audit?tenant=${tenant}`)).json()) as { records: unknown[] };
    expect(audit.records).toEqual([]);
  });

  it('refuses an email with control characters, and never writes one raw to the log', async () => {
    const reply = await signup(JSON.stringify({ email: '\u001b[2Jada@example.com', tenant: 'acme' }));
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { error: string }).error).toContain('expected an email address');
    expect(logs.join('')).not.toContain('\u001b');
  });

  it('limits signups per client address (429 with Retry-After)', async () => {
    const limited = await startDemo({ platform: {}, port: 0, signupsPerMinute: 2, failureRate: 0, sendMs: 0, log: { write: () => undefined } });
    try {
      const post = (): Promise<Response> =>
        fetch(`${limited.url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'rate@example.com', tenant: 'acme' }) });
      expect((await post()).status).toBe(201);
      expect((await post()).status).toBe(201);
      const third = await post();
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close({ timeoutMs: 2000 });
    }
  });

  it('answers the dashboard with 401 without the token; the login link sets a cookie that lets the page in', async () => {
    expect((await fetch(`${demo.url}/dashboard/`)).status).toBe(401);
    expect((await fetch(`${demo.url}/dashboard/api/overview`)).status).toBe(401);
    expect((await fetch(`${demo.url}/login?token=nope`, { redirect: 'manual' })).status).toBe(401);
    expect(demo.loginUrl).toBe(`${demo.url}/login?token=${encodeURIComponent(demo.dashboardToken!)}`);
    const login = await fetch(demo.loginUrl!, { redirect: 'manual' });
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toBe('/dashboard/');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${demo.url}/dashboard/api/overview`, { headers: { cookie } })).status).toBe(200);
    // A cross-site page cannot use the cookie against the API, even if the browser sent it.
    expect((await fetch(`${demo.url}/dashboard/api/overview`, { headers: { cookie, origin: 'https://attacker.example' } })).status).toBe(403);
  });
});
