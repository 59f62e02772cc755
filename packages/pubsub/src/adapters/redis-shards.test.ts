import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
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
