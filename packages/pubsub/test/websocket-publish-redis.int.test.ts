/**
 * Client publish across processes on real Redis: two PubSub nodes (each with its own connections
 * through its own cuttable proxy), a gateway on each. A client of gateway 1 publishes, a client of
 * gateway 2 receives. The publisher's Redis connection is cut for part of the stream; the
 * acknowledged receiver count must tell the truth: every message acknowledged with a receiver is
 * delivered once, in order, and every one acknowledged with none is not delivered (at-most-once,
 * but never a silent loss).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createPubSubClient, type PubSubClient } from '../src/client/index.js';
import { createWebSocketGateway, type WebSocketGateway } from '../src/websocket/index.js';
import type { PubSub } from '../src/index.js';
import { redisContext } from './redis-context.js';
import { randomId, waitFor } from '@events/testing';

const ctx = redisContext();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await ctx.cleanup();
});

async function gatewayOn(pubsub: PubSub, prefix: string): Promise<{ url: string; gateway: WebSocketGateway }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gateway = createWebSocketGateway({
    pubsub,
    server,
    authorize: (_req, topic) => topic.startsWith(prefix),
    authorizePublish: (_req, channel) => channel.startsWith(prefix),
    publishRate: { perSecond: 10_000, burst: 10_000 },
    maxFramesPerSecond: 10_000,
  });
  closers.push(async () => {
    await gateway.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub`, gateway };
}

function client(url: string): PubSubClient {
  const c = createPubSubClient({ url, WebSocket: WebSocket as never, timeoutMs: 20_000 });
  closers.push(() => c.close());
  return c;
}

describe('client publish over Redis', () => {
  it('reaches a client of another gateway; the acknowledged receiver count is the truth across a cut of the publisher', async () => {
    const ns = randomId('pub-redis');
    const channel = `${ns}:room`;
    const reported: string[] = [];
    const onError = (e: { kind: string }): void => void reported.push(e.kind);
    const [node1, node2] = [await ctx.node({ namespace: ns, onError }), await ctx.node({ namespace: ns, onError })];
    const [g1, g2] = [await gatewayOn(node1, `${ns}:`), await gatewayOn(node2, `${ns}:`)];
    const publisher = client(g1.url);
    const reader = client(g2.url);
    const delivered: number[] = [];
    await reader.subscribe(channel, (m) => void delivered.push((m as { n: number }).n));
    const probe = `${ns}:probe`;
    await node2.subscribe(probe, () => undefined);
    await publisher.ready();

    const SENT = 300;
    const acks = new Map<number, number>();
    const errors: string[] = [];
    for (let n = 0; n < SENT; n += 1) {
      if (n === 100) await ctx.cut(node1);
      if (n === 200) {
        await ctx.restore(node1);
        // Back once a broadcast of node 1 reaches node 2 through Redis again (a probe channel of its own).
        await waitFor(async () => (await node1.broadcast(probe, 'up?')) > 0, 10_000, 'the publisher node to reach Redis again');
      }
      // One at a time: each answer (and its count) belongs to that message.
      await publisher.publish(channel, { n }).then(
        (receivers) => void acks.set(n, receivers),
        (err: { code: string }) => void errors.push(err.code),
      );
    }
    const withReceiver = [...acks].filter(([, r]) => r > 0).map(([n]) => n);
    const withNone = [...acks].filter(([, r]) => r === 0).map(([n]) => n);
    await waitFor(() => delivered.length >= withReceiver.length, 20_000, 'every message acknowledged with a receiver');
    // Proves nothing more arrives: one more message after them all is the next one delivered.
    expect(await publisher.publish(channel, { n: SENT })).toBe(1);
    await waitFor(() => delivered.at(-1) === SENT, 10_000, 'the marker');
    delivered.pop();

    const duplicated = delivered.length - new Set(delivered).size;
    const lost = withNone.length;
    console.log(
      `client publish over Redis, publisher cut for messages 100-199: sent ${SENT}, acknowledged ${acks.size} (${withReceiver.length} with a receiver, ${withNone.length} with none), errors ${errors.length}, delivered ${delivered.length}, duplicated ${duplicated}, lost ${lost}`,
    );
    expect(errors).toEqual([]);
    expect(acks.size).toBe(SENT);
    expect(delivered).toEqual(withReceiver);
    expect(duplicated).toBe(0);
    // Outside the cut every message reached the other gateway; within it, the publishes that failed were reported.
    expect(withReceiver.filter((n) => n < 100 || n >= 200)).toHaveLength(200);
    expect(reported.filter((k) => k === 'publish').length).toBeGreaterThanOrEqual(withNone.length);
    expect(g1.gateway.health().counts).toMatchObject({ published: SENT + 1, publishRefused: 0 });
  }, 60_000);
});
