/**
 * The client in a real browser (headless Chromium via playwright-core): the source of
 * src/client/client.ts, only stripped of its types, runs against the gateway with the browser's
 * own WebSocket, subscribes, and resubscribes by itself after the gateway restarts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { chromium, type Browser } from 'playwright-core';
import { createWebSocketGateway } from '../src/websocket/index.js';
import { type GatewayFixture, startGateway } from './websocket-helpers.js';
import { CHROMIUM, randomId, waitFor } from '@events/testing';

function clientModule(): string {
  const source = readFileSync(fileURLToPath(new URL('../src/client/client.ts', import.meta.url)), 'utf8');
  // Every import of client.ts is type-only, so the stripped module stands alone.
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true } }).outputText;
  return `${js}\nwindow.createPubSubClient = createPubSubClient;`;
}

describe('the client in a browser', () => {
  let browser: Browser | undefined;
  let fx: GatewayFixture | undefined;
  afterEach(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('subscribes with the browser WebSocket, receives, and resubscribes after a gateway restart', async () => {
    fx = await startGateway();
    const ns = randomId('browser');
    browser = await chromium.launch(CHROMIUM);
    const page = await browser.newPage();
    // Served by the gateway's own HTTP server: a page from elsewhere may not open local sockets (Local Network Access).
    await page.goto(fx.url.replace('ws:', 'http:').replace('/pubsub', '/'));
    await page.addScriptTag({ type: 'module', content: clientModule() });
    await page.waitForFunction(() => 'createPubSubClient' in window);
    await page.evaluate(
      async ({ url, topic }) => {
        const w = window as unknown as Record<string, unknown> & { got: unknown[] };
        w.got = [];
        const create = w.createPubSubClient as (o: unknown) => { subscribe(t: string, h: (m: unknown, meta: { channel: string }) => void): Promise<unknown> };
        const client = create({ url, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
        await client.subscribe(topic, (m, meta) => w.got.push({ m, channel: meta.channel }));
      },
      { url: fx.url, topic: `${ns}:user:*` },
    );
    expect(await fx.pubsub.broadcast(`${ns}:user:1`, { text: 'to the browser' })).toBe(1);
    await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length === 1);

    await fx.gateway.close();
    fx.gateway = createWebSocketGateway({ pubsub: fx.pubsub, server: fx.server, insecure: true });
    await waitFor(() => fx!.gateway.clients()[0]?.topics.length === 1, 10_000, 'the browser to resubscribe');
    await fx.pubsub.broadcast(`${ns}:user:2`, { text: 'after restart' });
    await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length === 2);
    expect(await page.evaluate(() => (window as unknown as { got: unknown[] }).got)).toEqual([
      { m: { text: 'to the browser' }, channel: `${ns}:user:1` },
      { m: { text: 'after restart' }, channel: `${ns}:user:2` },
    ]);
  });
});
