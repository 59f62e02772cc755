/**
 * The memory adapter's zero-copy mode: the shared conformance suites on the same semantics as the
 * default mode, then what differs (handlers get the sender's object, frozen in development) and
 * what the default mode promises instead (an independent copy per node).
 */
import { describe, expect, it } from 'vitest';
import { SerializationError } from '@events/core';
import { randomId } from '@events/testing';
import { createMemoryHub, createPubSub, memoryPubSub, type MemoryPubSubOptions, type PubSub } from '../src/index.js';
import { pubsubConformance } from './conformance.js';
import { memoryContext } from './memory-context.js';
import { pubsubSafetyConformance } from './conformance-safety.js';

pubsubConformance('memory, zero-copy', memoryContext({ zeroCopy: true }));
pubsubSafetyConformance('memory, zero-copy', memoryContext({ zeroCopy: true }));
pubsubConformance('memory, zero-copy unfrozen', memoryContext({ zeroCopy: true, freeze: false }));

type Channels = Record<string, { tags: string[]; at?: Map<string, number> }>;

/** Two nodes on one hub, each with a handler on `channel` that records what it got. */
async function twoNodes(options: MemoryPubSubOptions): Promise<{ a: PubSub<Channels>; b: PubSub<Channels>; channel: string; seen: { a: unknown[]; b: unknown[] }; close: () => Promise<void> }> {
  const hub = createMemoryHub();
  const a = createPubSub<Channels>({ adapter: memoryPubSub({ hub, ...options }) });
  const b = createPubSub<Channels>({ adapter: memoryPubSub({ hub, ...options }) });
  const channel = `${randomId('zc')}:room`;
  const seen = { a: [] as unknown[], b: [] as unknown[] };
  await a.subscribe(channel, (m) => void seen.a.push(m));
  await b.subscribe(channel, (m) => void seen.b.push(m));
  return { a, b, channel, seen, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

describe('memory pubsub, zero-copy mode', () => {
  it("hands this node's and other nodes' handlers the sender's own object", async () => {
    const { a, channel, seen, close } = await twoNodes({ zeroCopy: true, freeze: false });
    const payload = { tags: ['x'] };
    expect(await a.broadcast(channel, payload)).toBe(2);
    expect(seen.a[0]).toBe(payload);
    expect(seen.b[0]).toBe(payload);
    await close();
  });

  it('freezes the envelope and payload by default outside production, so a mutating handler throws and is reported', async () => {
    expect(process.env.NODE_ENV).not.toBe('production');
    const errors: string[] = [];
    const pubsub = createPubSub<Channels>({ adapter: memoryPubSub({ zeroCopy: true }), onError: (event) => void errors.push(event.kind) });
    const channel = `${randomId('zc')}:room`;
    const outcome: string[] = [];
    await pubsub.subscribe(channel, (m, meta) => {
      outcome.push(Object.isFrozen(meta.envelope) && Object.isFrozen(meta.envelope.headers) ? 'frozen' : 'open');
      m.tags.push('mutated');
    });
    const payload = { tags: ['x'] };
    expect(await pubsub.broadcast(channel, payload)).toBe(1);
    expect(outcome).toEqual(['frozen']);
    expect(errors).toEqual(['handler']);
    expect(Object.isFrozen(payload)).toBe(true);
    expect(payload.tags).toEqual(['x']);
    await pubsub.close();
  });

  it('leaves objects unfrozen with freeze: false', async () => {
    const pubsub = createPubSub<Channels>({ adapter: memoryPubSub({ zeroCopy: true, freeze: false }) });
    const channel = `${randomId('zc')}:room`;
    await pubsub.subscribe(channel, (m) => void m.tags.push('seen'));
    const payload = { tags: ['x'] };
    await pubsub.broadcast(channel, payload);
    expect(Object.isFrozen(payload)).toBe(false);
    // Unsafe to mutate, as documented: the sender sees what the handler did.
    expect(payload.tags).toEqual(['x', 'seen']);
    await pubsub.close();
  });

  it('carries what JSON cannot (a Map arrives as the same Map)', async () => {
    const { a, channel, seen, close } = await twoNodes({ zeroCopy: true, freeze: false });
    const at = new Map([['k', 1]]);
    expect(await a.broadcast(channel, { tags: [], at })).toBe(2);
    expect((seen.b[0] as { at: Map<string, number> }).at).toBe(at);
    await close();
  });
});

describe('memory pubsub, default mode', () => {
  it('hands every node an independent copy, equal to what was sent, never the sender\'s object', async () => {
    const { a, channel, seen, close } = await twoNodes({});
    const payload = { tags: ['x'] };
    expect(await a.broadcast(channel, payload)).toBe(2);
    expect(seen.a[0]).toEqual(payload);
    expect(seen.b[0]).toEqual(payload);
    expect(seen.a[0]).not.toBe(payload);
    expect(seen.b[0]).not.toBe(payload);
    expect(seen.a[0]).not.toBe(seen.b[0]);
    (seen.a[0] as { tags: string[] }).tags.push('mutated');
    expect(payload.tags).toEqual(['x']);
    expect(Object.isFrozen(payload)).toBe(false);
    await close();
  });

  it('refuses what JSON cannot carry, and a header that is not a string, before anything is delivered', async () => {
    const { a, channel, seen, close } = await twoNodes({});
    await expect(a.broadcast(channel, { tags: [], at: new Map([['k', 1]]) })).rejects.toBeInstanceOf(SerializationError);
    await expect(a.broadcast(channel, { tags: [] }, { headers: { n: 1 as unknown as string } })).rejects.toBeInstanceOf(SerializationError);
    expect(seen).toEqual({ a: [], b: [] });
    await close();
  });

  it('gives local handlers what a JSON round trip gives (dates as text, undefined properties dropped)', async () => {
    const pubsub = createPubSub();
    const channel = `${randomId('zc')}:room`;
    const got: unknown[] = [];
    await pubsub.subscribe(channel, (m) => void got.push(m));
    const when = new Date('2026-01-02T03:04:05.000Z');
    await pubsub.broadcast(channel, { when, gone: undefined, list: [1, 'a', null] });
    expect(got).toEqual([{ when: '2026-01-02T03:04:05.000Z', list: [1, 'a', null] }]);
    expect(Object.keys(got[0] as object)).toEqual(['when', 'list']);
    await pubsub.close();
  });
});
