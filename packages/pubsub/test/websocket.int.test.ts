/** The websocket gateway over a real HTTP server and real sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonSerializer } from '@events/core';
import { createPubSub, memoryPubSub } from '../src/index.js';
import { createPubSubClient, GatewayError, type PubSubClient } from '../src/client/index.js';
import { CLOSE_CODES, createWebSocketGateway, topicWithinPrefix } from '../src/websocket/index.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

const tenantOf = (req: IncomingMessage): string => new URL(req.url ?? '/', 'http://x').searchParams.get('tenant') ?? '';

describe('websocket gateway', () => {
  let fx: GatewayFixture | undefined;
  const clients: Array<PubSubClient | RawClient> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      if (c instanceof RawClient) c.ws.terminate();
      else void c.close();
    }
    await fx?.close();
    fx = undefined;
  });

  function client(url: string): PubSubClient {
    const c = createPubSubClient({ url, WebSocket: WebSocket as never, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    clients.push(c);
    return c;
  }
  async function raw(url: string): Promise<RawClient> {
    const c = new RawClient(url);
    clients.push(c);
    await c.opened;
    return c;
  }

  it('delivers channels and patterns to the typed client and unsubscribes', async () => {
    fx = await startGateway();
    const ns = randomId('ws');
    const c = client(fx.url);
    const got: Array<{ m: unknown; channel: string; topic: string }> = [];
    const off = await c.subscribe(`${ns}:user:*:notifications`, (m, meta) => void got.push({ m, channel: meta.channel, topic: meta.topic }));
    await c.subscribe(`${ns}:room`, (m, meta) => void got.push({ m, channel: meta.channel, topic: meta.topic }));
    expect(await fx.pubsub.broadcast(`${ns}:user:1:notifications`, { text: 'hi' })).toBe(1);
    await fx.pubsub.broadcast(`${ns}:room`, 'r');
    await waitFor(() => got.length === 2);
    expect(got).toEqual([
      { m: { text: 'hi' }, channel: `${ns}:user:1:notifications`, topic: `${ns}:user:*:notifications` },
      { m: 'r', channel: `${ns}:room`, topic: `${ns}:room` },
    ]);
    await off.close();
    await waitFor(() => fx!.gateway.clients()[0]!.topics.length === 1);
    expect(await fx.pubsub.broadcast(`${ns}:user:1:notifications`, 'gone')).toBe(0);
  });

  it('pushes text frames built once per message; a gateway-only node never decodes what it sent', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let decoded = 0;
    const pubsub = createPubSub({ serializer: { ...jsonSerializer, decode: (raw) => ((decoded += 1), jsonSerializer.decode(raw)) } });
    const gateway = createWebSocketGateway({ pubsub, server, insecure: true });
    try {
      const ns = randomId('ws');
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`;
      const peers = [await raw(url), await raw(url)];
      const binary: boolean[] = [];
      for (const peer of peers) {
        peer.ws.on('message', (_data, isBinary) => void binary.push(isBinary));
        peer.send({ type: 'subscribe', id: 1, topic: `${ns}:*` });
        await waitFor(() => peer.of('subscribed').length === 1);
      }
      const sent = { at: new Date(0), n: 1 };
      // Both clients follow the gateway's one subscription of the topic: one receiver.
      expect(await pubsub.broadcast(`${ns}:a`, sent)).toBe(1);
      expect(decoded).toBe(0);
      // An ordinary handler beside the gateway still gets its own decoded copy.
      const local: unknown[] = [];
      await pubsub.subscribe(`${ns}:a`, (m) => void local.push(m));
      expect(await pubsub.broadcast(`${ns}:a`, sent)).toBe(2);
      expect(decoded).toBe(1);
      expect(local[0]).not.toBe(sent);
      await waitFor(() => peers.every((p) => p.of('message').length === 2));
      for (const peer of peers) {
        expect(peer.of('message').map((f) => [f.topic, f.channel, f.data])).toEqual([
          [`${ns}:*`, `${ns}:a`, { at: '1970-01-01T00:00:00.000Z', n: 1 }],
          [`${ns}:*`, `${ns}:a`, { at: '1970-01-01T00:00:00.000Z', n: 1 }],
        ]);
      }
      expect(binary.filter((b) => b)).toEqual([]);
    } finally {
      await gateway.close();
      await pubsub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a burst broadcast in one tick (written corked, in one go) arrives whole and in order', async () => {
    fx = await startGateway();
    const ns = randomId('ws');
    const c = await raw(fx.url);
    c.send({ type: 'subscribe', id: 1, topic: `${ns}:burst` });
    await waitFor(() => c.of('subscribed').length === 1);
    const sends: Array<Promise<number>> = [];
    for (let i = 0; i < 300; i += 1) sends.push(fx.pubsub.broadcast(`${ns}:burst`, { i, pad: 'x'.repeat(i * 10) }));
    expect(await Promise.all(sends)).toEqual(sends.map(() => 1));
    await waitFor(() => c.of('message').length === 300);
    expect(c.of('message').map((f) => (f.data as { i: number }).i)).toEqual([...Array(300).keys()]);
    expect(fx.gateway.clients()[0]).toMatchObject({ droppedTotal: 0, queuedMessages: 0 });
  });

  it('isolates tenants: unauthorized subscriptions (patterns included) are refused, the connection lives on', async () => {
    fx = await startGateway({ authorize: (req, topic) => topicWithinPrefix(topic, `tenant:${tenantOf(req)}:`) });
    const ns = randomId('ws');
    const a = client(`${fx.url}?tenant=A${ns}`);
    const b = client(`${fx.url}?tenant=B${ns}`);
    const gotA: string[] = [];
    const gotB: string[] = [];
    await a.subscribe(`tenant:A${ns}:*`, (_m, meta) => void gotA.push(meta.channel));
    await b.subscribe(`tenant:B${ns}:*`, (_m, meta) => void gotB.push(meta.channel));
    for (const topic of [`tenant:B${ns}:orders`, `tenant:B${ns}:*`, 'tenant:*', '*', `tenant:A${ns}*`, `tenant:?${ns}:x`]) {
      const err = await a.subscribe(topic, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe('UNAUTHORIZED');
    }
    await fx.pubsub.broadcast(`tenant:B${ns}:orders`, 1);
    await fx.pubsub.broadcast(`tenant:A${ns}:orders`, 2);
    await waitFor(() => gotA.length === 1 && gotB.length === 1);
    expect(gotA).toEqual([`tenant:A${ns}:orders`]);
    expect(gotB).toEqual([`tenant:B${ns}:orders`]);
    expect(a.connected).toBe(true);
  });

  it('answers malformed topics with an error frame', async () => {
    fx = await startGateway();
    const c = await raw(fx.url);
    c.send({ type: 'subscribe', id: 1, topic: 'bad[' });
    c.send({ type: 'subscribe', id: 2, topic: 'has space' });
    await waitFor(() => c.of('error').length === 2);
    expect(c.of('error').map((e) => [e.id, e.code])).toEqual([
      [1, 'INVALID_PATTERN'],
      [2, 'INVALID_NAME'],
    ]);
    expect(c.closed).toBeUndefined();
  });

  it('handles one client frame at a time: an unsubscribe never overtakes a slow subscribe', async () => {
    fx = await startGateway({ authorize: () => new Promise((resolve) => setTimeout(() => resolve(true), 20)) });
    const ns = randomId('ws');
    const c = await raw(fx.url);
    c.send({ type: 'subscribe', id: 1, topic: `${ns}:t` });
    c.send({ type: 'unsubscribe', id: 2, topic: `${ns}:t` });
    await waitFor(() => c.of('unsubscribed').length === 1);
    expect(c.frames.map((f) => f.type)).toEqual(['subscribed', 'unsubscribed']);
    expect(fx.gateway.clients()[0]!.topics).toEqual([]);
    expect(await fx.pubsub.broadcast(`${ns}:t`, 1)).toBe(0);
  });

  it('closes only the client that sends garbage, binary or oversized frames', async () => {
    fx = await startGateway({ maxPayloadBytes: 1024 });
    const ns = randomId('ws');
    const healthy = await raw(fx.url);
    healthy.send({ type: 'subscribe', id: 1, topic: `${ns}:live` });
    await waitFor(() => healthy.of('subscribed').length === 1);
    const cases: Array<[unknown, number]> = [
      ['this is not json', CLOSE_CODES.PROTOCOL_ERROR],
      ['[1,2,3]', CLOSE_CODES.PROTOCOL_ERROR],
      [{ type: 'launch', id: 1, topic: 'x' }, CLOSE_CODES.PROTOCOL_ERROR],
      [{ type: 'subscribe', id: 1, topic: 'x', policy: 'keep-everything' }, CLOSE_CODES.PROTOCOL_ERROR],
      [Buffer.from([1, 2, 3]), CLOSE_CODES.UNSUPPORTED_DATA],
      [JSON.stringify({ type: 'subscribe', id: 1, topic: 'x'.repeat(2000) }), CLOSE_CODES.MESSAGE_TOO_BIG],
    ];
    for (const [frame, code] of cases) {
      const bad = await raw(fx.url);
      if (Buffer.isBuffer(frame)) bad.ws.send(frame);
      else bad.send(frame);
      await waitFor(() => bad.closed !== undefined, 10_000, `close after ${String(frame).slice(0, 20)}`);
      expect(bad.closed!.code).toBe(code);
    }
    expect(fx.gateway.clients()).toHaveLength(1);
    await fx.pubsub.broadcast(`${ns}:live`, 'still here');
    await waitFor(() => healthy.of('message').length === 1);
    expect(healthy.closed).toBeUndefined();
  });

  it('drops a peer that stops answering pings, keeps the live one', async () => {
    // Slack: the live client answers pings from this same (possibly busy) process.
    fx = await startGateway({ heartbeatMs: 250 });
    const dead = await raw(fx.url);
    const live = await raw(fx.url);
    await waitFor(() => fx!.gateway.clients().length === 2);
    dead.pause();
    await waitFor(() => fx!.gateway.clients().length === 1, 10_000, 'the dead peer to be dropped');
    expect(live.closed).toBeUndefined();
    expect(fx.gateway.clients()).toHaveLength(1);
  });

  it('the client reconnects and resubscribes by itself', async () => {
    fx = await startGateway();
    const ns = randomId('ws');
    const c = client(fx.url);
    const got: unknown[] = [];
    let opens = 0;
    c.on('open', () => void (opens += 1));
    await c.subscribe(`${ns}:again`, (m) => void got.push(m));
    await fx.gateway.close(); // closes every client with 1001
    const { createWebSocketGateway } = await import('../src/websocket/index.js');
    fx.gateway = createWebSocketGateway({ pubsub: fx.pubsub, server: fx.server, insecure: true });
    await waitFor(() => opens >= 1 && fx!.gateway.clients()[0]?.topics.length === 1, 10_000, 'reconnect + resubscribe');
    await fx.pubsub.broadcast(`${ns}:again`, 'back');
    await waitFor(() => got.length === 1);
    expect(got).toEqual(['back']);
  });

  it('forwards the transport outage (resubscribed) and gaps to clients', async () => {
    fx = await startGateway();
    const ns = randomId('ws');
    const c = client(fx.url);
    const outages: unknown[] = [];
    const gaps: unknown[] = [];
    const got: unknown[] = [];
    c.on('resubscribed', (e) => void outages.push(e));
    c.on('gap', (e) => void gaps.push(e));
    await c.subscribe(`${ns}:x`, (m) => void got.push(m));
    // Another node on the same hub publishes; the gateway's node misses two messages.
    const other = createPubSub({ adapter: memoryPubSub({ hub: fx.hub }) });
    await other.broadcast(`${ns}:x`, 1);
    fx.hub.cut(fx.adapter);
    await other.broadcast(`${ns}:x`, 2);
    await other.broadcast(`${ns}:x`, 3);
    fx.hub.restore(fx.adapter);
    await other.broadcast(`${ns}:x`, 4);
    await waitFor(() => got.length === 2 && outages.length === 1 && gaps.length === 1);
    await other.close();
    expect(got).toEqual([1, 4]);
    expect(outages[0]).toEqual({ downAt: expect.any(String), upAt: expect.any(String) });
    expect(gaps).toEqual([{ topic: `${ns}:x`, channel: `${ns}:x`, missing: 2 }]);
  });
});
