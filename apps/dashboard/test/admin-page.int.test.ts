/**
 * The operator's views in headless Chromium on a real BullMQ queue (Redis, a random prefix): jobs
 * by state with pages, search by id, a job's page with its causation chain, and every action
 * (retry, promote, remove, pause, resume, clean with a dry run) driven through the page's buttons,
 * each checked against the queue itself. Screenshots of the jobs list, a job's page and the rate
 * charts go to $DASHBOARD_SCREENSHOTS (a directory; default /tmp): `DASHBOARD_SCREENSHOTS=docs/img`
 * refreshes the ones in the README.
 */
import { join, resolve } from 'node:path';
import { CHROMIUM, randomId, REDIS_URL, waitFor } from '@events/testing';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, TEST_TOKEN, type Harness } from './helpers.js';

const prefix = randomId('dash-admin');
const shots = resolve(process.env.DASHBOARD_SCREENSHOTS ?? '/tmp');
const mail = 'sendWelcomeEmail';
const report = 'buildReport';
let h: Harness;
let browser: Browser;
let page: Page;
const pageErrors: Error[] = [];
const cspViolations: string[] = [];
const state = { fail: true };

beforeAll(async () => {
  h = await startHarness({ config: { queue: { adapter: 'bullmq', url: REDIS_URL, prefix } }, jobNames: [mail, report], actionsPerMinute: 1000 });
  browser = await chromium.launch(CHROMIUM);
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  // Remove and clean ask first: the operator says yes.
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${h.origin}/login?token=${TEST_TOKEN}`);
  await h.platform.queue.process(report, async (_p, ctx) => {
    await ctx.log('report built');
    return { pages: 3 };
  });
  await h.platform.queue.process(mail, async (payload, ctx) => {
    await ctx.log(`connecting to smtp for ${JSON.stringify(payload)}`);
    await ctx.updateProgress(40);
    if ((payload as { fail?: boolean }).fail && state.fail) throw new TypeError('mail server refused the recipient');
    return { sent: true };
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const queue = () => h.platform.queue;
const go = async (hash: string): Promise<void> => {
  await page.evaluate((to) => (location.hash = to), hash);
};
/** Waits for the jobs section's status line; on a timeout the error says what it showed. */
async function statusIs(text: string | RegExp): Promise<void> {
  const wanted = typeof text === 'string' ? { exact: text } : { pattern: text.source };
  try {
    await page.waitForFunction((w) => {
      const shown = document.getElementById('jobs-status')?.textContent ?? '';
      return w.exact !== undefined ? shown === w.exact : new RegExp(w.pattern!).test(shown);
    }, wanted, { timeout: 10_000 });
  } catch (error) {
    throw new Error(`status never became ${String(text)}; it shows "${await page.locator('#jobs-status').textContent()}"`, { cause: error });
  }
}

it('browses jobs by state, finds a job by id and shows its page with the causation chain', { timeout: 60_000 }, async () => {
  const parent = await queue().enqueue(report, { month: '2026-11' }, { removeOnComplete: false, correlationId: 'flow-nov' });
  const child = await queue().enqueue(mail, { to: 'ada@example.com' }, { removeOnComplete: false, correlationId: 'flow-nov', causationId: parent });
  const failed = await queue().enqueue(mail, { to: 'bob@example', fail: true }, { attempts: 1, removeOnFail: false, correlationId: 'flow-nov', causationId: parent });
  for (let i = 0; i < 3; i += 1) await queue().enqueue(mail, { to: `user${i}@example.com` }, { removeOnComplete: false });
  await queue().waitUntilIdle({ names: [mail, report] });

  await go(`#jobs/${mail}/completed`);
  await page.locator(`#jobs-rows tr[data-id="${child}"]`).waitFor({ timeout: 10_000 });
  await expect(page.locator('#jobs-states [data-state="completed"] .count').textContent()).resolves.toBe('4');
  await expect(page.locator('#jobs-states [data-state="failed"] .count').textContent()).resolves.toBe('1');
  await page.locator(`#jobs-rows tr[data-id="${failed}"]`).waitFor({ state: 'detached' });
  await page.locator('#jobs').screenshot({ path: join(shots, 'dashboard-jobs.png') });

  // Search by id: one match opens the job's page.
  await page.fill('#jobs-find', child);
  await page.press('#jobs-find', 'Enter');
  await page.locator('#job-page:not([hidden])').waitFor({ timeout: 10_000 });
  await expect(page.locator('#job-title').textContent()).resolves.toBe(`${mail} ${child}`);
  await expect(page.locator('#job-data').textContent()).resolves.toContain('ada@example.com');
  await expect(page.locator('#job-logs').textContent()).resolves.toContain('connecting to smtp');
  await expect(page.locator('#job-progress').textContent()).resolves.toBe('40');
  await expect(page.locator('#job-facts').textContent()).resolves.toMatch(/attempts1 of 3.*enqueued\d{4}-.*started\d{4}-.*finished\d{4}-/);
  // The chain links to the job that caused this one; following it opens that job.
  const cause = page.locator('#job-chain a', { hasText: report });
  await cause.waitFor({ timeout: 10_000 });
  await cause.click();
  await page.waitForFunction((id) => document.getElementById('job-title')?.textContent?.endsWith(id), parent, { timeout: 10_000 });
  await expect(page.locator('#job-result').textContent()).resolves.toContain('"pages": 3');

  // The failed job's page: error and stack (the caller is authorized), logs.
  await go(`#job/${mail}/${failed}`);
  await page.waitForFunction(() => document.getElementById('job-error')?.textContent?.includes('mail server refused'), undefined, { timeout: 10_000 });
  await expect(page.locator('#job-error').textContent()).resolves.toContain('TypeError');
  await expect(page.locator('#job-state').textContent()).resolves.toBe('failed');
  await page.locator('#job-chain a', { hasText: report }).waitFor({ timeout: 10_000 });
  await expect(page.locator('#job-chain li').first().textContent()).resolves.toBe(`this job ${failed.slice(-8)} · correlation flow-nov`);
  await page.locator('#job-page').screenshot({ path: join(shots, 'dashboard-job.png') });

  // Retry in place from the job's page: the same id completes.
  state.fail = false;
  await page.click('#job-retry');
  await statusIs(`retried ${failed.slice(-8)}`);
  await waitFor(async () => (await queue().admin.job(mail, failed))?.state === 'completed');
  await expect(queue().deadLetters.count({ ids: [failed] })).resolves.toBe(0);
  await page.waitForFunction(() => document.getElementById('job-state')?.textContent === 'completed', undefined, { timeout: 10_000 });
});

it('promotes, pauses, resumes, removes, pages and cleans through the page', { timeout: 60_000 }, async () => {
  const later = await queue().enqueue(mail, { to: 'later@example.com' }, { delay: 3_600_000, removeOnComplete: false });
  await go(`#jobs/${mail}/delayed`);
  const row = page.locator(`#jobs-rows tr[data-id="${later}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.locator('button.promote').click();
  await statusIs(`promoted ${later.slice(-8)}`);
  await waitFor(async () => (await queue().admin.job(mail, later))?.state === 'completed');

  // Pause: nothing of the name starts; the waiting job is removed from the list; resume runs the next.
  await page.click('#jobs-pause');
  await statusIs(`paused ${mail}`);
  await expect(queue().admin.counts(mail)).resolves.toMatchObject({ paused: true });
  await page.locator('#jobs-paused:not([hidden])').waitFor();
  const held = await queue().enqueue(mail, { to: 'held@example.com' });
  await go(`#jobs/${mail}/waiting`);
  const heldRow = page.locator(`#jobs-rows tr[data-id="${held}"]`);
  await heldRow.waitFor({ timeout: 10_000 });
  await expect(queue().admin.job(mail, held)).resolves.toMatchObject({ state: 'waiting' });
  await heldRow.locator('button.remove').click();
  await statusIs(`removed ${held.slice(-8)}`);
  await heldRow.waitFor({ state: 'detached' });
  await expect(queue().admin.job(mail, held)).resolves.toBeUndefined();
  const next = await queue().enqueue(mail, { to: 'next@example.com' }, { removeOnComplete: false });
  await page.waitForFunction(() => document.getElementById('jobs-pause')?.textContent === 'Resume');
  await page.click('#jobs-pause');
  await statusIs(`resumed ${mail}`);
  await waitFor(async () => (await queue().admin.job(mail, next))?.state === 'completed');

  // Pages of 20: the next page holds the rest.
  await queue().enqueueMany(Array.from({ length: 20 }, (_, i) => ({ name: mail, payload: { to: `bulk${i}@example.com` }, options: { removeOnComplete: false } })));
  await queue().waitUntilIdle({ names: [mail] });
  const before = (await queue().admin.counts(mail)).completed;
  expect(before).toBeGreaterThanOrEqual(22);
  await go(`#jobs/${mail}/completed`);
  await page.waitForFunction((n) => document.getElementById('jobs-page')?.textContent === `1–20 of ${n}`, before, { timeout: 10_000 });
  expect(await page.locator('#jobs-rows tr').count()).toBe(20);
  await page.click('#jobs-next');
  await page.waitForFunction((n) => document.getElementById('jobs-page')?.textContent === `21–${n} of ${n}`, before, { timeout: 10_000 });
  expect(await page.locator('#jobs-rows tr').count()).toBe(before - 20);
  await page.click('#jobs-prev');
  await page.waitForFunction((n) => document.getElementById('jobs-page')?.textContent === `1–20 of ${n}`, before, { timeout: 10_000 });

  // Clean: the dry run removes nothing, the clean removes what it announced.
  await page.selectOption('#clean-form select[name="state"]', 'completed');
  await page.fill('#clean-form input[name="minutes"]', '0');
  await page.click('#clean-dry');
  await statusIs(new RegExp(`^dry run: would remove ${before} jobs`));
  await expect(queue().admin.counts(mail)).resolves.toMatchObject({ completed: before });
  await page.click('#clean-go');
  await statusIs(`removed ${before} jobs`);
  await expect(queue().admin.counts(mail)).resolves.toMatchObject({ completed: 0 });
  expect(h.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['retry', 'promote', 'pause', 'remove', 'resume', 'clean']));
});

it('charts enqueued, completed and failed jobs per second over the last hour', { timeout: 30_000 }, async () => {
  await go(`#jobs/${mail}/completed`);
  const figure = page.locator(`#charts figure[data-name="${mail}"]`);
  // The series is flushed each second and the charts redraw every 5 s.
  await page.waitForFunction((name) => /completed [1-9]/.test(document.querySelector(`#charts figure[data-name="${name}"] .key-completed`)?.textContent ?? ''), mail, { timeout: 15_000 });
  expect(await figure.locator('polyline').count()).toBe(3);
  await expect(figure.locator('.key-failed').textContent()).resolves.toMatch(/^failed 1 /);
  const points = await figure.locator('polyline.line-enqueued').getAttribute('points');
  expect(points?.split(' ')).toHaveLength(60);
  await page.locator('#rates').screenshot({ path: join(shots, 'dashboard-rates.png') });
  expect(pageErrors).toEqual([]);
  expect(cspViolations).toEqual([]);
});
