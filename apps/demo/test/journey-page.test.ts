/**
 * A signup's journey in the dashboard, end to end: the demo on memory adapters in this process
 * with the welcome email failing once (every attempt but the last fails; two attempts), a user
 * signed up through the demo's HTTP API, then the dashboard page in headless Chromium searched by
 * the user's email: the tree shows the event with its two consumer groups, the job under it with
 * the failed attempt (its error) and the retried one, and the broadcasts. `UPDATE_SCREENSHOTS=1`
 * saves the view to docs/img/dashboard-journey.png (the README's picture). A second demo poisons
 * every email: the job is a dead letter, and the tree's Replay button replays it.
 */
import { resolve } from 'node:path';
import { CHROMIUM, randomId } from '@events/testing';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';

const SCREENSHOT = resolve(import.meta.dirname, '../../../docs/img/dashboard-journey.png');
let demo: Demo;
let poisoned: Demo;
let browser: Browser;

beforeAll(async () => {
  demo = await startDemo({
    platform: {},
    port: 0,
    host: '127.0.0.1',
    // The last attempt never fails: with two attempts, the first fails and the second sends.
    failureRate: 1,
    emailAttempts: 2,
    retryDelayMs: 200,
    sendMs: 20,
    log: { write: () => undefined },
  });
  poisoned = await startDemo({ platform: {}, port: 0, host: '127.0.0.1', poisonRate: 1, failureRate: 0, sendMs: 10, log: { write: () => undefined } });
  browser = await chromium.launch(CHROMIUM);
});

afterAll(async () => {
  await browser?.close();
  await demo?.close({ timeoutMs: 5000 });
  await poisoned?.close({ timeoutMs: 5000 });
});

async function signUp(on: Demo, email: string): Promise<string> {
  const signup = await fetch(`${on.url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, tenant: 'acme' }) });
  expect(signup.status).toBe(201);
  return ((await signup.json()) as { userId: string }).userId;
}

it("finds a signup's journey by email in the dashboard and shows the tree with the retried attempt", { timeout: 60_000 }, async () => {
  const email = `${randomId('ada')}@example.com`.toLowerCase();
  const userId = await signUp(demo, email);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(demo.loginUrl!);
  await page.goto(`${demo.url}/dashboard/`);
  // The page's script is ready (its form handled, the recent journeys listed) before a user types:
  // on a loaded machine a submit that came first was the browser's own, lost to the page.
  await page.locator('#journey-status', { hasText: 'most recent journeys' }).waitFor({ timeout: 20_000 });
  await page.locator('#journey-q').fill(email);
  await page.locator('#journey-form button[type="submit"]').click();

  // One journey matches: it opens by itself, and refreshes while the job is retried.
  const roots = page.locator('#journey-roots');
  const job = roots.locator('li.node.t-queue', { has: page.locator('.node-head strong', { hasText: 'sendWelcomeEmail' }) });
  await job.locator('li.step[data-kind="attempt"][data-outcome="ok"]').waitFor({ timeout: 20_000 });
  expect(await page.locator('#journey-title').textContent()).toBe(userId);

  const event = roots.locator(':scope > li.node.t-bus');
  await expect.poll(() => event.count()).toBe(1);
  expect(await event.locator('.node-head strong').first().textContent()).toBe('UserSignedUp');
  const groups = await event.locator(':scope > ol.steps li.step[data-kind="handle"] .kind').allTextContents();
  expect(groups.sort()).toEqual(['handle · audit', 'handle · notifications']);
  // The job is a child of the event (its cause), with both attempts: the first failed and retried.
  const attempts = job.locator('li.step[data-kind="attempt"]');
  expect(await attempts.evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.outcome))).toEqual(['retry', 'ok']);
  expect(await attempts.first().locator('.step-error').textContent()).toMatch(/SMTP 421 service not available/);
  expect(await job.locator('xpath=ancestor::li[contains(@class,"node")][1]').getAttribute('class')).toContain('t-bus');
  // The broadcasts of the story (signed up, audit recorded, email queued, each attempt...) are in the journey too.
  await expect.poll(() => roots.locator('li.node.t-pubsub').count()).toBeGreaterThanOrEqual(4);
  expect(pageErrors).toEqual([]);

  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await page.locator('#journey-section').screenshot({ path: SCREENSHOT });
  }
  await page.close();
});

it('shows a dead-lettered job with its error, and its Replay button replays it under it', { timeout: 60_000 }, async () => {
  const email = `${randomId('bob')}@example.com`.toLowerCase();
  await signUp(poisoned, email);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(poisoned.loginUrl!);
  await page.goto(`${poisoned.url}/dashboard/#journeys/${encodeURIComponent(email)}`);
  const job = page.locator('#journey-roots li.node.t-queue').first();
  await job.locator('li.step[data-kind="attempt"][data-outcome="dead_letter"]').waitFor({ timeout: 20_000 });
  expect(await job.locator('.node-head .badge.s-dead').textContent()).toBe('dead letter');
  expect(await job.locator('.step-error').first().textContent()).toMatch(/SMTP 550 no such mailbox/);
  await job.locator(':scope > .node-head button.replay').click();
  await page.locator('#journey-status', { hasText: 'replayed job' }).waitFor({ timeout: 10_000 }).catch(async (error: unknown) => {
    throw new Error(`the status says "${await page.locator('#journey-status').textContent()}"`, { cause: error });
  });
  // The replay is a new job caused by the dead letter: a child of it, sent at its first attempt.
  const replay = job.locator(':scope > ol.tree > li.node.t-queue');
  await replay.locator('li.step[data-kind="attempt"][data-outcome="ok"]').waitFor({ timeout: 20_000 });
  expect(await replay.locator('li.step').first().getAttribute('data-kind')).toBe('replay');
  await job.locator(':scope > .node-head', { hasText: 'replayed below' }).waitFor();
  expect(await job.locator(':scope > .node-head button.replay').count()).toBe(0);
  expect(pageErrors).toEqual([]);
  await page.close();
});
