import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';
import { randomId } from '@events/testing';

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo({ platform: {}, port: 0, host: '127.0.0.1', failureRate: 0, sendMs: 0, log: { write: () => undefined } });
});
afterAll(() => demo.close({ timeoutMs: 5000 }));

const post = (body: string): Promise<Response> => fetch(`${demo.url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the demo HTTP API', () => {
  it('signs a user up and shows the audit record of that tenant only', async () => {
    const tenant = randomId('api');
    const response = await post(JSON.stringify({ email: ' Ada@Example.com ', tenant }));
    expect(response.status).toBe(201);
    const user = (await response.json()) as { userId: string; email: string; channel: string };
    expect(user.email).toBe('ada@example.com');
    expect(user.channel).toBe(`tenant:${tenant}:user:${user.userId}:notifications`);
    await expect
      .poll(async () => ((await (await fetch(`${demo.url}/api/audit?tenant=${tenant}`)).json()) as { records: Array<{ userId: string }> }).records.map((r) => r.userId))
      .toEqual([user.userId]);
    const other = (await (await fetch(`${demo.url}/api/audit?tenant=${randomId('other')}`)).json()) as { records: unknown[] };
    expect(other.records).toEqual([]);
  });

  it('answers bad requests with 4xx and a message saying what to send', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('not json'), 400, 'the body must be JSON'],
      [post('[1]'), 400, 'the body must be a JSON object {email, tenant}'],
      [post(JSON.stringify({ email: 'nope', tenant: 'acme' })), 400, 'expected an email address like ada@example.com'],
      [post(JSON.stringify({ email: 'a@b.co', tenant: 'ACME*' })), 400, 'expected 1-63 lowercase letters, digits or dashes'],
      [post('x'.repeat(20_000)), 413, 'body larger than'],
      [fetch(`${demo.url}/api/signup`), 405, 'use POST'],
      [fetch(`${demo.url}/api/audit`), 400, 'the tenant is required'],
      [fetch(`${demo.url}/nope`), 404, 'no such page'],
    ];
    for (const [response, status, message] of cases) {
      const r = await response;
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: string }).error).toContain(message);
    }
  });

  it('serves the page and a health check', async () => {
    const page = await fetch(`${demo.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const health = await fetch(`${demo.url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; tiers: Record<string, { phase: string; connected: unknown }> };
    expect(body).toMatchObject({ status: 'ok', adapters: 'pubsub=memory bus=memory queue=memory' });
    // Each tier's health facts (phase, connected, counts), and the websocket gateway's.
    expect(Object.keys(body.tiers).sort()).toEqual(['bus', 'pubsub', 'queue']);
    for (const tier of Object.values(body.tiers)) expect(tier).toMatchObject({ phase: 'ready', connected: true });
    expect((body as { gateway?: { counts: Record<string, number> } }).gateway?.counts).toBeDefined();
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('mounts the dashboard over the same in-process tiers, behind the demo\'s token', async () => {
    const auth = { headers: { authorization: `Bearer ${demo.dashboardToken}` } };
    const anonymous = await fetch(`${demo.url}/dashboard/api/overview`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toContain('/login?token=');
    expect((await fetch(`${demo.url}/dashboard/api/overview`, { headers: { authorization: 'Bearer not-the-token-0123456789' } })).status).toBe(401);
    const tenant = randomId('dash');
    const signup = await post(JSON.stringify({ email: 'dash@example.com', tenant }));
    expect(signup.status).toBe(201);
    await expect
      .poll(async () => {
        const overview = (await (await fetch(`${demo.url}/dashboard/api/overview`, auth)).json()) as { queues: Array<{ name: string; counts: { completed: number } }> };
        return overview.queues.find((q) => q.name === 'sendWelcomeEmail')?.counts.completed ?? 0;
      })
      .toBeGreaterThanOrEqual(1);
    const bus = (await (await fetch(`${demo.url}/dashboard/api/bus`, auth)).json()) as { events: Array<{ name: string }> };
    expect(bus.events.map((e) => e.name)).toContain('UserSignedUp');
    const live = (await (await fetch(`${demo.url}/dashboard/api/channels`, auth)).json()) as { messages: Array<{ channel: string }> };
    expect(live.messages.some((m) => m.channel.startsWith(`tenant:${tenant}:user:`))).toBe(true);
    expect((await fetch(`${demo.url}/dashboard/`, auth)).headers.get('content-type')).toContain('text/html');
  });

  it('answers /healthz with 503 and the tier at fault when a tier is down', async () => {
    const other = await startDemo({ platform: {}, port: 0, log: { write: () => undefined } });
    try {
      await other.platform.pubsub.close();
      const health = await fetch(`${other.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'degraded', tiers: { pubsub: { phase: 'closed' }, bus: { phase: 'ready' } } });
    } finally {
      await other.close({ timeoutMs: 2000 });
    }
  });

  it('says which setting to change when the port is taken', async () => {
    const port = Number(new URL(demo.url!).port);
    await expect(startDemo({ platform: {}, port, host: '127.0.0.1', log: { write: () => undefined } })).rejects.toThrow(
      `port ${port} is already in use: set PORT to another one (PORT=0 picks a free port)`,
    );
  });
});
