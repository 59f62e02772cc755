/**
 * Fault tests on real RabbitMQ: the connection cut mid-stream through a TCP proxy, the broker
 * unreachable while emits pile up, and a handler process killed with SIGKILL mid-event.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BackpressureError, type Envelope } from '@events/core';
import { RABBITMQ_URL, deferred, delay, spawnTs, startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { createBus, type Bus, type BusErrorEvent } from '../src/index.js';
import type { RabbitMqConnectionEvent } from '../src/adapters/rabbitmq.js';
import { duplicatesOf } from './helpers.js';
import { rabbitTarget, type RabbitTarget } from './rabbitmq-harness.js';

type Events = { 'orders.Placed': { n: number }; 'jobs.Started': { job: string } };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(overrides: Parameters<typeof rabbitTarget>[0] = {}): Promise<{ proxy: TcpProxy; target: RabbitTarget; connection: RabbitMqConnectionEvent[] }> {
  const proxy = await startTcpProxy(RABBITMQ_URL);
  const connection: RabbitMqConnectionEvent[] = [];
  const target = await rabbitTarget({ url: proxy.url, onConnection: (e) => connection.push(e), ...overrides });
  cleanups.push(async () => {
    await proxy.close();
    await target.cleanup();
  });
  return { proxy, target, connection };
}

function makeBus(target: RabbitTarget, errors: BusErrorEvent[]): Promise<Bus<Events>> {
  return target.makeAdapter().then((adapter) => {
    const bus = createBus<Events>({ adapter, onError: (e) => errors.push(e) });
    cleanups.push(() => bus.close({ timeoutMs: 3000 }));
    return bus;
  });
}

describe('rabbitmq faults', () => {
  it('loses no confirmed event when the connection is cut mid-stream; consumers resume by themselves', async () => {
    const { proxy, target, connection } = await setup();
    const errors: BusErrorEvent[] = [];
    const consumer = await makeBus(target, errors);
    const producer = await makeBus(target, errors);
    const received: string[] = [];
    let cutDone = false;
    let receivedAfterCut = 0;
    await consumer.on('orders.Placed', async (e) => {
      received.push(e.id);
      if (cutDone) receivedAfterCut += 1;
      await delay(1);
    }, { group: 'billing', concurrency: 4 });

    const total = 300;
    const confirmed: string[] = [];
    const emitting = (async () => {
      for (let n = 0; n < total; n += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.emit('orders.Placed', { n: n + i })));
        confirmed.push(...batch.map((e) => e.id));
      }
    })();
    await waitFor(() => received.length >= 60, 15_000, 'the stream is flowing');
    proxy.refuse();
    proxy.cut();
    cutDone = true;
    await delay(150); // stays unreachable a moment: emits pile up in the publish buffer
    proxy.resume();
    await emitting;
    await waitFor(() => new Set(received).size >= total, 15_000, 'every confirmed event received');

    const dups = duplicatesOf(received);
    const extra = [...dups.values()].reduce((n, c) => n + c - 1, 0);
    console.log(`[bus fault: connection cut] confirmed ${confirmed.length}, deliveries ${received.length}, duplicated events ${dups.size} (${extra} extra deliveries)${dups.size ? `: ${[...dups].map(([id, c]) => `${id}x${c}`).join(', ')}` : ''}`);
    expect(confirmed).toHaveLength(total);
    for (const id of confirmed) expect(received).toContain(id);
    // Both adapters lost their connection and came back without help.
    expect(connection.filter((e) => e.type === 'down').length).toBeGreaterThanOrEqual(2);
    expect(connection.filter((e) => e.type === 'up' && e.reconnect).length).toBeGreaterThanOrEqual(2);
    expect(receivedAfterCut).toBeGreaterThan(0);
    expect(consumer.stats().connected).toBe(true);
    // And the resumed consumer keeps taking new events.
    const after = await producer.emit('orders.Placed', { n: -1 });
    await waitFor(() => received.includes(after.id), 15_000, 'an event emitted after the reconnect');
  });

  it('holds emits in a bounded buffer while the broker is unreachable, then confirms them', async () => {
    const { proxy, target, connection } = await setup({ maxPendingPublishes: 5 });
    const errors: BusErrorEvent[] = [];
    const bus = await makeBus(target, errors);
    const received: string[] = [];
    await bus.on('orders.Placed', (e) => void received.push(e.id), { group: 'ledger' });
    proxy.refuse();
    proxy.cut();
    await waitFor(() => connection.some((e) => e.type === 'down'), 15_000, 'the adapter noticed');
    let settled = 0;
    const held = Array.from({ length: 5 }, (_, n) => bus.emit('orders.Placed', { n }).finally(() => (settled += 1)));
    await delay(50);
    expect(settled).toBe(0); // not confirmed while the broker is out of reach
    expect(bus.stats().pendingPublishes).toBe(5);
    // The overflow policy: beyond the bound, a shedding caller is refused at once.
    await expect(bus.emit('orders.Placed', { n: 99 }, { whenFull: 'throw' })).rejects.toBeInstanceOf(BackpressureError);
    proxy.resume();
    const envelopes: Envelope[] = await Promise.all(held);
    await waitFor(() => received.length >= 5, 15_000, 'the held events delivered');
    expect(new Set(received)).toEqual(new Set(envelopes.map((e) => e.id)));
    expect(bus.stats().pendingPublishes).toBe(0);
  });

  it('fails loudly when the broker cannot be reached', async () => {
    const proxy = await startTcpProxy(RABBITMQ_URL);
    cleanups.push(() => proxy.close());
    proxy.refuse(); // accepts nothing: a missing broker
    const bus = createBus<Events>({ adapter: 'rabbitmq', rabbitmq: { url: proxy.url }, onError: () => undefined });
    await expect(bus.ready()).rejects.toThrow();
    await expect(bus.emit('orders.Placed', { n: 1 })).rejects.toThrow();
    await expect(bus.on('orders.Placed', () => undefined)).rejects.toThrow();
    await bus.close();
  });

  it('redelivers to another consumer of the group when a handler process is SIGKILLed mid-event', async () => {
    const target = await rabbitTarget();
    cleanups.push(() => target.cleanup());
    const errors: BusErrorEvent[] = [];
    const bus = await makeBus(target, errors);
    const script = fileURLToPath(new URL('./fixtures/kill-worker.ts', import.meta.url));
    const { child, stdout } = spawnTs(script, [RABBITMQ_URL, target.exchange], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    await waitFor(() => stdout().includes('ready'), 20_000, 'the worker process subscribed');

    const sent = await bus.emit('jobs.Started', { job: 'resize' });
    await waitFor(() => stdout().includes(`got ${sent.id}`), 15_000, 'the worker took the event');
    const redelivered = deferred();
    const got: Array<{ id: string; redelivered: boolean }> = [];
    // Another consumer of the same group; it joins after the worker took the event.
    await bus.on('jobs.Started', (e, ctx) => {
      got.push({ id: e.id, redelivered: ctx.redelivered });
      redelivered.resolve();
    }, { group: 'workers' });
    expect(child.kill('SIGKILL')).toBe(true);
    await redelivered.promise;
    expect(got).toEqual([{ id: sent.id, redelivered: true }]);
  });
});
