/**
 * A fan-out to 5,000 clients is written a slice of clients per event-loop turn: a subscribe frame
 * and a new connection that arrive while it runs are served between two slices (asserted on the
 * gateway's own count of clients still waiting, never on time), and every client gets the
 * broadcasts in order, several of them in one write.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

const CLIENTS = 5_000;

/** A light client: records the `i` of each message in arrival order. */
function lightClient(url: string, topic: string): Promise<{ ws: WebSocket; seen: number[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const seen: number[] = [];
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, topic })));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; data?: { i: number } };
      if (frame.type === 'subscribed') resolve({ ws, seen });
      else if (frame.type === 'message') seen.push(frame.data!.i);
    });
  });
}

describe('sliced fan-out', () => {
  let fx: GatewayFixture | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await fx?.close();
    fx = undefined;
  });

  it('serves a subscribe frame and a new connection between the slices of a 5,000-client fan-out; every client gets every broadcast in order', async () => {
    const waitingAt: Record<string, number> = {};
    const topic = `${randomId('fan')}:feed`;
    fx = await startGateway({
      fanOut: { maxClientsPerTurn: 250, maxSliceMs: 60_000 },
      maxConnections: CLIENTS + 10,
      maxFramesPerSecond: 1_000,
      heartbeatMs: 600_000,
      authorize: (_request, t) => {
        // What the gateway still had to write when it got to this frame.
        if (t === `${topic}:late`) waitingAt.subscribe = fx!.gateway.health().counts.fanOutWaiting!;
        return true;
      },
    });
    const gateway = fx.gateway;
    fx.server.on('upgrade', (request: { url?: string }) => {
      if (request.url?.includes('late=1')) waitingAt.upgrade = gateway.health().counts.fanOutWaiting!;
    });
    const clients: Array<{ ws: WebSocket; seen: number[] }> = [];
    for (let start = 0; start < CLIENTS; start += 250) {
      const batch = await Promise.all(Array.from({ length: 250 }, () => lightClient(fx!.url, topic)));
      clients.push(...batch);
      sockets.push(...batch.map((c) => c.ws));
    }
    const subscriber = new RawClient(fx.url);
    sockets.push(subscriber.ws);
    await subscriber.opened;
    const slicesBefore = gateway.health().counts.fanOutSlices!;

    for (let i = 1; i <= 3; i += 1) await fx.pubsub.broadcast(topic, { i });
    // Both leave now, while the fan-out has only staged its frames; the gateway reads them in a later turn.
    subscriber.send({ type: 'subscribe', id: 7, topic: `${topic}:late` });
    const late = new WebSocket(`${fx.url}?late=1`);
    sockets.push(late);

    await waitFor(() => clients.every((c) => c.seen.length === 3), 60_000, 'every client to get the 3 broadcasts');
    for (const c of clients) expect(c.seen).toEqual([1, 2, 3]);
    await waitFor(() => subscriber.of('subscribed').length === 1 && late.readyState === WebSocket.OPEN, 10_000, 'the late subscribe and connection');
    // Served mid fan-out: clients were still waiting for their slice when each was handled.
    expect(waitingAt.subscribe).toBeGreaterThan(0);
    expect(waitingAt.upgrade).toBeGreaterThan(0);
    // 3 broadcasts x 5,000 clients went out in about 5,000 / 250 slices, each client's 3 frames together.
    const slices = gateway.health().counts.fanOutSlices! - slicesBefore;
    expect(slices).toBeGreaterThanOrEqual(CLIENTS / 250);
    expect(gateway.health().counts.framesDropped).toBe(0);
  }, 180_000);

  it('a broadcast made just before close() reaches the client ahead of its 1001', async () => {
    fx = await startGateway();
    const topic = `${randomId('fan')}:bye`;
    const c = new RawClient(fx.url);
    sockets.push(c.ws);
    await c.opened;
    c.send({ type: 'subscribe', id: 1, topic });
    await waitFor(() => c.of('subscribed').length === 1);
    await fx.pubsub.broadcast(topic, { i: 1 });
    const closing = fx.gateway.close();
    await waitFor(() => c.closed !== undefined, 10_000, 'the close frame');
    await closing;
    expect(c.of('message').map((m) => m.data)).toEqual([{ i: 1 }]);
    expect(c.closed?.code).toBe(1001);
  });
});
