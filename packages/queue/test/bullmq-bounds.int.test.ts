/**
 * The BullMQ adapter's bounds against real Redis: reads of arbitrary names create nothing; an
 * outage costs bounded memory and bounded waits; start and close settle whatever Redis does.
 */
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BackpressureError, TimeoutError } from '@events/core';
import { closedPort, REDIS_URL, spawnTs, startTcpProxy, waitFor } from '@events/testing';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createQueue } from '../src/index.js';
import { deletePrefix, randomPrefix } from './helpers.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** V8's collector, so heap figures count live objects rather than garbage not yet collected. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    redis.disconnect();
  }
}

describe('bullmq adapter bounds', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('counting and reading 1,000 unknown names creates no Redis key and keeps a bounded number of queue objects', async () => {
    const prefix = randomPrefix();
    const q = createQueue({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    cleanups.push(async () => {
      await q.close();
      await deletePrefix(prefix);
    });
    await q.start();
    for (let i = 0; i < 1000; i += 1) {
      expect(await q.counts(`anonymous-${i}`)).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
      if (i % 100 === 0) expect(await q.getJob(`anonymous-${i}`, 'some-id')).toBeUndefined();
    }
    expect(await keysUnder(prefix)).toEqual([]);
    expect(q.health().counts.readers).toBeLessThanOrEqual(32);
    expect(q.health().counts.queues).toBe(0);
    // A name this queue writes to is a queue of its own, and still readable.
    await q.enqueue('mine', 1);
    expect((await q.counts('mine')).waiting).toBe(1);
    expect(q.health().counts.queues).toBe(1);
  }, 60_000);

  it('20,000 enqueues during an outage: 1,000 wait (bounded), the rest get BackpressureError at once; heap stays flat', async () => {
    const prefix = randomPrefix();
    const proxy = await startTcpProxy(REDIS_URL);
    const q = createQueue<{ burst: { text: string } }>({ adapter: bullmqQueue({ url: proxy.url, prefix }), enqueueTimeoutMs: 5000, onError: () => undefined });
    cleanups.push(async () => {
      await q.close({ timeoutMs: 1000 });
      await proxy.close();
      await deletePrefix(prefix);
    });
    await q.start();
    proxy.refuse();
    proxy.cut();
    await waitFor(() => !q.health().connected, 5000, 'the queue to see the outage');
    // Each job its own 1 KiB payload (no shared string), and the test keeps only a tag per outcome.
    const gc = collector();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    const messages = new Map<string, string>();
    const tag = (e: unknown): string => {
      const kind = e instanceof BackpressureError ? 'backpressure' : e instanceof TimeoutError ? 'timeout' : `other: ${String(e)}`;
      if (!messages.has(kind)) messages.set(kind, (e as Error).message);
      return kind;
    };
    let settled = 0;
    const outcomes = Array.from({ length: 20_000 }, (_, i) =>
      q
        .enqueue('burst', { text: `${i}:`.padEnd(1024, 'x') })
        .then(() => 'stored', tag)
        .finally(() => (settled += 1)),
    );
    // Every enqueue issued: the line is full and everyone past it was refused at once.
    await waitFor(() => settled === 19_000 && q.health().counts.waitingForConnection === 1000, 4000, 'the line to fill and the rest to be refused');
    gc();
    const heapDuring = process.memoryUsage().heapUsed;
    const grownMiB = (heapDuring - heapBefore) / 2 ** 20;
    console.log(`outage flood: heap after GC ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapDuring / 2 ** 20).toFixed(1)} MiB (+${grownMiB.toFixed(1)}) with 20,000 enqueues of 1 KiB issued, 1,000 waiting`);
    expect(grownMiB).toBeLessThan(15);
    expect(q.health().counts.waitingForConnection).toBe(1000);
    const results = await Promise.all(outcomes);
    const elapsed = Date.now() - started;
    expect(results.filter((r) => r === 'backpressure')).toHaveLength(19_000);
    expect(results.filter((r) => r === 'timeout')).toHaveLength(1000);
    expect(messages.get('backpressure')).toMatch(/1000 callers already wait for Redis at redis:\/\/127\.0\.0\.1:\d+ .*maxWaitingEnqueues.*retry later/);
    expect(messages.get('timeout')).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable.*timed out after 5000 ms/);
    expect(elapsed).toBeLessThan(10_000);
    // A caller's signal ends its wait early.
    const abort = new AbortController();
    const waiting = q.enqueue('burst', { text: 'abortable' }, { signal: abort.signal });
    await waitFor(() => q.health().counts.waitingForConnection === 1);
    abort.abort(new Error('the caller gave up'));
    await expect(waiting).rejects.toThrow('the caller gave up');
    expect(q.health().counts.waitingForConnection).toBe(0);
    // Back up: enqueues go through again.
    proxy.resume();
    await waitFor(() => q.health().connected, 10_000, 'the reconnect');
    await q.enqueue('burst', { text: 'after' });
  }, 60_000);

  it('close() settles within its timeout while Redis is unreachable, with a worker running', async () => {
    const prefix = randomPrefix();
    const proxy = await startTcpProxy(REDIS_URL);
    const q = createQueue<{ w: null }>({ adapter: bullmqQueue({ url: proxy.url, prefix }), onError: () => undefined });
    cleanups.push(async () => {
      await proxy.close();
      await deletePrefix(prefix);
    });
    await q.process('w', () => undefined);
    proxy.refuse();
    proxy.cut();
    await waitFor(() => !q.health().connected, 5000, 'the queue to see the outage');
    const at = Date.now();
    await q.close({ timeoutMs: 1000 });
    expect(Date.now() - at).toBeLessThan(3500);
    expect(q.health().phase).toBe('closed');
  }, 30_000);

  it('a failed start names the Redis URL, releases its connections (the process exits by itself), and can be retried', async () => {
    const port = await closedPort();
    const child = spawnTs(fileURLToPath(new URL('./fixtures/failed-start.ts', import.meta.url)), [], { cwd: root, env: { QUEUE_URL: `redis://127.0.0.1:${port}` } });
    const timer = setTimeout(() => child.child.kill('SIGKILL'), 15_000);
    const exit = await child.exited;
    clearTimeout(timer);
    expect(child.output()).toMatch(new RegExp(`start failed: queue start: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
    expect(exit).toEqual({ code: 0, signal: null });

    const prefix = randomPrefix();
    const proxy = await startTcpProxy(REDIS_URL);
    proxy.refuse();
    const q = createQueue({ adapter: bullmqQueue({ url: proxy.url, prefix, startTimeoutMs: 300 }), onError: () => undefined });
    cleanups.push(async () => {
      await q.close({ timeoutMs: 1000 });
      await proxy.close();
      await deletePrefix(prefix);
    });
    await expect(q.start()).rejects.toBeInstanceOf(TimeoutError);
    expect(q.health().phase).toBe('failed');
    proxy.resume();
    await q.start();
    expect(q.health()).toMatchObject({ phase: 'ready', connected: true });
  }, 30_000);
});
