import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { REDIS_URL, delay, randomId, startTcpProxy, waitFor } from '@events/testing';
import { SHARD_READY_TIMEOUT_MS, ShardSubscribers } from './redis-shards.js';

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

/** A "node" that accepts connections and never answers: a frozen primary, or a proxy dropping traffic. */
async function silentNode(): Promise<string> {
  server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it('a subscribe on a node that never answers fails within its deadlines instead of hanging', async () => {
  const key = await silentNode();
  const downs: number[] = [];
  const shards = new ShardSubscribers(
    {
      route: () => key,
      refresh: async () => undefined,
      open: (node) => {
        const cut = node.lastIndexOf(':');
        return new Redis({ host: node.slice(0, cut), port: Number(node.slice(cut + 1)), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, commandTimeout: 1000 });
      },
      message: () => undefined,
      down: (at) => void downs.push(at),
      up: () => undefined,
    },
    true,
  );
  const started = Date.now();
  await expect(shards.subscribe('{room}:1', 'channel')).rejects.toThrow();
  const took = Date.now() - started;
  // Three tries, each bounded by the ready deadline.
  expect(took).toBeLessThan(3 * SHARD_READY_TIMEOUT_MS + 3_000);
  expect(shards.isLive('{room}:1')).toBe(false);
  await shards.close(1000, true);
}, 30_000);

it('places a topic once when two placements race while the route changes: one connection, one delivery', async () => {
  // Two "nodes" that are the same Redis behind two proxies: a topic on both would be delivered twice.
  const a = await startTcpProxy(REDIS_URL);
  const b = await startTcpProxy(REDIS_URL);
  const keyOf = (url: string): string => new URL(url).host;
  const routes = [keyOf(a.url), keyOf(b.url)];
  let calls = 0;
  const got: string[] = [];
  const shards = new ShardSubscribers(
    {
      // The slot map "changes" between the two placements: the first goes to a, the second to b.
      route: () => routes[calls++ % 2],
      refresh: async () => undefined,
      open: (node) => {
        const cut = node.lastIndexOf(':');
        return new Redis({ host: node.slice(0, cut), port: Number(node.slice(cut + 1)), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, commandTimeout: 2000 });
      },
      message: (m) => void got.push(m.data.toString()),
      down: () => undefined,
      up: () => undefined,
    },
    false,
  );
  const topic = randomId('shards-race');
  const publisher = new Redis(REDIS_URL);
  try {
    await Promise.all([shards.subscribe(topic, 'channel'), shards.subscribe(topic, 'channel')]);
    expect(shards.nodes()).toHaveLength(1);
    expect(shards.isLive(topic)).toBe(true);
    expect(await publisher.publish(topic, 'one')).toBe(1);
    await waitFor(() => got.length === 1);
    // Long enough for a second connection's copy to arrive over localhost, were there one.
    await delay(300);
    expect(got).toEqual(['one']);
  } finally {
    publisher.disconnect();
    await shards.close(1000, true);
    await Promise.all([a.close(), b.close()]);
  }
});
