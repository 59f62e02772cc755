/**
 * The browser bundle of the client (`@events/pubsub/client/browser`, built here in memory by the
 * package's own build script): it has no import left (so no Node built-in), it loads in headless
 * Chromium as an ES module, subscribes with the browser's own WebSocket, publishes, and
 * resubscribes by itself after the gateway restarts.
 */
import { builtinModules } from 'node:module';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createWebSocketGateway } from '../src/websocket/index.js';
import { type GatewayFixture, startGateway } from './websocket-helpers.js';
import { buildBrowserClient, bundleSize } from '../scripts/build-browser-client.mjs';
import { CHROMIUM, randomId, waitFor } from '@events/testing';

let bundle: string;

beforeAll(async () => {
  const { js, metafile } = await buildBrowserClient({ write: false });
  bundle = js!;
  const [output] = Object.values(metafile.outputs).filter((o) => o.entryPoint !== undefined);
  // Self-contained: nothing imported at run time, and every input is the client's own source.
  expect(output!.imports).toEqual([]);
  const inputs = Object.keys(metafile.inputs);
  expect(inputs.every((path) => /(^|\/)src\/(client\/|websocket\/protocol\.ts)/.test(path)), inputs.join(', ')).toBe(true);
  expect(bundle).not.toMatch(/\bfrom\s*["'](node:|[a-z@])/);
  const { bytes, gzipBytes } = bundleSize(bundle);
  console.log(`browser client bundle: ${bytes} bytes minified, ${gzipBytes} gzipped; inputs: ${inputs.length}`);
});

/** Serves the bundle at /client.browser.js to `page`, which imports it as an ES module, as an app's page would. */
async function loadBundle(page: Page): Promise<void> {
  await page.route('**/client.browser.js', (route) => route.fulfill({ body: bundle, contentType: 'text/javascript; charset=utf-8' }));
  await page.addScriptTag({ type: 'module', content: "import { createPubSubClient } from '/client.browser.js'; window.createPubSubClient = createPubSubClient;" });
  await page.waitForFunction(() => 'createPubSubClient' in window);
}

describe('the client in a browser', () => {
it('refuses to build a graph that reaches a Node built-in', async () => {
    expect(builtinModules.length).toBeGreaterThan(0);
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/bundle-`);
    try {
      await writeFile(`${dir}/entry.ts`, "import { readFileSync } from 'node:fs'; export const x = readFileSync;");
      await expect(buildBrowserClient({ write: false, entry: `${dir}/entry.ts` })).rejects.toThrow(/may not import the Node built-in "node:fs"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  let browser: Browser | undefined;
  let fx: GatewayFixture | undefined;
  afterEach(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('subscribes with the browser WebSocket, receives, resubscribes after a gateway restart, and publishes', async () => {
    const ns = randomId('browser');
    const authorizePublish = (_req: unknown, channel: string): boolean => channel.startsWith(`${ns}:user:`);
    fx = await startGateway({ authorizePublish });
    browser = await chromium.launch(CHROMIUM);
    const page = await browser.newPage();
    // Served by the gateway's own HTTP server: a page from elsewhere may not open local sockets (Local Network Access).
    await page.goto(fx.url.replace('ws:', 'http:').replace('/pubsub', '/'));
    await loadBundle(page);
    await page.evaluate(
      async ({ url, topic }) => {
        const w = window as unknown as Record<string, unknown> & { got: unknown[] };
        w.got = [];
        const create = w.createPubSubClient as (o: unknown) => { subscribe(t: string, h: (m: unknown, meta: { channel: string }) => void): Promise<unknown> };
        const client = create({ url, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
        w.client = client;
        await client.subscribe(topic, (m, meta) => w.got.push({ m, channel: meta.channel }));
      },
      { url: fx.url, topic: `${ns}:user:*` },
    );
    expect(await fx.pubsub.broadcast(`${ns}:user:1`, { text: 'to the browser' })).toBe(1);
    await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length === 1);

    await fx.gateway.close();
    fx.gateway = createWebSocketGateway({ pubsub: fx.pubsub, server: fx.server, insecure: true, authorizePublish });
    await waitFor(() => fx!.gateway.clients()[0]?.topics.length === 1, 10_000, 'the browser to resubscribe');
    await fx.pubsub.broadcast(`${ns}:user:2`, { text: 'after restart' });
    await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length === 2);
    expect(await page.evaluate(() => (window as unknown as { got: unknown[] }).got)).toEqual([
      { m: { text: 'to the browser' }, channel: `${ns}:user:1` },
      { m: { text: 'after restart' }, channel: `${ns}:user:2` },
    ]);

    // Publish from the page: acknowledged with the receiver count (its own subscription), refused elsewhere.
    const answers = await page.evaluate(async (channels) => {
      const client = (window as unknown as { client: { publish(c: string, m: unknown): Promise<number> } }).client;
      const refused = await client.publish(channels.refused, { text: 'no' }).then(String, (err: { code: string }) => err.code);
      return { receivers: await client.publish(channels.allowed, { text: 'from the browser' }), refused };
    }, { allowed: `${ns}:user:3`, refused: `${ns}:admin` });
    expect(answers).toEqual({ receivers: 1, refused: 'UNAUTHORIZED' });
    await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length === 3);
    expect(fx.gateway.health().counts).toMatchObject({ published: 1, publishRefused: 1 });
  });
});
