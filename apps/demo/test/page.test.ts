/**
 * End to end: the demo server in this process on a random port (memory adapters), its page driven
 * in headless Chromium. A signup made in tenant A's page shows its notifications there, live; a
 * second tenant's page, connected the whole time, never receives them.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDemo, type Demo } from '../src/app.js';
import { CHROMIUM, randomId } from '@events/testing';

let demo: Demo;
let browser: Browser;
const logs: string[] = [];

beforeAll(async () => {
  demo = await startDemo({
    platform: {},
    port: 0,
    host: '127.0.0.1',
    // Every attempt but the last fails: two failures, then the email is sent. Deterministic.
    failureRate: 1,
    emailAttempts: 3,
    retryDelayMs: 50,
    sendMs: 10,
    log: { write: (line) => void logs.push(line) },
  });
  browser = await chromium.launch(CHROMIUM);
});

afterAll(async () => {
  await browser?.close();
  await demo?.close({ timeoutMs: 5000 });
});

async function openTenant(tenant: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${demo.url}/?tenant=${tenant}`);
  await page.locator('[data-testid="status"][data-state="live"]').waitFor();
  return page;
}

async function signUp(page: Page, email: string): Promise<void> {
  await page.getByTestId('email').fill(email);
  await page.getByTestId('signup').click();
}

function steps(page: Page): Promise<string[]> {
  return page.locator('[data-testid="notification"]').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.step ?? ''));
}

describe('the demo page', () => {
  it("shows a signup's notifications live in its tenant's page and nowhere else", async () => {
    const tenantA = randomId('acme');
    const tenantB = randomId('globex');
    const pageA = await openTenant(tenantA);
    const pageB = await openTenant(tenantB);
    expect(await pageA.getByTestId('tenant').textContent()).toBe(tenantA);

    await signUp(pageA, 'ada@example.com');
    await pageA.locator('[data-testid="notification"][data-step="email-sent"]').waitFor();
    const card = pageA.locator('[data-testid="user"]');
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.locator('.email').textContent()).toBe('ada@example.com');
    const seen = await steps(pageA);
    expect(new Set(seen)).toEqual(new Set(['signed-up', 'audit-recorded', 'email-queued', 'email-attempt', 'email-failed', 'email-sent']));
    expect(seen.filter((s) => s === 'email-failed')).toHaveLength(2);
    expect(seen.filter((s) => s === 'email-attempt')).toHaveLength(3);
    await expect.poll(() => pageA.getByTestId('audit').textContent()).toContain('ada@example.com');

    // Tenant B's page, connected the whole time, is still empty.
    expect(await pageB.locator('[data-testid="user"]').count()).toBe(0);
    expect(await pageB.locator('[data-testid="notification"]').count()).toBe(0);
    expect(await pageB.getByTestId('empty').isVisible()).toBe(true);

    // B has been live all along. Sign a B user up and wait for its story to finish: B's page then
    // holds exactly its own user, so A's notifications (which finished earlier) never reached it.
    await signUp(pageB, 'grace@example.com');
    await pageB.locator('[data-testid="notification"][data-step="email-sent"]').waitFor();
    expect(await pageB.locator('[data-testid="user"] .email').allTextContents()).toEqual(['grace@example.com']);
    expect(await pageB.getByTestId('audit').textContent()).not.toContain('ada@example.com');
    expect(await pageA.locator('[data-testid="user"] .email').allTextContents()).toEqual(['ada@example.com']);

    // The retries are visible in the logs too.
    expect(logs.filter((l) => l.includes('[email]') && l.includes('ada@example.com') && l.includes('FAILED'))).toHaveLength(2);
    await Promise.all([pageA.close(), pageB.close()]);
  });

  it('opens the dashboard only after logging in with the link the demo printed', async () => {
    const page = await browser.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const refused = await page.goto(`${demo.url}/dashboard/`);
    expect(refused?.status()).toBe(401);
    await page.goto(demo.loginUrl!);
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    await page.locator('#queue-rows tr', { hasText: 'sendWelcomeEmail' }).waitFor();
    await page.locator('#live.on').waitFor();
    // The signup page too runs under the CSP without a violation.
    await page.goto(`${demo.url}/?tenant=${randomId('csp')}`);
    await page.locator('[data-testid="status"][data-state="live"]').waitFor();
    expect(cspViolations).toEqual([]);
    await page.close();
  });

  it("refuses a socket's subscription to another tenant's channels, and cross-tenant globs", async () => {
    const socket = new WebSocket(`${demo.url!.replace('http', 'ws')}/pubsub?tenant=globex`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const frames: Array<{ type: string; id?: number; code?: string }> = [];
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as { type: string }));
    const topics = ['tenant:acme:user:*:notifications', 'tenant:*:user:*:notifications', 'tenant:globex*', 'tenant:globex:user:*:notifications'];
    topics.forEach((topic, id) => socket.send(JSON.stringify({ type: 'subscribe', id, topic })));
    await expect.poll(() => frames.length).toBe(4);
    expect(frames.map((f) => [f.id, f.type, f.code])).toEqual([
      [0, 'error', 'UNAUTHORIZED'],
      [1, 'error', 'UNAUTHORIZED'],
      [2, 'error', 'UNAUTHORIZED'],
      [3, 'subscribed', undefined],
    ]);
    socket.close();
  });
});
