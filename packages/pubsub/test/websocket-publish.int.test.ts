/**
 * Client publish through the gateway (memory PubSub, real HTTP server and sockets): off by default,
 * authorized per channel, checked by the channel's schema, rate-limited per client, answered to the
 * client; and the client's publish(): resolved with the receiver count or rejected with the
 * gateway's code, bounded in number and in time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ErrorEvent, StandardSchemaV1 } from '@events/core';
import { createPubSub, memoryPubSub } from '../src/index.js';
import { createPubSubClient, GatewayError, type PubSubClient, type PubSubClientOptions } from '../src/client/index.js';
import { createWebSocketGateway } from '../src/websocket/index.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

/** A Standard Schema by hand: `{ text: string }` of 1-100 characters, trimmed. */
const textSchema: StandardSchemaV1<unknown, { text: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const text = typeof value === 'object' && value !== null ? (value as { text?: unknown }).text : undefined;
      if (typeof text !== 'string') return { issues: [{ message: 'expected a string', path: ['text'] }] };
      const trimmed = text.trim();
      if (trimmed.length < 1 || trimmed.length > 100) return { issues: [{ message: 'expected 1-100 characters', path: ['text'] }] };
      return { value: { text: trimmed } };
    },
  },
};

let fx: GatewayFixture | undefined;
const clients: PubSubClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await fx?.close();
  fx = undefined;
});

function client(url: string, options: Omit<PubSubClientOptions, 'url'> = {}): PubSubClient {
  const c = createPubSubClient({ url, WebSocket: WebSocket as never, reconnect: false, ...options });
  clients.push(c);
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe('client publish', () => {
  it('is off by default: without authorizePublish every publish is refused PUBLISH_DISABLED and nothing is broadcast', async () => {
    fx = await startGateway(); // insecure: subscriptions open, publishing still closed
    const ns = randomId('pub');
    const got: unknown[] = [];
    await fx.pubsub.subscribe(`${ns}:*`, (m) => void got.push(m));
    const c = client(fx.url);
    await c.ready();
    const error = await rejection(c.publish(`${ns}:room`, { text: 'hi' }));
    expect(error.code).toBe('PUBLISH_DISABLED');
    expect(fx.gateway.health().counts).toMatchObject({ published: 0, publishRefused: 1 });
    expect(got).toEqual([]);
  });

  it('publishes where authorizePublish allows it, answers with the receiver count, refuses elsewhere with UNAUTHORIZED', async () => {
    const ns = randomId('pub');
    const asked: Array<[string, unknown]> = [];
    fx = await startGateway({
      authorizePublish: (_req, channel, message) => {
        asked.push([channel, message]);
        return channel.startsWith(`${ns}:open:`);
      },
    });
    const a = client(fx.url);
    const b = client(fx.url);
    const seen: Array<[string, unknown]> = [];
    await b.subscribe(`${ns}:*`, (m, meta) => void seen.push([meta.channel, m]));
    await fx.pubsub.subscribe(`${ns}:*`, () => undefined);
    await a.ready();
    // b's gateway subscription and the local one: two receivers.
    expect(await a.publish(`${ns}:open:1`, { text: 'hello' })).toBe(2);
    expect((await rejection(a.publish(`${ns}:closed:1`, { text: 'no' }))).code).toBe('UNAUTHORIZED');
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([[`${ns}:open:1`, { text: 'hello' }]]);
    expect(asked).toEqual([
      [`${ns}:open:1`, { text: 'hello' }],
      [`${ns}:closed:1`, { text: 'no' }],
    ]);
    // A glob or a bad name is refused before the hook is asked.
    expect((await rejection(a.publish(`${ns}:open:*`, { text: 'x' }))).code).toBe('INVALID_NAME');
    expect((await rejection(a.publish(`${ns}: open`, { text: 'x' }))).code).toBe('INVALID_NAME');
    expect(asked).toHaveLength(2);
    expect(fx.gateway.health().counts).toMatchObject({ published: 1, publishRefused: 3 });
  });

  it('denies when authorizePublish throws or outlives authorizeTimeoutMs, and reports it', async () => {
    const ns = randomId('pub');
    const errors: ErrorEvent[] = [];
    fx = await startGateway({
      authorizeTimeoutMs: 100,
      onError: (e) => void errors.push(e),
      authorizePublish: (_req, channel, _message, { signal }) => {
        if (channel.endsWith(':throws')) throw new Error('lookup failed');
        return new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(true)));
      },
    });
    const c = client(fx.url);
    await c.ready();
    expect((await rejection(c.publish(`${ns}:throws`, 1))).code).toBe('UNAUTHORIZED');
    expect((await rejection(c.publish(`${ns}:slow`, 2))).code).toBe('UNAUTHORIZED');
    expect(errors.map((e) => [e.kind, e.name])).toEqual([
      ['authorize', `${ns}:throws`],
      ['authorize', `${ns}:slow`],
    ]);
  });

  it("refuses INVALID_PAYLOAD what the channel's schema refuses (the gateway's publishSchema and the PubSub's own), and broadcasts the schema's output", async () => {
    const ns = randomId('pub');
    const strict = `${ns}:strict`;
    fx = await startGateway({ authorizePublish: () => true, publishSchema: (channel) => (channel.startsWith(`${ns}:chat:`) ? textSchema : undefined) });
    // The PubSub's own schema, on one exact channel: a second PubSub on the same hub, with its gateway.
    const pubsub = createPubSub({ adapter: memoryPubSub({ hub: fx.hub }), schemas: { [strict]: textSchema } });
    const gateway = createWebSocketGateway({ pubsub, server: fx.server, path: '/strict', insecure: true, authorizePublish: () => true });
    try {
      const seen: unknown[] = [];
      await fx.pubsub.subscribe(`${ns}:*`, (m) => void seen.push(m));
      const c = client(fx.url);
      await c.ready();
      const bad = await rejection(c.publish(`${ns}:chat:1`, { text: 42 }));
      expect(bad.code).toBe('INVALID_PAYLOAD');
      expect(bad.message).toContain('text: expected a string');
      expect((await rejection(c.publish(`${ns}:chat:1`, { text: '   ' }))).code).toBe('INVALID_PAYLOAD');
      expect(await c.publish(`${ns}:chat:1`, { text: '  padded  ' })).toBe(1);
      expect(await c.publish(`${ns}:free`, { anything: [1, 2] })).toBe(1);

      const s = client(fx.url.replace('/pubsub', '/strict'));
      await s.ready();
      expect((await rejection(s.publish(strict, { nope: true }))).code).toBe('INVALID_PAYLOAD');
      expect(await s.publish(strict, { text: 'fits' })).toBe(1);
      await waitFor(() => seen.length === 3);
      expect(seen).toEqual([{ text: 'padded' }, { anything: [1, 2] }, { text: 'fits' }]);
    } finally {
      await gateway.close();
      await pubsub.close();
    }
  });

  it('rate-limits each client (burst, then perSecond) with RATE_LIMITED, without touching another client', async () => {
    const ns = randomId('pub');
    fx = await startGateway({ authorizePublish: () => true, publishRate: { perSecond: 5, burst: 5 } });
    const flooder = new RawClient(fx.url);
    const calm = client(fx.url);
    await Promise.all([flooder.opened, calm.ready()]);
    const started = performance.now();
    for (let id = 0; id < 30; id += 1) flooder.send({ type: 'publish', id, channel: `${ns}:flood`, data: id });
    await waitFor(() => flooder.frames.length === 30, 10_000, 'every publish answered');
    const elapsed = (performance.now() - started) / 1000;
    const published = flooder.of('published').length;
    const limited = flooder.of('error').filter((f) => f.code === 'RATE_LIMITED').length;
    // Every frame answered once; the bucket lets through the burst plus what refilled meanwhile.
    expect(published + limited).toBe(30);
    expect(published).toBeGreaterThanOrEqual(5);
    expect(published).toBeLessThanOrEqual(5 + Math.ceil(elapsed * 5));
    expect(flooder.frames.map((f) => (f as { id: number }).id)).toEqual([...Array(30).keys()]);
    // The other client has its own bucket.
    expect(await calm.publish(`${ns}:calm`, 'ok')).toBe(0);
    expect(flooder.closed).toBeUndefined();
    flooder.ws.terminate();
  });

  it('refuses a publish rate that is not a positive number', async () => {
    fx = await startGateway();
    expect(() => createWebSocketGateway({ pubsub: fx!.pubsub, server: fx!.server, path: '/x', publishRate: { perSecond: 0 } })).toThrow(/publishRate.perSecond/);
  });
});

describe("the client's publish()", () => {
  it('bounds waiting publishes (LIMIT, not sent), each with a deadline (TIMEOUT), and refuses what cannot be sent', async () => {
    const ns = randomId('pub');
    const asked: string[] = [];
    fx = await startGateway({
      authorizeTimeoutMs: 60_000,
      // Never answers until the client leaves: the client's deadline decides.
      authorizePublish: (_req, channel, _m, { signal }) => {
        asked.push(channel);
        return new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(false)));
      },
    });
    const c = client(fx.url, { maxPendingPublishes: 2, maxPublishBytes: 1024, timeoutMs: 300 });
    await c.ready();
    const first = rejection(c.publish(`${ns}:a`, 1));
    const second = rejection(c.publish(`${ns}:b`, 2));
    expect(c.health().counts?.pendingPublishes).toBe(2);
    expect((await rejection(c.publish(`${ns}:c`, 3))).code).toBe('LIMIT');
    expect((await first).code).toBe('TIMEOUT');
    expect((await second).code).toBe('TIMEOUT');
    expect(c.health().counts?.pendingPublishes).toBe(0);
    expect((await rejection(c.publish(`${ns}:big`, 'x'.repeat(2000)))).code).toBe('LIMIT');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect((await rejection(c.publish(`${ns}:cycle`, cycle))).code).toBe('INVALID_PAYLOAD');
    expect((await rejection(c.publish(`${ns}:undef`, undefined))).code).toBe('INVALID_PAYLOAD');
    // Only the two within the bound ever reached the gateway (the second waits behind the first).
    await waitFor(() => asked.length >= 1);
    expect(asked.every((ch) => ch === `${ns}:a` || ch === `${ns}:b`)).toBe(true);
  });

  it('rejects DISCONNECTED when not connected and when the connection drops before the answer; CLOSED after close()', async () => {
    const ns = randomId('pub');
    fx = await startGateway({ authorizePublish: (_req, _ch, _m, { signal }) => new Promise<boolean>((resolve) => signal.addEventListener('abort', () => resolve(false))) });
    // Reconnecting (in a minute): disconnected, not closed.
    const c = client(fx.url, { reconnect: { initialDelayMs: 60_000 } });
    await c.ready();
    const waiting = rejection(c.publish(`${ns}:a`, 1));
    await waitFor(() => fx!.gateway.clients()[0]?.pendingFrames === 1);
    await fx.gateway.close({ force: true });
    expect((await waiting).code).toBe('DISCONNECTED');
    expect((await rejection(c.publish(`${ns}:b`, 2))).code).toBe('DISCONNECTED');
    await c.close();
    expect((await rejection(c.publish(`${ns}:c`, 3))).code).toBe('CLOSED');
  });
});
