/**
 * The Redis journey store against the shared store suite on the real Redis (a random key prefix,
 * every key deleted after), and what only it promises: bounds kept inside Redis, a TTL on every
 * key, reads that meet their deadline when Redis stalls or is down, and a record that never waits.
 */
import net from 'node:net';
import { REDIS_URL, startTcpProxy, waitFor } from '@events/testing';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { redisJourneyStore } from '../src/journey/redis.js';
import { redisJourneyFixture } from './journey-redis-fixture.js';
import { journeyStoreSuite, signupSteps } from './journey-suite.js';

const admin = new Redis(REDIS_URL);
/** Connection errors the stores reported (a stalled or refused Redis makes some). */
const errors: Error[] = [];

async function keysOf(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:{journey}:*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

const fixture = redisJourneyFixture({ admin, keysOf, deleteBatch: 500, connection: { url: REDIS_URL } });

journeyStoreSuite('redis', fixture.make);

it('redis: every key has a TTL, and an evicted journey takes its list and index entries with it', async () => {
  const prefix = fixture.prefix();
  const store = await redisJourneyStore({ url: REDIS_URL, prefix, maxJourneys: 2, ttlMs: 60_000, flushEveryMs: 5 });
  for (const id of ['a', 'b', 'c']) {
    for (const step of signupSteps(id, `${id}@x.io`)) store.record(step);
    await store.flush();
  }
  const keys = await keysOf(prefix);
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) {
    const ttl = await admin.pttl(key);
    expect(ttl, key).toBeGreaterThan(0);
    expect(ttl, key).toBeLessThanOrEqual(60_000);
  }
  expect(keys.filter((k) => k.includes(':j:') || k.includes(':x:') || k.includes('a@x.io') || k.includes('a-evt'))).toEqual(
    expect.not.arrayContaining([`${prefix}:{journey}:j:a`, `${prefix}:{journey}:x:a`, `${prefix}:{journey}:i:a@x.io`, `${prefix}:{journey}:i:a-evt`]),
  );
  expect(await store.search('a@x.io')).toEqual([]);
  expect((await store.search('c@x.io')).map((s) => s.correlationId)).toEqual(['c']);
  expect(store.stats()).toMatchObject({ evicted: 1, dropped: 0 });
  await store.close();
});

/** A proxy that can hold Redis's answers back (a Redis that accepts and never answers) and let them go. */
async function stallingProxy(target: string): Promise<{ url: string; stall(): void; release(): void; close(): Promise<void> }> {
  const to = new URL(target);
  let stalled = false;
  const held: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port || 6379), to.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => (stalled ? held.push(() => client.write(d)) : client.write(d)));
    for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stall: () => void (stalled = true),
    release: () => {
      stalled = false;
      for (const send of held.splice(0)) send();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

it('redis: a stalled Redis fails reads within their deadline, and record neither waits nor grows past its buffer', async () => {
  const prefix = fixture.prefix();
  const proxy = await stallingProxy(REDIS_URL);
  const store = await redisJourneyStore({ url: proxy.url, prefix, readTimeoutMs: 300, writeTimeoutMs: 300, maxBuffered: 50, flushEveryMs: 5, onError: (e) => errors.push(e.error) });
  try {
    for (const step of signupSteps('s', 's@x.io')) store.record(step);
    await store.flush();
    expect((await store.search('s@x.io')).map((s) => s.correlationId)).toEqual(['s']);
    proxy.stall();
    const started = Date.now();
    await expect(store.search('s@x.io')).rejects.toThrow(/searching journeys/);
    await expect(store.get('s')).rejects.toThrow(/reading a journey/);
    // Two reads of 300 ms each; generous for a loaded machine, far below "hangs".
    expect(Date.now() - started).toBeLessThan(2000);
    const steps = Array.from({ length: 1000 }, (_, i) => ({ ...signupSteps(`r${i}`, 'r@x.io')[0]! }));
    const recordStart = performance.now();
    // Synchronous (nothing to await) and cheap while Redis stalls; a loose bound on a loaded machine.
    for (const step of steps) expect(store.record(step)).toBeUndefined();
    expect(performance.now() - recordStart).toBeLessThan(500);
    expect(store.stats().pending).toBeLessThanOrEqual(50);
    await waitFor(() => store.stats().dropped >= 950, 5000, 'steps past the buffer dropped and counted');
    proxy.release();
  } finally {
    await store.close({ timeoutMs: 1000 });
    await proxy.close();
  }
});

it('redis: a Redis that is down fails reads within their deadline (TCP proxy refusing), and the store recovers after', async () => {
  const prefix = fixture.prefix();
  const proxy = await startTcpProxy(REDIS_URL);
  const store = await redisJourneyStore({ url: proxy.url, prefix, readTimeoutMs: 500, writeTimeoutMs: 500, flushEveryMs: 5, onError: (e) => errors.push(e.error) });
  try {
    for (const step of signupSteps('d', 'd@x.io')) store.record(step);
    await store.flush();
    proxy.refuse();
    proxy.cut();
    const started = Date.now();
    await expect(store.search('d@x.io')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    proxy.resume();
    await waitFor(async () => (await store.search('d@x.io').catch(() => [])).length === 1, 10_000, 'reads again after Redis is back');
  } finally {
    await store.close({ timeoutMs: 1000 });
    await proxy.close();
  }
});
