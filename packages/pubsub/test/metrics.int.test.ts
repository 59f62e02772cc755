/**
 * Pubsub's metrics with a MeterProvider registered (in-memory exporter): broadcasts sent (and
 * failed, with error.type), subscribers reached (summed), handler deliveries, gaps (a publisher's
 * sequence jump on Redis, a transport outage), and per websocket gateway: clients connected,
 * messages dropped per slow-consumer policy, frames dropped, conflations.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import type { PubSubAdapter } from '@events/core';
import { inMemoryMetrics, metricNamed, randomId, REDIS_URL, waitFor } from '@events/testing';
import { Redis } from 'ioredis';
import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import type { BufferPolicy } from '../src/websocket/protocol.js';
import { redisContext } from './redis-context.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';

const metrics = inMemoryMetrics();
beforeAll(metrics.install);
afterAll(metrics.uninstall);

type Attrs = Record<string, unknown>;

/** Sum of a counter's points (or a histogram's sums) whose attributes include `match`. */
function sumOf(collected: readonly MetricData[], name: string, match: Attrs = {}): number {
  const found = metricNamed(collected, name);
  if (!found) return 0;
  let sum = 0;
  for (const point of found.points as ReadonlyArray<DataPoint<unknown>>) {
    if (!Object.entries(match).every(([k, v]) => point.attributes[k] === v)) continue;
    const value = point.value;
    sum += typeof value === 'number' ? value : (value as { sum?: number }).sum ?? 0;
  }
  return sum;
}

/** Runs `work` and returns what it added to the metric (cumulative temporality: after - before). */
async function delta(read: (c: readonly MetricData[]) => number, work: () => Promise<void>): Promise<number> {
  const before = read(await metrics.collect());
  await work();
  return read(await metrics.collect()) - before;
}

describe('pubsub metrics', () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  it('a broadcast counts as sent, the subscribers it reached add up, and every handler call counts as consumed', async () => {
    const hub = createMemoryHub();
    const a = createPubSub({ adapter: memoryPubSub({ hub }) });
    const b = createPubSub({ adapter: memoryPubSub({ hub }) });
    closing.push(() => a.close(), () => b.close());
    const ch = `${randomId('m')}:feed`;
    let handled = 0;
    await a.subscribe(ch, () => void (handled += 1));
    await a.subscribe(ch, () => void (handled += 1));
    await b.subscribe(ch, () => void (handled += 1));
    const memory = { 'messaging.system': 'memory', 'events.tier': 'pubsub' };
    const before = await metrics.collect();
    for (let i = 0; i < 3; i += 1) expect(await a.broadcast(ch, i)).toBe(3);
    await waitFor(() => handled === 9);
    const after = await metrics.collect();
    const added = (name: string, match: Attrs) => sumOf(after, name, match) - sumOf(before, name, match);
    expect(added('messaging.client.sent.messages', { ...memory, 'messaging.operation.name': 'broadcast' })).toBe(3);
    expect(added('events.pubsub.receivers', memory)).toBe(9);
    expect(added('messaging.client.consumed.messages', { ...memory, 'messaging.operation.name': 'handle' })).toBe(9);
    const sent = metricNamed(after, 'messaging.client.sent.messages')!;
    expect(sent.metric.descriptor.unit).toBe('{message}');
  });

  it('a broadcast the adapter refuses counts as sent with its error.type', async () => {
    const adapter: PubSubAdapter = {
      kind: 'refusing',
      start: () => Promise.resolve(),
      publish: () => Promise.reject(new TypeError('transport refused')),
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const pubsub = createPubSub({ adapter, onError: () => undefined });
    closing.push(() => pubsub.close());
    const added = await delta(
      (c) => sumOf(c, 'messaging.client.sent.messages', { 'messaging.system': 'refusing', 'error.type': 'TypeError' }),
      async () => void (await pubsub.broadcast(`${randomId('m')}:x`, 1)),
    );
    expect(added).toBe(1);
  });

  it('gaps: a publisher sequence that jumps (on Redis), and a transport outage', async () => {
    const ctx = redisContext();
    const namespace = randomId('gaps');
    closing.push(() => ctx.cleanup());
    const node: PubSub = await ctx.node({ namespace, onError: () => undefined });
    const ch = `${randomId('m')}:seq`;
    let got = 0;
    await node.subscribe(ch, () => void (got += 1));
    const raw = new Redis(REDIS_URL);
    closing.push(async () => void raw.disconnect());
    const send = (seq: number) =>
      raw.publish(`${namespace}:${ch}`, JSON.stringify({ id: randomId('e'), name: ch, payload: seq, occurredAt: new Date().toISOString(), headers: { 'pubsub-node': 'elsewhere', 'pubsub-seq': String(seq) } }));
    const sequence = await delta(
      (c) => sumOf(c, 'events.pubsub.gaps', { 'events.pubsub.gap.reason': 'sequence' }),
      async () => {
        await send(1);
        await send(4);
        await waitFor(() => got === 2);
      },
    );
    expect(sequence).toBe(1);
    const outage = await delta(
      (c) => sumOf(c, 'events.pubsub.gaps', { 'events.pubsub.gap.reason': 'outage' }),
      async () => {
        const resubscribed = new Promise<void>((resolve) => node.on('resubscribed', () => resolve()));
        await ctx.cut(node);
        await ctx.restore(node);
        await resubscribed;
      },
    );
    expect(outage).toBe(1);
  });

  it('gaps: a resume that history could not fill counts once per resume (no history kept, too old)', async () => {
    const ch = `${randomId('m')}:resume`;
    const pubsub = createPubSub({ adapter: memoryPubSub(), history: { [ch]: { size: 2, ttlMs: 60_000 } }, onError: () => undefined });
    closing.push(() => pubsub.close());
    const unrecovered = (c: readonly MetricData[]) => sumOf(c, 'events.pubsub.gaps', { 'events.pubsub.gap.reason': 'unrecovered' });
    const events: Array<{ recovered: boolean; reason?: string }> = [];
    const onRecovery = (e: { recovered: boolean; reason?: string }) => void events.push(e);
    const counted = await delta(unrecovered, async () => {
      // A resume on a channel that keeps no history.
      await pubsub.subscribe(`${randomId('m')}:plain`, () => undefined, { since: { offset: 1, epoch: 'e' }, onRecovery });
      // A resume from offset 1 after 5 messages, 2 kept: too old.
      const first = await pubsub.subscribe(ch, () => undefined);
      const since = first.position!;
      await first.close();
      for (let i = 0; i < 5; i += 1) await pubsub.broadcast(ch, i);
      await pubsub.subscribe(ch, () => undefined, { since, onRecovery });
      // A resume that history fills is no gap.
      const near = await pubsub.subscribe(ch, () => undefined);
      const at = near.position!;
      await near.close();
      await pubsub.broadcast(ch, 5);
      await pubsub.subscribe(ch, () => undefined, { since: at, onRecovery });
    });
    expect(events.map((e) => [e.recovered, e.reason])).toEqual([[false, 'no-history'], [false, 'too-old'], [true, undefined]]);
    expect(counted).toBe(2);
  });
});

describe('websocket gateway metrics', () => {
  let fx: GatewayFixture | undefined;
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.ws.terminate();
    await fx?.close();
    fx = undefined;
  });

  const buffer = { maxMessages: 50, maxBytes: 256 * 1024, highWaterBytes: 64 * 1024 };
  const big = 'x'.repeat(8 * 1024);

  async function subscribed(topic: string, policy: BufferPolicy, key?: string): Promise<RawClient> {
    const c = new RawClient(fx!.url);
    raws.push(c);
    await c.opened;
    c.send({ type: 'subscribe', id: 1, topic, policy, ...(key ? { key } : {}) });
    await waitFor(() => c.of('subscribed').length === 1);
    return c;
  }

  async function flood(channel: string, done: () => boolean, payload: (i: number) => unknown = (i) => ({ i, big })): Promise<number> {
    let i = 0;
    while (!done()) {
      i += 1;
      await fx!.pubsub.broadcast(channel, payload(i));
      if (i > 20_000) throw new Error('the buffer policy never engaged');
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    return i;
  }

  const clientsNow = async (): Promise<number> => sumOf(await metrics.collect(), 'events.websocket.clients');

  it('clients connected: up with each client, down as they leave, zero once the gateway closed', async () => {
    const base = await clientsNow();
    fx = await startGateway();
    const one = new RawClient(fx.url);
    const two = new RawClient(fx.url);
    raws.push(one, two);
    await Promise.all([one.opened, two.opened]);
    await waitFor(() => fx!.gateway.clients().length === 2);
    expect(await clientsNow()).toBe(base + 2);
    two.ws.close();
    await waitFor(() => fx!.gateway.clients().length === 1);
    expect(await clientsNow()).toBe(base + 1);
    await fx.close();
    fx = undefined;
    expect(await clientsNow()).toBe(base);
  });

  it.each(['drop-oldest', 'drop-newest'] as const)('%s: every message the buffer dropped counts under its policy, and as a frame dropped', async (policy) => {
    fx = await startGateway({ buffer });
    const ch = `${randomId('slow')}:feed`;
    const before = await metrics.collect();
    const slow = await subscribed(ch, policy);
    slow.pause();
    await flood(ch, () => (fx!.gateway.clients()[0]?.droppedTotal ?? 0) > 100);
    const droppedTotal = fx.gateway.clients()[0]!.droppedTotal;
    // Counted as they happen: the client, still paused, has not been told of any yet.
    const during = await metrics.collect();
    expect(slow.of('dropped')).toEqual([]);
    expect(sumOf(during, 'events.pubsub.drops', { 'events.pubsub.policy': policy }) - sumOf(before, 'events.pubsub.drops', { 'events.pubsub.policy': policy })).toBe(droppedTotal);
    slow.resume();
    // The client is told before its next message; telling it counts nothing more.
    await fx.pubsub.broadcast(ch, { i: 'after' });
    await waitFor(() => (slow.of('message').at(-1)?.data as { i: unknown } | undefined)?.i === 'after', 20_000, 'the marker');
    const told = slow.of('dropped').reduce((n, d) => n + d.count, 0);
    expect(told).toBe(droppedTotal);
    const after = await metrics.collect();
    const added = (name: string, match: Attrs) => sumOf(after, name, match) - sumOf(before, name, match);
    expect(added('events.pubsub.drops', { 'events.pubsub.policy': policy })).toBe(droppedTotal);
    expect(added('events.websocket.frames_dropped', {})).toBe(droppedTotal);
  });

  it('drops not yet told to a client count, and once, when it leaves; a disconnect-policy client counts the frame that closed it', async () => {
    fx = await startGateway({ buffer, closeTimeoutMs: 1000 });
    const ch = `${randomId('slow')}:feed`;
    const before = await metrics.collect();
    const quiet = await subscribed(ch, 'drop-newest');
    quiet.pause();
    await flood(ch, () => (fx!.gateway.clients()[0]?.droppedTotal ?? 0) > 20);
    const droppedTotal = fx.gateway.clients()[0]!.droppedTotal;
    quiet.ws.terminate();
    await waitFor(() => fx!.gateway.clients().length === 0);
    const cut = await subscribed(ch, 'disconnect');
    cut.pause();
    await flood(ch, () => fx!.gateway.clients().length === 0);
    const after = await metrics.collect();
    const added = (name: string, match: Attrs) => sumOf(after, name, match) - sumOf(before, name, match);
    expect(added('events.pubsub.drops', { 'events.pubsub.policy': 'drop-newest' })).toBe(droppedTotal);
    expect(added('events.pubsub.drops', { 'events.pubsub.policy': 'disconnect' })).toBe(1);
    expect(added('events.websocket.frames_dropped', {})).toBe(droppedTotal + 1);
  });

  it('conflate: messages replaced by a newer one are counted, also after the client left', async () => {
    fx = await startGateway({ buffer });
    const ch = `${randomId('slow')}:prices`;
    const before = await metrics.collect();
    const slow = await subscribed(ch, 'conflate', 'symbol');
    slow.pause();
    const symbols = ['AAA', 'BBB', 'CCC'];
    await flood(ch, () => (fx!.gateway.clients()[0]?.conflatedTotal ?? 0) > 200, (i) => ({ symbol: symbols[i % symbols.length], price: i, big }));
    const conflated = fx.gateway.clients()[0]!.conflatedTotal;
    const conflations = (c: readonly MetricData[]) => sumOf(c, 'events.pubsub.conflations', { 'events.pubsub.policy': 'conflate' });
    expect(conflations(await metrics.collect()) - conflations(before)).toBe(conflated);
    slow.ws.terminate();
    await waitFor(() => fx!.gateway.clients().length === 0);
    expect(conflations(await metrics.collect()) - conflations(before)).toBe(conflated);
  });
});
