/**
 * Fault tests on real RabbitMQ: the connection cut mid-stream through a TCP proxy, the broker
 * unreachable while emits pile up, and a handler process killed with SIGKILL mid-event.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BackpressureError, TimeoutError, type Envelope, type ErrorEvent } from '@events/core';
import amqp from 'amqplib';
import { RABBITMQ_URL, closedPort, deferred, delay, spawnTs, startTcpProxy, waitFor, type TcpProxy } from '@events/testing';
import { createBus, type Bus } from '../src/index.js';
import { queueName, rabbitmqBus, type RabbitMqConnectionEvent } from '../src/adapters/rabbitmq.js';
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

function makeBus(target: RabbitTarget, errors: ErrorEvent[], options: { emitTimeoutMs?: number } = {}): Promise<Bus<Events>> {
  return target.makeAdapter().then((adapter) => {
    const bus = createBus<Events>({ adapter, onError: (e) => errors.push(e), ...options });
    cleanups.push(() => bus.close({ timeoutMs: 3000 }));
    return bus;
  });
}

describe('rabbitmq faults', () => {
  it('loses no confirmed event when the connection is cut mid-stream; consumers resume by themselves', async () => {
    const { proxy, target, connection } = await setup();
    const errors: ErrorEvent[] = [];
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
    const errors: ErrorEvent[] = [];
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
    const exchange = `bus-test-${Date.now()}`;
    const bus = createBus<Events>({ adapter: rabbitmqBus({ url: proxy.url, exchange }), onError: () => undefined });
    await expect(bus.ready()).rejects.toThrow(/cannot connect to RabbitMQ amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/);
    expect(bus.health().phase).toBe('failed');
    await expect(bus.emit('orders.Placed', { n: 1 })).rejects.toThrow();
    await expect(bus.on('orders.Placed', () => undefined)).rejects.toThrow();
    // A failed start released what it opened and can be retried once the broker answers.
    proxy.resume();
    await bus.start();
    expect(bus.health()).toMatchObject({ phase: 'ready', connected: true });
    await bus.close();
    await proxy.close();
    const conn = await amqp.connect(RABBITMQ_URL);
    const ch = await conn.createChannel();
    await ch.deleteExchange(exchange);
    await ch.deleteExchange(`${exchange}.dlx`);
    await conn.close();
  });

  it('redelivers to another consumer of the group when a handler process is SIGKILLed mid-event', async () => {
    const target = await rabbitTarget();
    cleanups.push(() => target.cleanup());
    const errors: ErrorEvent[] = [];
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

  it('bounds emit while the broker is down: capped waiters, BackpressureError at once past the cap, a deadline on every wait', async () => {
    const { proxy, target, connection } = await setup({ maxPendingPublishes: 5, maxWaitingPublishes: 5 });
    const errors: ErrorEvent[] = [];
    const bus = await makeBus(target, errors);
    const received: string[] = [];
    await bus.on('orders.Placed', (e) => void received.push(e.id), { group: 'ledger' });
    proxy.refuse();
    proxy.cut();
    await waitFor(() => connection.some((e) => e.type === 'down'), 15_000, 'the adapter noticed');
    const outcomes = Array.from({ length: 30 }, (_, n) => bus.emit('orders.Placed', { n }, { timeoutMs: 400 }).then((e) => e, (error: unknown) => error as Error));
    await waitFor(() => bus.stats().pendingPublishes === 5 && bus.stats().waitingEmits === 5, 5000, '5 held and 5 waiting');
    // Past the cap: refused at once, saying which broker, what limit, and what to do.
    const refusedAtOnce = await Promise.all(outcomes.slice(10));
    for (const e of refusedAtOnce) {
      expect(e).toBeInstanceOf(BackpressureError);
      expect((e as Error).message).toMatch(/RabbitMQ amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+.*maxPendingPublishes 5, maxWaitingPublishes 5; is the broker reachable\?/);
    }
    // The rest end at their deadline: nothing waits without bound.
    const timedOut = await Promise.all(outcomes.slice(0, 10));
    for (const e of timedOut) expect(e).toBeInstanceOf(TimeoutError);
    expect(bus.stats()).toMatchObject({ pendingPublishes: 0, waitingEmits: 0 });
    // Dropped unsent: none of them arrives once the broker is back.
    proxy.resume();
    await waitFor(() => connection.some((e) => e.type === 'up' && e.reconnect), 15_000, 'reconnected');
    const after = await bus.emit('orders.Placed', { n: 100 });
    await waitFor(() => received.includes(after.id), 15_000, 'an event after the outage');
    await delay(100);
    expect(received).toEqual([after.id]);
  });

  it('keeps an outage flood bounded with the defaults: 3,000 signups leave at most 2,000 emits pending, the rest refused at once', async () => {
    const { proxy, target, connection } = await setup({ maxPendingPublishes: 1000 });
    const bus = await makeBus(target, [], { emitTimeoutMs: 2000 });
    await bus.on('orders.Placed', () => undefined, { group: 'ledger' });
    proxy.refuse();
    proxy.cut();
    await waitFor(() => connection.some((e) => e.type === 'down'), 15_000, 'the adapter noticed');
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let refused = 0;
    const outcomes = Array.from({ length: 3000 }, (_, n) => bus.emit('orders.Placed', { n }).catch((e: unknown) => void (e instanceof BackpressureError && (refused += 1))));
    await waitFor(() => refused === 1000, 5000, 'the emits past the cap refused');
    const s = bus.stats();
    expect(s.pendingPublishes + s.waitingEmits).toBe(2000);
    const heapFlood = process.memoryUsage().heapUsed;
    await Promise.all(outcomes);
    expect(bus.stats()).toMatchObject({ pendingPublishes: 0, waitingEmits: 0 });
    console.log(`[bus flood while RabbitMQ is down] 3000 emits: ${s.pendingPublishes} held, ${s.waitingEmits} waiting, ${refused} refused at once; heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapFlood / 2 ** 20).toFixed(1)} MiB; all settled by the 2 s deadline`);
  });

  it('reports one down per outage, with its real cause, however many reconnect attempts fail', async () => {
    const { proxy, target, connection } = await setup();
    const errors: ErrorEvent[] = [];
    const bus = await makeBus(target, errors);
    await bus.on('orders.Placed', () => undefined, { group: 'ledger' });
    const queue = queueName(target.adapters[0]!.topology, 'ledger', 'orders.Placed');
    proxy.refuse();
    proxy.cut();
    await waitFor(() => connection.some((e) => e.type === 'down'), 15_000, 'the adapter noticed');
    // The cause is the cut connection, not "publish channel closed".
    const down = connection.find((e) => e.type === 'down') as { error?: Error };
    expect(down.error?.message).toMatch(/connection to RabbitMQ amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+.* lost: the socket closed unexpectedly/);
    expect(errors.filter((e) => e.kind === 'transport')[0]!.error.message).toBe(down.error?.message);
    // While it is out, someone declares the subscription queue differently: every reconnect
    // attempt now connects, then fails (PRECONDITION_FAILED) and closes its connection.
    const raw = await amqp.connect(RABBITMQ_URL);
    const ch = await raw.createChannel();
    await ch.deleteQueue(queue);
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    proxy.resume();
    const failedAfterConnect = (): ErrorEvent[] => errors.filter((e) => /reconnect attempt \d+ .*PRECONDITION_FAILED/.test(e.error.message));
    await waitFor(() => failedAfterConnect().length >= 3, 15_000, 'three reconnect attempts failing after connecting');
    await ch.deleteQueue(queue);
    await raw.close();
    await waitFor(() => connection.some((e) => e.type === 'up' && e.reconnect), 15_000, 'reconnected');
    expect(connection.filter((e) => e.type === 'down')).toHaveLength(1);
    expect(connection.filter((e) => e.type === 'up' && e.reconnect)).toHaveLength(1);
    expect(failedAfterConnect()[0]).toMatchObject({ kind: 'transport', detail: { attempt: expect.any(Number) } });
  });

  it('takes the next of urls when a node is down, at start and on reconnect; fails with every node named when none answers', async () => {
    const dead = `amqp://guest:guest@127.0.0.1:${await closedPort()}`;
    const { proxy, target, connection } = await setup();
    const bus = createBus<Events>({ adapter: rabbitmqBus({ ...target.options, url: undefined, urls: [dead, proxy.url] }), onError: () => undefined });
    cleanups.push(() => bus.close({ timeoutMs: 3000 }));
    const received: string[] = [];
    await bus.on('orders.Placed', (e) => void received.push(e.id), { group: 'ledger' });
    expect(bus.health().connected).toBe(true);
    proxy.cut(); // the live node drops us: the next attempt goes to the dead one, then back
    await waitFor(() => connection.some((e) => e.type === 'up' && e.reconnect), 15_000, 'reconnected to the live node');
    const sent = await bus.emit('orders.Placed', { n: 1 });
    await waitFor(() => received.includes(sent.id), 15_000, 'delivered after the failover');
    const none = createBus<Events>({ adapter: rabbitmqBus({ urls: [dead, dead.replace('127.0.0.1', 'localhost')], exchange: target.exchange }), onError: () => undefined });
    await expect(none.start()).rejects.toThrow(/cannot connect to RabbitMQ amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/?: .*; cannot connect to RabbitMQ amqp:\/\/guest:\*\*\*@localhost:\d+/);
    await none.close();
  });

  it('gives on() a deadline while the broker is down: TimeoutError, and the consumer takes nothing when the broker is back', async () => {
    const { proxy, target, connection } = await setup();
    const bus = await makeBus(target, []);
    await bus.start();
    proxy.refuse();
    proxy.cut();
    await waitFor(() => connection.some((e) => e.type === 'down'), 15_000, 'the adapter noticed');
    const late: string[] = [];
    await expect(bus.on('orders.Placed', (e) => void late.push(e.id), { group: 'late', timeoutMs: 300 })).rejects.toThrow(/bus\.on\("orders\.Placed"\) of group late waiting for its consumer to be registered \(is the broker reachable\?\) timed out after 300 ms/);
    const served: string[] = [];
    proxy.resume();
    await waitFor(() => connection.some((e) => e.type === 'up' && e.reconnect), 15_000, 'reconnected');
    await bus.on('orders.Placed', (e) => void served.push(e.id), { group: 'served' });
    const sent = await bus.emit('orders.Placed', { n: 1 });
    await waitFor(() => served.includes(sent.id), 15_000, 'the event delivered to the live group');
    await delay(200);
    expect(late).toEqual([]);
    await waitFor(() => !bus.stats().consumers.some((c) => c.group === 'late'), 5000, 'the given-up consumer removed');
  });
});
