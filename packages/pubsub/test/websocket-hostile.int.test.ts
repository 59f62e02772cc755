/**
 * Hostile websocket clients (fast-check, bounded runs): random JSON values, protocol-shaped frames
 * with wrong fields, globs and huge topics, binary frames, oversized frames and bursts. Each run:
 * the process stays up, the steady client keeps its service, a client closed for what it sent was
 * reported to the error hook, its server-side state is gone, and the heap stays under a bound.
 */
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ErrorEvent } from '@events/core';
import { topicWithinPrefix } from '../src/websocket/index.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMiB = (): number => (gc(), process.memoryUsage().heapUsed / 2 ** 20);

const MAX_PAYLOAD = 4096;
let fx: GatewayFixture;
let steady: RawClient;
const errors: ErrorEvent[] = [];
const ns = randomId('hostile');

beforeAll(async () => {
  fx = await startGateway({
    maxPayloadBytes: MAX_PAYLOAD,
    maxFramesPerSecond: 50,
    maxPendingFrames: 16,
    onError: (e) => void errors.push(e),
    authorize: (_req, topic) => topicWithinPrefix(topic, `${ns}:`),
  });
  steady = new RawClient(fx.url);
  await steady.opened;
  steady.send({ type: 'subscribe', id: 1, topic: `${ns}:steady` });
  await waitFor(() => steady.of('subscribed').length === 1);
});

afterAll(async () => {
  steady.ws.terminate();
  await fx.close();
});

type Hostile = { kind: 'text'; text: string } | { kind: 'binary'; bytes: Uint8Array } | { kind: 'burst'; count: number };

const topic = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('*', '?', '[', 'a]', `${ns}:*`, `${ns}:x`, `${ns}:`, 'tenant:*', '\\', 'a b', ''),
  fc.string({ minLength: 200, maxLength: 300 }).map((s) => `${ns}:${s}`),
);
const protocolish = fc.record(
  {
    type: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'publish', 'SUBSCRIBE'), fc.jsonValue({ maxDepth: 1 })),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
    topic: fc.oneof(topic, fc.jsonValue({ maxDepth: 1 })),
    policy: fc.oneof(fc.constantFrom('drop-oldest', 'conflate', 'disconnect', 'keep'), fc.jsonValue({ maxDepth: 1 })),
    key: fc.oneof(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  { arbitrary: protocolish.map((f) => ({ kind: 'text' as const, text: JSON.stringify(f) })), weight: 5 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) ?? 'null' })), weight: 2 },
  { arbitrary: fc.string({ maxLength: 100 }).map((text) => ({ kind: 'text' as const, text })), weight: 1 },
  { arbitrary: fc.integer({ min: MAX_PAYLOAD + 1, max: MAX_PAYLOAD * 4 }).map((n) => ({ kind: 'text' as const, text: 'x'.repeat(n) })), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })), weight: 1 },
  { arbitrary: fc.integer({ min: 60, max: 400 }).map((count) => ({ kind: 'burst' as const, count })), weight: 1 },
);

describe('hostile websocket clients', () => {
  it('never take the gateway down nor the service of another client; what they cost is bounded', async () => {
    const before = heapMiB();
    let marker = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 6 }), async (frames) => {
        const reported = errors.length;
        const c = new RawClient(fx.url);
        await c.opened;
        for (const f of frames) {
          if (c.ws.readyState !== WebSocket.OPEN) break;
          if (f.kind === 'text') c.ws.send(f.text);
          else if (f.kind === 'binary') c.ws.send(f.bytes, { binary: true });
          else for (let i = 0; i < f.count && c.ws.readyState === WebSocket.OPEN; i += 1) c.ws.send(JSON.stringify({ type: 'unsubscribe', id: i, topic: `${ns}:b` }));
        }
        // Everything sent has been read once a well-formed frame sent after it is answered (or the client is closed).
        if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify({ type: 'unsubscribe', id: 'end', topic: `${ns}:end` }));
        await waitFor(() => c.closed !== undefined || c.of('unsubscribed').some((u) => u.id === 'end'), 10_000, 'the hostile client to be answered or closed');
        if (c.closed !== undefined && c.closed.code !== 1000) {
          // Closed for what it sent: the error hook heard why.
          expect(errors.length).toBeGreaterThan(reported);
        }
        // Only the client's own subscriptions were ever granted, and they go with it.
        c.ws.terminate();
        await waitFor(() => fx.gateway.clients().length === 1, 10_000, 'the hostile client to be forgotten');
        marker += 1;
        await fx.pubsub.broadcast(`${ns}:steady`, { marker });
        await waitFor(() => (steady.of('message').at(-1)?.data as { marker?: number } | undefined)?.marker === marker, 10_000, 'the steady client');
        expect([...fx.pubsub.subscriptions().keys()]).toEqual([`${ns}:steady`]);
      }),
      { numRuns: 40 },
    );
    expect(heapMiB() - before).toBeLessThan(32);
    expect(steady.closed).toBeUndefined();
    expect(fx.gateway.health().counts).toMatchObject({ clients: 1, pendingFrames: 0 });
  }, 60_000);
});
