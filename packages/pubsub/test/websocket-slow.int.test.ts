/**
 * Slow clients: a client stops reading (its socket is paused), the server keeps broadcasting.
 * Every assertion is on buffer counts and bytes, never on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../src/websocket/index.js';
import type { BufferPolicy } from '../src/websocket/protocol.js';
import { type GatewayFixture, RawClient, startGateway } from './websocket-helpers.js';
import { randomId, waitFor } from '@events/testing';

const buffer = { maxMessages: 50, maxBytes: 256 * 1024, highWaterBytes: 64 * 1024 };
const big = 'x'.repeat(8 * 1024);

describe('slow websocket clients', () => {
  let fx: GatewayFixture;
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.ws.terminate();
    await fx.close();
  });

  async function subscribed(topic: string, policy?: BufferPolicy, key?: string): Promise<RawClient> {
    const c = new RawClient(fx.url);
    raws.push(c);
    await c.opened;
    c.send({ type: 'subscribe', id: 1, topic, ...(policy ? { policy } : {}), ...(key ? { key } : {}) });
    await waitFor(() => c.of('subscribed').length === 1);
    return c;
  }

  /** Broadcasts until `done` holds (the kernel's socket buffers absorb an unknown amount first). */
  async function flood(channel: string, done: () => boolean, options: { payload?: (i: number) => unknown; yieldEvery?: number } = {}): Promise<number> {
    const payload = options.payload ?? ((i: number) => ({ i, big }));
    let i = 0;
    while (!done()) {
      i += 1;
      await fx.pubsub.broadcast(channel, payload(i));
      if (i > 20_000) throw new Error('the buffer policy never engaged');
      // Let the sockets write (and report their callbacks) now and then.
      if (i % (options.yieldEvery ?? 50) === 0) await new Promise((r) => setImmediate(r));
    }
    return i;
  }

  /** Once a marker broadcast after everything else arrives, the client has read all it will get. */
  async function settled(c: RawClient, ch: string, marker: unknown): Promise<void> {
    await fx.pubsub.broadcast(ch, marker);
    await waitFor(() => JSON.stringify(c.of('message').at(-1)?.data) === JSON.stringify(marker), 20_000, 'the marker');
  }

  it('disconnect policy: the stuck client is closed with 4001, memory stays bounded, the fast client gets everything', async () => {
    fx = await startGateway({ buffer, closeTimeoutMs: 60_000 });
    const ch = `${randomId('slow')}:feed`;
    const slow = await subscribed(ch, 'disconnect');
    const fast = await subscribed(ch, 'drop-newest');
    slow.pause();
    let peak = 0;
    const sent = await flood(ch, () => {
      for (const s of fx.gateway.clients()) {
        peak = Math.max(peak, s.queuedBytes);
        expect(s.queuedBytes).toBeLessThanOrEqual(buffer.maxBytes);
        expect(s.queuedMessages).toBeLessThanOrEqual(buffer.maxMessages);
      }
      return fx.gateway.clients().length === 1;
      // The fast client reads in this same process: yield after every message so it can.
    }, { yieldEvery: 1 });
    expect(peak).toBeGreaterThan(0);
    expect(fx.gateway.clients()[0]!.droppedTotal).toBe(0);
    await waitFor(() => fast.of('message').length === sent, 20_000, 'the fast client to get every message');
    slow.resume();
    await waitFor(() => slow.closed !== undefined, 20_000, 'the close frame');
    expect(slow.closed).toEqual({ code: CLOSE_CODES.SLOW_CONSUMER, reason: 'slow consumer: send buffer full' });
  });

  it('drop-oldest keeps the newest messages and says how many were dropped', async () => {
    fx = await startGateway({ buffer });
    const ch = `${randomId('slow')}:feed`;
    const slow = await subscribed(ch, 'drop-oldest');
    slow.pause();
    const sent = await flood(ch, () => (fx.gateway.clients()[0]?.droppedTotal ?? 0) > 100);
    const stats = fx.gateway.clients()[0]!;
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(buffer.maxBytes);
    expect(stats.queuedMessages).toBeLessThanOrEqual(buffer.maxMessages);
    expect(stats.inflightBytes).toBeLessThanOrEqual(buffer.highWaterBytes + 16 * 1024);
    slow.resume();
    await waitFor(() => (slow.of('message').at(-1)?.data as { i: number } | undefined)?.i === sent, 20_000, 'the newest message');
    const dropped = slow.of('dropped').reduce((n, d) => n + d.count, 0);
    expect(dropped).toBe(stats.droppedTotal);
    expect(slow.of('message').length + dropped).toBe(sent);
    expect(slow.closed).toBeUndefined();
  });

  it('drop-newest keeps what was queued first and drops the rest', async () => {
    fx = await startGateway({ buffer });
    const ch = `${randomId('slow')}:feed`;
    const slow = await subscribed(ch, 'drop-newest');
    slow.pause();
    const sent = await flood(ch, () => (fx.gateway.clients()[0]?.droppedTotal ?? 0) > 100);
    const stats = fx.gateway.clients()[0]!;
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(buffer.maxBytes);
    slow.resume();
    await settled(slow, ch, { i: 'after' });
    // The last one sent was dropped: the oldest are kept.
    const received = slow.of('message').map((m) => (m.data as { i: unknown }).i);
    expect(received).not.toContain(sent);
    expect(received.length - 1 + stats.droppedTotal).toBe(sent);
  });

  it('conflate keeps only the latest value per key', async () => {
    fx = await startGateway({ buffer });
    const ch = `${randomId('slow')}:prices`;
    const slow = await subscribed(ch, 'conflate', 'symbol');
    slow.pause();
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];
    const last = new Map<string, number>();
    await flood(ch, () => (fx.gateway.clients()[0]?.conflatedTotal ?? 0) > 500, {
      payload: (i) => {
        const symbol = symbols[i % symbols.length]!;
        last.set(symbol, i);
        return { symbol, price: i, big };
      },
    });
    const stats = fx.gateway.clients()[0]!;
    // At most one queued message per key, whatever was sent.
    expect(stats.queuedMessages).toBeLessThanOrEqual(symbols.length);
    expect(stats.droppedTotal).toBe(0);
    slow.resume();
    await settled(slow, ch, { symbol: 'END', price: 0 });
    const final = new Map<string, number>();
    for (const m of slow.of('message').slice(0, -1)) {
      const d = m.data as { symbol: string; price: number };
      final.set(d.symbol, d.price);
    }
    expect(final).toEqual(last);
  });
});
