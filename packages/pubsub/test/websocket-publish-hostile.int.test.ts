/**
 * Hostile publish frames (fast-check, bounded runs): random ids, channels (globs, bad names, other
 * prefixes, non-strings, huge), payloads (any JSON value, missing) against a gateway that lets
 * clients publish under one prefix, with a schema on one channel. Each run: every well-formed
 * publish is answered exactly once, with its id; a malformed frame closes only its client (and is
 * reported); only authorized, schema-valid messages are broadcast, and a subscriber receives
 * exactly as many as were acknowledged; the steady client keeps its service.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ErrorEvent, StandardSchemaV1 } from '@events/core';
import { topicWithinPrefix } from '../src/websocket/index.js';
import type { ErrorCode } from '../src/websocket/protocol.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

const ns = randomId('hostile-pub');
const CHAT = `${ns}:ok:chat`;
const chatSchema: StandardSchemaV1<unknown, { text: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string'
        ? { value: { text: (value as { text: string }).text } }
        : { issues: [{ message: 'expected { text: string }' }] },
  },
};
const REFUSALS: ErrorCode[] = ['INVALID_NAME', 'UNAUTHORIZED', 'INVALID_PAYLOAD', 'RATE_LIMITED'];

let fx: GatewayFixture;
let steady: RawClient;
const errors: ErrorEvent[] = [];

beforeAll(async () => {
  fx = await startGateway({
    maxPayloadBytes: 8192,
    maxFramesPerSecond: 1000,
    publishRate: { perSecond: 1000, burst: 1000 },
    onError: (e) => void errors.push(e),
    authorize: (_req, topic) => topicWithinPrefix(topic, `${ns}:`),
    authorizePublish: (_req, channel) => channel.startsWith(`${ns}:ok:`),
    publishSchema: (channel) => (channel === CHAT ? chatSchema : undefined),
  });
  steady = new RawClient(fx.url);
  await steady.opened;
  steady.send({ type: 'subscribe', id: 1, topic: `${ns}:*` });
  await waitFor(() => steady.of('subscribed').length === 1);
});

afterAll(async () => {
  steady.ws.terminate();
  await fx.close();
});

const channel = fc.oneof(
  fc.constantFrom(`${ns}:ok:a`, `${ns}:ok:b`, CHAT, `${ns}:no:a`, `${ns}:ok:*`, `${ns}:ok:[ab]`, `${ns}:ok:a b`, '', `${ns}:ok:\u0000`),
  fc.string({ maxLength: 20 }).map((s) => `${ns}:ok:${s}`),
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 500, maxLength: 600 }).map((s) => `${ns}:ok:${s}`),
  fc.jsonValue({ maxDepth: 1 }),
);
const data = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ text: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()) }));
const loose = fc.record(
  {
    type: fc.oneof({ arbitrary: fc.constant('publish'), weight: 8 }, { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 }),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
    channel,
    data,
  },
  { requiredKeys: [] },
);
const shaped = fc.record({
  type: fc.constant('publish'),
  id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
  channel: fc.oneof({ arbitrary: channel.filter((c) => typeof c === 'string'), weight: 3 }, { arbitrary: fc.constantFrom(`${ns}:ok:a`, CHAT), weight: 2 }),
  data,
});
// Mostly frames the gateway must answer (so runs reach the checks after the parse), some it must close on.
const publishFrame = fc.oneof({ arbitrary: shaped, weight: 9 }, { arbitrary: loose, weight: 1 });

type Generated = Partial<Record<'type' | 'id' | 'channel' | 'data', unknown>>;

/** The gateway's parse rule, restated: what it must answer rather than close on. */
function wellFormed(f: Generated): boolean {
  return f.type === 'publish' && (typeof f.id === 'string' || typeof f.id === 'number') && typeof f.channel === 'string' && 'data' in f;
}

describe('hostile publish frames', () => {
  it('are each answered or close only their client; only authorized, valid messages are broadcast, as many as acknowledged', async () => {
    let acknowledged = 0;
    let closed = 0;
    const refused = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(publishFrame, { minLength: 1, maxLength: 8 }), async (frames: Generated[]) => {
        const reported = errors.length;
        const c = new RawClient(fx.url);
        await c.opened;
        let answerable = 0;
        let malformed = false;
        for (const f of frames) {
          c.send(f);
          if (!wellFormed(f)) {
            malformed = true;
            break;
          }
          answerable += 1;
        }
        if (!malformed) c.send({ type: 'unsubscribe', id: 'end', topic: `${ns}:end` });
        await waitFor(() => c.closed !== undefined || c.of('unsubscribed').length === 1, 10_000, 'the client to be answered or closed');
        const answers = c.frames.filter((f) => f.type === 'published' || f.type === 'error');
        if (malformed) {
          // Answers to the frames before the bad one may or may not have left before the close.
          await waitFor(() => c.closed !== undefined, 10_000, 'the malformed client to be closed');
          expect(c.closed!.code).toBe(1002);
          expect(errors.slice(reported).some((e) => e.kind === 'protocol')).toBe(true);
          expect(answers.length).toBeLessThanOrEqual(answerable);
        } else {
          expect(c.closed).toBeUndefined();
          expect(answers).toHaveLength(answerable);
          const sent = frames.filter(wellFormed);
          answers.forEach((answer, i) => expect(answer.id).toEqual(sent[i]!.id));
        }
        for (const answer of c.of('published')) {
          expect(answer.channel.startsWith(`${ns}:ok:`)).toBe(true);
          expect(answer.receivers).toBe(1);
        }
        for (const answer of c.of('error')) {
          expect(REFUSALS).toContain(answer.code);
          refused.set(answer.code, (refused.get(answer.code) ?? 0) + 1);
        }
        if (malformed) closed += 1;
        acknowledged += c.of('published').length;
        c.ws.terminate();
        await waitFor(() => fx.gateway.clients().length === 1, 10_000, 'the hostile client to be forgotten');
        // The steady subscriber got exactly what was acknowledged, all of it authorized and valid.
        await waitFor(() => steady.of('message').length === acknowledged, 10_000, 'the steady client to receive what was acknowledged');
        for (const m of steady.of('message')) {
          expect(m.channel.startsWith(`${ns}:ok:`)).toBe(true);
          if (m.channel === CHAT) expect(typeof (m.data as { text?: unknown }).text).toBe('string');
        }
      }),
      { numRuns: 60 },
    );
    console.log(`hostile publish: ${acknowledged} acknowledged and delivered, refused ${JSON.stringify(Object.fromEntries(refused))}, ${closed} clients closed for a malformed frame`);
    expect(acknowledged).toBeGreaterThan(0);
    // Proves nothing more arrives late: one broadcast of ours is the next message.
    await fx.pubsub.broadcast(`${ns}:marker`, 'last');
    await waitFor(() => steady.of('message').at(-1)?.data === 'last');
    expect(steady.of('message')).toHaveLength(acknowledged + 1);
    expect(steady.closed).toBeUndefined();
    expect(fx.gateway.health().counts).toMatchObject({ clients: 1, pendingFrames: 0, published: acknowledged });
    expect(WebSocket.OPEN).toBe(steady.ws.readyState);
  }, 60_000);
});
