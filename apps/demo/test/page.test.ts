/**
 * End to end: the demo server in this process on a random port (memory adapters), its page driven
 * in headless Chromium. A signup made in tenant A's page shows its notifications there, live; a
 * second tenant's page, connected the whole time, never receives them. The tenant chat is published
 * by the pages themselves (the pubsub client's publish) and stays inside its tenant too. The page
 * speaks to the gateway only through the client's browser build.
 */
import { readdir, readFile } from 'node:fs/promises';
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

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-text').fill(text);
  await page.getByTestId('chat-send').click();
}

function chatLines(page: Page): Promise<string[]> {
  return page.locator('[data-testid="chat-line"]').evaluateAll((items) => items.map((item) => `${item.querySelector('.from')?.textContent}: ${item.querySelector('.text')?.textContent}`));
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

  it("carries a tenant's chat to its own pages, published from the page, and never to another tenant's", async () => {
    const tenantA = randomId('acme');
    const tenantB = randomId('globex');
    const a1 = await openTenant(tenantA);
    const a2 = await openTenant(tenantA);
    const b = await openTenant(tenantB);
    await a1.getByTestId('chat-name').fill('ada');
    await b.getByTestId('chat-name').fill('grace');
    await say(a1, 'hello from A');
    await expect.poll(() => chatLines(a2)).toEqual(['ada: hello from A']);
    await expect.poll(() => chatLines(a1)).toEqual(['ada: hello from A']);
    await say(b, 'hello from B');
    await expect.poll(() => chatLines(b)).toEqual(['grace: hello from B']);
    // A third line of A after B's: once it is on A's pages, B's line would have arrived before it.
    await say(a2, 'still A');
    // Each page gets the line from the broadcast (the sender's own too), so each is waited for.
    const bothLines = ['ada: hello from A', expect.stringMatching(/: still A$/)];
    await expect.poll(() => chatLines(a1)).toEqual(bothLines);
    await expect.poll(() => chatLines(a2)).toEqual(bothLines);
    expect(await chatLines(a2)).toEqual(await chatLines(a1));
    expect(await chatLines(b)).toEqual(['grace: hello from B']);
    // The schema's refusal comes back to the page that published (a line of blanks trims to nothing).
    await say(b, '   ');
    await expect.poll(() => b.getByTestId('chat-message').textContent()).toContain('INVALID_PAYLOAD');
    expect(await chatLines(b)).toEqual(['grace: hello from B']);
    await Promise.all([a1.close(), a2.close(), b.close()]);
  }, 60_000);

  it('shows who else of the tenant is online, and nobody of another tenant', async () => {
    const tenantA = randomId('acme');
    const a1 = await openTenant(tenantA);
    const a2 = await openTenant(tenantA);
    const b = await openTenant(randomId('globex'));
    const online = (page: Page): Promise<string[]> => page.locator('[data-testid="online-member"]').allTextContents();
    const nameA1 = await a1.getByTestId('chat-name').inputValue();
    const nameA2 = await a2.getByTestId('chat-name').inputValue();
    await expect.poll(() => online(a1)).toEqual([nameA2]);
    await expect.poll(() => online(a2)).toEqual([nameA1]);
    await expect.poll(() => b.getByTestId('online').textContent()).toBe('nobody else online');
    await a2.close();
    await expect.poll(() => a1.getByTestId('online').textContent()).toBe('nobody else online');
    expect(await online(b)).toEqual([]);
    await Promise.all([a1.close(), b.close()]);
  }, 60_000);

  it("refuses a socket's publish on another tenant's chat or on any other channel, and a line the chat schema refuses", async () => {
    const socket = new WebSocket(`${demo.url!.replace('http', 'ws')}/pubsub?tenant=globex`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const frames: Array<{ type: string; id?: number; code?: string }> = [];
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as { type: string }));
    const line = { from: 'mallory', text: 'hi' };
    const publishes = [
      { channel: 'tenant:acme:chat', data: line },
      { channel: 'tenant:globex:user:1:notifications', data: line },
      { channel: 'tenant:globex:chat', data: { from: 'mallory', text: 'x'.repeat(501) } },
      { channel: 'tenant:globex:chat', data: { from: 'mallory', text: 'hi' } },
      { channel: 'tenant:globex:chat', data: line },
    ];
    publishes.forEach((p, id) => socket.send(JSON.stringify({ type: 'publish', id, ...p })));
    await expect.poll(() => frames.length).toBe(5);
    expect(frames.map((f) => [f.id, f.type, f.code])).toEqual([
      [0, 'error', 'UNAUTHORIZED'],
      [1, 'error', 'UNAUTHORIZED'],
      [2, 'error', 'INVALID_PAYLOAD'],
      [3, 'error', 'INVALID_PAYLOAD'],
      [4, 'published', undefined],
    ]);
    socket.close();
  });

  it('has no websocket protocol code of its own, nor has the dashboard page: both go through the client or SSE', async () => {
    for (const dir of ['../public/', '../../dashboard/public/']) {
      const url = new URL(dir, import.meta.url);
      for (const file of (await readdir(url)).filter((f) => f.endsWith('.js') || f.endsWith('.html'))) {
        const source = await readFile(new URL(file, url), 'utf8');
        expect(source, `${dir}${file}`).not.toMatch(/new WebSocket|\bWebSocket\(|type: ?'subscribe'|"type": ?"subscribe"/);
      }
    }
    const page = await readFile(new URL('../public/app.js', import.meta.url), 'utf8');
    expect(page).toContain("from '/vendor/pubsub-client.js'");
    const bundle = await fetch(`${demo.url}/vendor/pubsub-client.js`);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    const text = await bundle.text();
    expect(text).toContain('createPubSubClient');
    expect(text).not.toMatch(/\bimport\s*[{*(]|from\s*["']/);
    expect((await fetch(`${demo.url}/vendor/pubsub-client.js.map`)).status).toBe(200);
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
