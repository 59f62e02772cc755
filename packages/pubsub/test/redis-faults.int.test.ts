/**
 * Fault tests: the subscriber's Redis connection is cut mid-stream (TCP proxy) several times while
 * another node keeps publishing. Subscribers come back alone; what was sent during a cut is lost
 * and announced (resubscribed with the outage window, gap with the missing count); Redis never
 * holds duplicate subscriptions afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { GapEvent, ResubscribedEvent } from '../src/index.js';
import { redisContext, subscriberConnections } from './redis-context.js';
import { REDIS_URL, randomId, waitFor } from '@events/testing';

describe('redis faults', () => {
  let ctx: ReturnType<typeof redisContext>;
  let admin: Redis;
  beforeEach(() => {
    ctx = redisContext();
    admin = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    await ctx.cleanup();
    admin.disconnect();
  });

  it('survives repeated cuts mid-stream: resubscribes alone, announces losses, no duplicate subscriptions', async () => {
    const ns = randomId('fault');
    const ch = `${ns}:stream`;
    const errors: Error[] = [];
    const publisher = await ctx.node();
    const subscriber = await ctx.node({ name: ns, onError: (e) => void errors.push(e.error) });
    const viaChannel: number[] = [];
    const viaPattern: number[] = [];
    const gaps: GapEvent[] = [];
    const resubs: ResubscribedEvent[] = [];
    subscriber.on('gap', (g) => void gaps.push(g));
    subscriber.on('resubscribed', (e) => void resubs.push(e));
    await subscriber.subscribe(ch, (m) => void viaChannel.push(m as number));
    await subscriber.subscribe(ch, () => undefined); // a second handler must not mean a second SUBSCRIBE
    await subscriber.subscribe(`${ns}:*`, (m) => void viaPattern.push(m as number));

    let sent = 0;
    let running = true;
    const stream = (async () => {
      while (running) {
        await publisher.broadcast(ch, (sent += 1));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    const cuts = 3;
    for (let i = 1; i <= cuts; i += 1) {
      // Both subscriptions (channel and pattern) must have heard the stream since the last cut,
      // else the losses of two cuts would merge into one gap for the one that did not.
      const flowing = (r: number[]): boolean => r.length > 0 && r.at(-1)! >= sent - 1;
      await waitFor(() => flowing(viaChannel) && flowing(viaPattern), 10_000, 'the stream to flow');
      await ctx.cut(subscriber);
      // Sent for certain while the subscriber is away: lost for it.
      const lostFrom = sent + 1;
      await waitFor(() => sent >= lostFrom + 4, 10_000, 'messages during the cut');
      await ctx.restore(subscriber);
      await waitFor(() => resubs.length === i, 10_000, `resubscription #${i}`);
      await waitFor(() => viaChannel.at(-1)! > lostFrom + 4 && viaPattern.at(-1)! > lostFrom + 4, 10_000, 'the stream after the cut');
      // Exactly one subscriber connection, one SUBSCRIBE and one PSUBSCRIBE: no leftovers of old connections.
      expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 1, psub: 1 })]);
      expect(await admin.call('PUBSUB', 'NUMSUB', `events:${ch}`)).toEqual([`events:${ch}`, 1]);
    }
    running = false;
    await stream;
    await waitFor(() => viaChannel.at(-1) === sent && viaPattern.at(-1) === sent, 10_000, 'the tail of the stream');

    for (const received of [viaChannel, viaPattern]) {
      // In order, no duplicates, and something was lost at each cut.
      expect(received).toEqual([...received].sort((x, y) => x - y));
      expect(new Set(received).size).toBe(received.length);
      expect(received.length).toBeLessThanOrEqual(sent - cuts * 4);
    }
    for (const [topic, received] of [
      [ch, viaChannel],
      [`${ns}:*`, viaPattern],
    ] as const) {
      const mine = gaps.filter((g) => g.topic === topic);
      expect(mine.length).toBe(cuts);
      // Every message not received between the first and the last one is announced by a gap.
      const span = received.at(-1)! - received[0]! + 1;
      expect(mine.reduce((n, g) => n + g.missing, 0)).toBe(span - received.length);
      for (const g of mine) expect(g).toMatchObject({ channel: ch, node: publisher.nodeId, missing: g.received - g.expected });
    }
    expect(resubs).toHaveLength(cuts);
    for (const r of resubs) expect(r.upAt.getTime()).toBeGreaterThanOrEqual(r.downAt.getTime());
    expect(errors).toEqual([]);
  });

  it('a subscribe made while cut completes after the reconnect, once', async () => {
    const ns = randomId('fault');
    const subscriber = await ctx.node({ name: ns });
    const publisher = await ctx.node();
    await subscriber.subscribe(`${ns}:before`, () => undefined);
    await ctx.cut(subscriber);
    const got: unknown[] = [];
    const pending = subscriber.subscribe(`${ns}:during`, (m) => void got.push(m));
    await ctx.restore(subscriber);
    await pending;
    expect(await publisher.broadcast(`${ns}:during`, 'late')).toBe(1);
    await waitFor(() => got.length === 1);
    expect(await subscriberConnections(admin, ns)).toEqual([expect.objectContaining({ sub: 2, psub: 0 })]);
  });
});
