/**
 * The page in headless Chromium: it renders a failed job, its detail, the live bus and channel
 * feeds, and the Replay button replays the job. A screenshot goes to $DASHBOARD_SCREENSHOT (default
 * /tmp/dashboard.png) for a human to look at; it is not compared to anything.
 */
import { randomUUID } from 'node:crypto';
import { CHROMIUM } from '@events/testing';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startHarness, TEST_TOKEN, type Harness } from './helpers.js';

let h: Harness;
let browser: Browser;
const job = `sendWelcomeEmail${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  h = await startHarness({ jobNames: [job, 'chargeCard'] });
  browser = await chromium.launch(CHROMIUM);
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

it('renders a failed job and replays it with the Replay button', async () => {
  const state = { fail: true };
  await h.platform.queue.process(job, (payload: unknown) => {
    if (state.fail) throw new TypeError(`mail server refused ${JSON.stringify(payload)}`);
    return 'sent';
  });
  const id = await h.platform.queue.enqueue(job, { userId: 'u-42', email: 'ada@example.com' }, { attempts: 1 });
  await eventually(async () => ((await h.platform.queue.deadLetters.count({ ids: [id] })) === 1 ? true : undefined));

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  // A CSP violation is only a console message: collect them, the page must cause none.
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  // Without logging in, the dashboard answers 401 and says how to log in.
  const refused = await page.goto(`${h.origin}/dashboard/`);
  expect(refused?.status()).toBe(401);
  // Logs in as a user would: opens the login link, which sets the cookie and lands on the dashboard.
  await page.goto(`${h.origin}/login?token=${TEST_TOKEN}`);
  expect(new URL(page.url()).pathname).toBe('/dashboard/');

  const row = page.locator(`#dl-rows tr[data-id="${id}"]`);
  await row.waitFor({ timeout: 5000 });
  await expect(row.textContent()).resolves.toContain('TypeError: mail server refused');
  await expect(page.locator('#queue-rows').textContent()).resolves.toContain(job);

  // Live traffic while the page is open arrives over the event stream.
  const emitted = await h.platform.bus.emit('users.UserSignedUp', { userId: 'u-42' }, { correlationId: 'flow-42' });
  await h.platform.pubsub.broadcast('user:u-42:notifications', { text: 'Welcome, Ada' });
  await page.locator('#bus-feed tr', { hasText: 'users.UserSignedUp' }).waitFor({ timeout: 5000 });
  await page.locator('#channel-feed tr', { hasText: 'Welcome, Ada' }).waitFor({ timeout: 5000 });
  await expect(page.locator('#bus-feed').textContent()).resolves.toContain(emitted.id.slice(-8));

  // The detail shows the payload and the error.
  await row.click();
  await page.locator('#dl-detail:not([hidden])').waitFor({ timeout: 5000 });
  await expect(page.locator('#dl-detail-payload').textContent()).resolves.toContain('ada@example.com');
  await expect(page.locator('#dl-detail-error').textContent()).resolves.toContain('TypeError');
  await page.locator('#channel-counters tr', { hasText: 'user:u-42:notifications' }).waitFor({ timeout: 5000 });

  await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT ?? '/tmp/dashboard.png', fullPage: true });

  // A dry run reports and changes nothing.
  await page.locator('#dl-dry-run').click();
  await page.waitForFunction(() => document.getElementById('dl-status')?.textContent === 'dry run: would replay 1 job', undefined, { timeout: 5000 });
  await expect(h.platform.queue.deadLetters.count()).resolves.toBe(1);

  state.fail = false;
  await row.locator('button.replay').click();
  await page.waitForFunction(() => document.getElementById('dl-status')?.textContent === 'replayed 1 job', undefined, { timeout: 5000 });
  await row.waitFor({ state: 'detached', timeout: 5000 });
  await h.platform.queue.waitUntilIdle({ names: [job] });
  await expect(h.platform.queue.deadLetters.count()).resolves.toBe(0);
  await expect(h.platform.queue.counts(job)).resolves.toMatchObject({ completed: 1 });
  // The queue table catches up within a poll or two.
  await page.waitForFunction(
    (name) => [...document.querySelectorAll('#queue-rows tr')].some((tr) => tr.textContent?.startsWith(name) && tr.children[4]?.textContent === '1'),
    job,
    { timeout: 5000 },
  );
  await page.screenshot({ path: (process.env.DASHBOARD_SCREENSHOT ?? '/tmp/dashboard.png').replace(/\.png$/, '-after.png'), fullPage: true });
  expect(pageErrors).toEqual([]);
  expect(cspViolations).toEqual([]);
  await page.close();
});
