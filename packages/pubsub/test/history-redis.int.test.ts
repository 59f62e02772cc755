import { Redis } from 'ioredis';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, randomId, startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { historyKeys } from '../src/adapters/redis-history.js';
import { EMPTY_HISTORY_EPOCH, clusterSlot } from '@events/core';
import { historyConformance, type HistoryContext } from './history-conformance.js';

/** Real Redis; every node has its own connections through its own cuttable proxy, as a process would. */
export function redisHistoryContext(options: { sharded?: boolean } = {}): HistoryContext {
  const nodes = new Map<PubSub, { proxy: TcpProxy; downs: number }>();
  let raw: Redis | undefined;
  return {
    async forge(channel, data, position) {
      raw ??= new Redis(REDIS_URL);
      const framed = Buffer.concat([Buffer.from(`\0h${position.offset}:${position.epoch}\n`, 'latin1'), data]);
      await (options.sharded ? raw.spublish(channel, framed) : raw.publish(channel, framed));
    },
    globs: options.sharded !== true,
    async node(settings) {
      const proxy = await startTcpProxy(REDIS_URL);
      const pubsub = createPubSub({
        adapter: redisPubSub({ url: proxy.url, sharded: options.sharded ?? false, redisOptions: { retryStrategy: () => 20 } }),
        ...settings,
      });
      await pubsub.start();
      const entry = { proxy, downs: 0 };
      pubsub.on('down', () => void (entry.downs += 1));
      nodes.set(pubsub, entry);
      return pubsub;
    },
    async cut(node) {
      const entry = nodes.get(node)!;
      const before = entry.downs;
      entry.proxy.refuse();
      entry.proxy.cut();
      await waitFor(() => entry.downs > before, 10_000, 'the node to notice the cut');
    },
    async restore(node) {
      nodes.get(node)!.proxy.resume();
    },
    async cleanup() {
      await Promise.all([...nodes.keys()].map((n) => n.close({ timeoutMs: 1000 })));
      await Promise.all([...nodes.values()].map((n) => n.proxy.close()));
      raw?.disconnect();
    },
  };
}

historyConformance('redis', async () => redisHistoryContext());
historyConformance('redis, sharded pub/sub', async () => redisHistoryContext({ sharded: true }));

describe('pubsub history: Redis keys', () => {
  const ctx = redisHistoryContext();
  let raw: Redis | undefined;
  afterEach(async () => {
    await ctx.cleanup();
    raw?.disconnect();
  });

  it('keeps a trimmed stream and its meta in the channel slot with the ttl refreshed, and starts a new epoch when the stream vanished', async () => {
    const ns = randomId('histkeys');
    raw = new Redis(REDIS_URL);
    const a = await ctx.node({ namespace: ns, history: { 'room:*': { size: 10, ttlMs: 60_000 } } });
    for (let n = 1; n <= 500; n++) await a.broadcast('room:1', { n });
    const [stream, meta] = historyKeys(`${ns}:room:1`, true);
    expect(stream).toBe(`_pubsub:history:{${ns}:room:1}`);
    expect(clusterSlot(stream)).toBe(clusterSlot(`${ns}:room:1`));
    // MAXLEN ~ trims whole stream nodes (100 entries by default): at least 10 kept, far fewer than 500.
    const length = await raw.xlen(stream);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(250);
    const ttl = await raw.pttl(stream);
    expect(ttl).toBeGreaterThan(50_000);
    expect(await raw.pttl(meta)).toBeGreaterThan(50_000);
    const before = await raw.hgetall(meta);
    expect(before.o).toBe('500');
    const probe = await a.subscribe('room:1', () => undefined);
    expect(probe.position).toEqual({ offset: 500, epoch: before.e });
    await probe.close();
    // The stream is lost (evicted, say) while its meta stays: the history is gone, so is the epoch.
    await raw.del(stream);
    const resumed = await a.subscribe('room:1', () => undefined, { since: { offset: 490, epoch: before.e! } });
    expect(resumed.recovery).toMatchObject({ recovered: false, reason: 'epoch-changed', replayed: 0 });
    expect(resumed.position).toEqual({ offset: 0, epoch: EMPTY_HISTORY_EPOCH });
    await a.broadcast('room:1', { n: 1 });
    expect(await raw.hget(meta, 'o')).toBe('1');
    expect(await raw.hget(meta, 'e')).not.toBe(before.e);
    await raw.del(stream, meta);
  });

  it('never writes a key when reading: subscribing to channels nobody publishes on creates nothing', async () => {
    const ns = randomId('histread');
    raw = new Redis(REDIS_URL);
    const a = await ctx.node({ namespace: ns, history: { 'room:*': { size: 10, ttlMs: 60_000 } } });
    for (let i = 0; i < 20; i++) {
      const sub = await a.subscribe(`room:invented-${i}`, () => undefined, { since: { offset: i, epoch: 'AbCdEfGh' } });
      expect(sub.recovery).toMatchObject({ recovered: false, reason: 'epoch-changed' });
      await sub.close();
    }
    const fresh = await a.subscribe('room:fresh', () => undefined);
    expect(fresh.position).toEqual({ offset: 0, epoch: EMPTY_HISTORY_EPOCH });
    await fresh.close();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await raw.scan(cursor, 'MATCH', `_pubsub:history*${ns}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    expect(keys).toEqual([]);
  });
});
