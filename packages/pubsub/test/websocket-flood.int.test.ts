/**
 * Floods and churn against the gateway, with the bounds asserted (issue 11 finding 3): one client
 * sending 30,000 valid 15 KiB frames behind a slow `authorize` (heap 6.8 -> 443 MiB before the fix,
 * and authorize kept running after the client left), and 2,000 connections opened and dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket from 'ws';
import type { WebSocketGatewayOptions } from '../src/websocket/index.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMiB = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** Heap growth allowed over a whole flood: a few MiB of sockets and buffers, far from the 436 MiB of the unbounded code. */
const HEAP_BOUND_MIB = 32;

describe('gateway floods', () => {
  let fx: GatewayFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function flood(options: Partial<WebSocketGatewayOptions>): Promise<{ before: number; after: number; calls: number; callsAfterLeave: number }> {
    let calls = 0;
    fx = await startGateway({
      ...options,
      onError: () => undefined,
      authorize: async (_req, _topic, { signal }) => {
        calls += 1;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 5);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
        });
        return false;
      },
    });
    const before = heapMiB();
    const c = new RawClient(fx.url);
    await c.opened;
    // One pre-encoded frame sent 30,000 times: the test's own side costs no heap.
    const frame = Buffer.from(JSON.stringify({ type: 'subscribe', id: 1, topic: 'flood:1', pad: 'x'.repeat(15_000) }));
    for (let i = 0; i < 30_000 && c.ws.readyState === WebSocket.OPEN; i += 1) c.ws.send(frame, { binary: false });
    await waitFor(() => c.closed !== undefined, 20_000, 'the flooding client to be closed');
    const after = heapMiB();
    const callsAtLeave = calls;
    await new Promise((r) => setTimeout(r, 100)); // nothing more runs
    c.ws.terminate();
    return { before, after, calls: callsAtLeave, callsAfterLeave: calls - callsAtLeave };
  }

  it('30,000 frames behind a slow authorize: closed at the frame rate, heap bounded, authorize stops', async () => {
    const r = await flood({});
    console.info(`flood (rate bound): heap ${r.before.toFixed(1)} -> ${r.after.toFixed(1)} MiB, authorize calls ${r.calls}, after leaving ${r.callsAfterLeave}`);
    expect(r.after - r.before).toBeLessThan(HEAP_BOUND_MIB);
    expect(r.callsAfterLeave).toBe(0);
    expect(fx!.gateway.health().counts).toMatchObject({ clients: 0, pendingFrames: 0, clientsClosedForLimits: 1 });
  });

  it('the same flood with no frame rate bound: the pending-frames bound alone keeps the heap', async () => {
    const r = await flood({ maxFramesPerSecond: 1e9 });
    console.info(`flood (pending bound): heap ${r.before.toFixed(1)} -> ${r.after.toFixed(1)} MiB, authorize calls ${r.calls}, after leaving ${r.callsAfterLeave}`);
    expect(r.after - r.before).toBeLessThan(HEAP_BOUND_MIB);
    expect(r.calls).toBeLessThan(10); // not one per frame: the client is gone after 128 waiting
    expect(r.callsAfterLeave).toBe(0);
  });

  it('2,000 connections opened, subscribed and dropped: every one is forgotten, a steady client keeps its service', async () => {
    fx = await startGateway({ heartbeatMs: 60_000 });
    const ns = randomId('churn');
    const steady = new RawClient(fx.url);
    await steady.opened;
    steady.send({ type: 'subscribe', id: 1, topic: `${ns}:steady` });
    await waitFor(() => steady.of('subscribed').length === 1);
    const before = heapMiB();
    for (let wave = 0; wave < 20; wave += 1) {
      const peers = Array.from({ length: 100 }, () => new RawClient(fx!.url));
      await Promise.all(peers.map((p) => p.opened));
      for (const [i, p] of peers.entries()) p.send({ type: 'subscribe', id: 1, topic: `${ns}:room:${i % 10}` });
      await waitFor(() => peers.every((p) => p.of('subscribed').length === 1), 20_000, `wave ${wave} subscribed`);
      // Half leave politely, half vanish.
      for (const [i, p] of peers.entries()) {
        if (i % 2 === 0) p.ws.close();
        else p.ws.terminate();
      }
      await waitFor(() => fx!.gateway.clients().length === 1, 20_000, `wave ${wave} forgotten`);
    }
    const after = heapMiB();
    console.info(`churn: 2,000 connections, heap ${before.toFixed(1)} -> ${after.toFixed(1)} MiB`);
    expect(after - before).toBeLessThan(HEAP_BOUND_MIB);
    expect(fx.pubsub.subscriptions().size).toBe(1);
    expect(await fx.pubsub.broadcast(`${ns}:steady`, 'still here')).toBe(1);
    await waitFor(() => steady.of('message').length === 1);
    steady.ws.terminate();
  }, 120_000);
});
