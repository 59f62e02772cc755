/**
 * The bus conformance suite: behaviour every adapter must show through the public API. Run it
 * with a factory that makes adapters sharing one transport (one memory broker, one exchange).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, CycleError, InvalidNameError, InvalidPatternError, SerializationError, type BusAdapter, type Envelope, type ErrorEvent } from '@events/core';
import { createBus, type Bus, type BusOptions } from '../src/index.js';
import { deferred, delay, waitFor } from '@events/testing';

export interface ConformanceTarget {
  /** A fresh adapter on this test's transport (adapters of one target see each other's events). */
  makeAdapter(): Promise<BusAdapter>;
  /**
   * Where events wait when handlers are slower than the producer: `adapter` (memory: the bounded
   * buffer per subscription, `stats().consumers[i].buffered`) or `broker` (RabbitMQ: the queue;
   * the adapter holds at most `prefetch` deliveries).
   */
  readonly holds: 'adapter' | 'broker';
  /** The dead letters of one subscription as envelopes' ids or message ids (for the foreign-producer rule). */
  deadLetterIds(group: string, pattern: string): Promise<string[]>;
  /** Deletes what the target created (queues, exchanges). Called after every bus is closed. */
  cleanup(): Promise<void>;
  /** The adapter hands handlers the sender's envelope (memoryBus({ zeroCopy: true })): no serializer runs. */
  readonly zeroCopy?: boolean;
}

export type Events = {
  'users.SignedUp': { userId: string };
  'users.Deleted': { userId: string };
  'users.profile.Updated': { userId: string };
  'orders.Placed': { orderId: string; userId: string; seq: number };
  'loop.Ping': { n: number };
  'loop.Pong': { n: number };
  Weird: { value: unknown };
};

export function busConformance(name: string, factory: () => Promise<ConformanceTarget>): void {
  describe(`bus conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let buses: Bus<Events>[] = [];
    let errors: ErrorEvent[] = [];
    let lastAdapter: BusAdapter | undefined;

    async function makeBus(options: Partial<BusOptions<Events>> = {}): Promise<Bus<Events>> {
      lastAdapter = await target.makeAdapter();
      const bus = createBus<Events>({
        adapter: lastAdapter,
        onError: (e) => errors.push(e),
        retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 5 } },
        ...options,
      });
      buses.push(bus);
      return bus;
    }

    beforeEach(async () => {
      target = await factory();
      buses = [];
      errors = [];
    });

    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close({ timeoutMs: 3000 })));
      await target.cleanup();
    });

    it('delivers the envelope: id, name, payload, headers, correlation', async () => {
      const bus = await makeBus();
      const got: Envelope[] = [];
      await bus.on('users.SignedUp', (e) => void got.push(e), { group: 'audit' });
      const sent = await bus.emit('users.SignedUp', { userId: 'u1' }, { correlationId: 'c-1', headers: { tenant: 'acme' } });
      await waitFor(() => got.length === 1, 15_000, 'one delivery');
      expect(got[0]).toEqual(sent);
      expect(got[0]!.headers).toMatchObject({ tenant: 'acme', 'x-causation-depth': '0' });
      expect(got[0]!.correlationId).toBe('c-1');
    });

    it('an emit made right after an on() that was not awaited reaches that subscription', async () => {
      const bus = await makeBus();
      const got: string[] = [];
      const subscribed = bus.on('users.SignedUp', (e) => void got.push(e.id), { group: 'eager' });
      const sent = await bus.emit('users.SignedUp', { userId: 'u1' });
      await subscribed;
      await waitFor(() => got.length === 1, 15_000, 'the delivery');
      expect(got).toEqual([sent.id]);
    });

    it('fans out across groups: every group gets every event once', async () => {
      const bus = await makeBus();
      const seen: Record<string, string[]> = { audit: [], search: [], mail: [] };
      for (const group of Object.keys(seen)) await bus.on('users.SignedUp', (e) => void seen[group]!.push(e.id), { group });
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) ids.push((await bus.emit('users.SignedUp', { userId: `u${i}` })).id);
      await waitFor(() => Object.values(seen).every((s) => s.length >= 20), 15_000, 'all groups');
      await delay(50);
      for (const s of Object.values(seen)) expect([...s].sort()).toEqual([...ids].sort());
    });

    it('shares inside a group: replicas split the events, each event handled once', async () => {
      const [a, b, producer] = [await makeBus(), await makeBus(), await makeBus()];
      const byA: string[] = [];
      const byB: string[] = [];
      const slow = async (): Promise<void> => delay(3);
      await a.on('users.SignedUp', async (e) => { byA.push(e.id); await slow(); }, { group: 'workers' });
      await b.on('users.SignedUp', async (e) => { byB.push(e.id); await slow(); }, { group: 'workers' });
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) ids.push((await producer.emit('users.SignedUp', { userId: `u${i}` })).id);
      await waitFor(() => byA.length + byB.length >= 30, 15_000, 'all handled');
      await delay(50);
      expect([...byA, ...byB].sort()).toEqual([...ids].sort());
      expect(byA.length).toBeGreaterThan(0);
      expect(byB.length).toBeGreaterThan(0);
    });

    it('transient subscriptions see every event, share with no one, and exist only while subscribed', async () => {
      const [a, b, producer] = [await makeBus(), await makeBus(), await makeBus()];
      const byA: string[] = [];
      const byB: string[] = [];
      const byWorkers: string[] = [];
      const tapA = await a.on('users.*', (e) => void byA.push(e.id), { group: 'observer', transient: true });
      await b.on('users.*', (e) => void byB.push(e.id), { group: 'observer', transient: true });
      await b.on('users.*', (e) => void byWorkers.push(e.id), { group: 'observer' }); // a durable group of the same name
      const ids: string[] = [];
      for (let i = 0; i < 10; i += 1) ids.push((await producer.emit('users.SignedUp', { userId: `u${i}` })).id);
      await waitFor(() => byA.length >= 10 && byB.length >= 10 && byWorkers.length >= 10, 15_000, 'every observer and the group');
      await tapA.close();
      const later: string[] = [];
      for (let i = 0; i < 5; i += 1) later.push((await producer.emit('users.Deleted', { userId: `u${i}` })).id);
      await waitFor(() => byB.length >= 15 && byWorkers.length >= 15, 15_000, 'the later events');
      await delay(50);
      expect([...byA].sort()).toEqual([...ids].sort()); // nothing after its cancel
      expect([...byB].sort()).toEqual([...ids, ...later].sort());
      expect([...byWorkers].sort()).toEqual([...ids, ...later].sort());
    });

    it('a transient subscription reports exhausted retries to onError and settles the event', async () => {
      const bus = await makeBus();
      let calls = 0;
      await bus.on('users.Deleted', () => {
        calls += 1;
        throw new Error('observer failed');
      }, { group: 'observer', transient: true, retry: { attempts: 2, backoff: { delayMs: 1 } } });
      const sent = await bus.emit('users.Deleted', { userId: '1' });
      await waitFor(() => errors.some((e) => e.kind === 'dead-letter'), 15_000, 'the report');
      await delay(100);
      expect(calls).toBe(2); // settled after its attempts: never redelivered
      expect(errors.find((e) => e.kind === 'dead-letter')!.id).toBe(sent.id);
    });

    it('routes by pattern: * is one segment, # is zero or more', async () => {
      const bus = await makeBus();
      const got: Record<string, string[]> = { star: [], hash: [], tail: [], exact: [] };
      await bus.on('users.*', (e) => void got.star!.push(e.name), { group: 'star' });
      await bus.on('#', (e) => void got.hash!.push(e.name), { group: 'hash' });
      await bus.on('#.Updated', (e) => void got.tail!.push(e.name), { group: 'tail' });
      await bus.on('orders.Placed', (e) => void got.exact!.push(e.name), { group: 'exact' });
      await bus.emit('users.SignedUp', { userId: '1' });
      await bus.emit('users.profile.Updated', { userId: '1' });
      await bus.emit('orders.Placed', { orderId: 'o', userId: '1', seq: 0 });
      await bus.emit('users.Deleted', { userId: '1' });
      await waitFor(() => got.hash!.length === 4, 15_000, 'catch-all');
      await delay(50);
      expect(got.star!.sort()).toEqual(['users.Deleted', 'users.SignedUp']);
      expect(got.tail).toEqual(['users.profile.Updated']);
      expect(got.exact).toEqual(['orders.Placed']);
    });

    it('keeps order per partition key while other keys run in parallel', async () => {
      const bus = await makeBus();
      const byUser = new Map<string, number[]>();
      let running = 0;
      let maxRunning = 0;
      await bus.on(
        'orders.Placed',
        async (e) => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await delay(1 + (e.payload.seq % 3));
          byUser.set(e.payload.userId, [...(byUser.get(e.payload.userId) ?? []), e.payload.seq]);
          running -= 1;
        },
        { group: 'billing', concurrency: 4, partitionBy: (e) => e.payload.userId },
      );
      const emits: Promise<unknown>[] = [];
      for (let seq = 0; seq < 10; seq += 1) {
        for (const userId of ['a', 'b', 'c', 'd']) emits.push(bus.emit('orders.Placed', { orderId: `${userId}${seq}`, userId, seq }));
      }
      await Promise.all(emits);
      await waitFor(() => [...byUser.values()].reduce((n, l) => n + l.length, 0) === 40, 15_000, 'all orders');
      for (const userId of ['a', 'b', 'c', 'd']) expect(byUser.get(userId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(maxRunning).toBeGreaterThan(1);
      expect(maxRunning).toBeLessThanOrEqual(4);
    });

    it('retries a failing handler with backoff, then succeeds', async () => {
      const bus = await makeBus();
      const attempts: number[] = [];
      await bus.on('users.SignedUp', (_e, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
      }, { group: 'flaky' });
      await bus.emit('users.SignedUp', { userId: '1' });
      await waitFor(() => attempts.length === 3, 15_000, 'three attempts');
      await delay(50);
      expect(attempts).toEqual([1, 2, 3]);
      expect(errors.map((e) => e.kind)).toEqual(['retry', 'retry']);
    });

    it('dead-letters after the last attempt, reports it, and keeps consuming', async () => {
      const bus = await makeBus();
      const seen: string[] = [];
      await bus.on('users.*', (e) => {
        seen.push(e.name);
        if (e.name === 'users.Deleted') throw new Error('always fails');
      }, { group: 'strict', retry: { attempts: 2, backoff: { delayMs: 1 } } });
      const bad = await bus.emit('users.Deleted', { userId: '1' });
      await bus.emit('users.SignedUp', { userId: '2' });
      await waitFor(() => seen.includes('users.SignedUp') && errors.some((e) => e.kind === 'dead-letter'), 15_000, 'dead letter and next event');
      expect(seen.filter((n) => n === 'users.Deleted')).toHaveLength(2);
      const dead = errors.find((e) => e.kind === 'dead-letter')!;
      expect(dead).toMatchObject({ tier: 'bus', name: 'users.Deleted', id: bad.id, detail: { pattern: 'users.*', group: 'strict', attempt: 2 } });
    });

    it('isolates subscriptions: a stuck or failing one neither blocks nor re-runs another', async () => {
      const bus = await makeBus();
      const release = deferred();
      const healthy = new Map<string, number>();
      let stuckStarted = 0;
      await bus.on('users.SignedUp', async () => { stuckStarted += 1; await release.promise; }, { group: 'stuck' });
      await bus.on('users.SignedUp', () => { throw new Error('broken'); }, { group: 'broken', retry: { attempts: 3, backoff: { delayMs: 2 } } });
      await bus.on('users.SignedUp', (e) => void healthy.set(e.id, (healthy.get(e.id) ?? 0) + 1), { group: 'healthy' });
      for (let i = 0; i < 10; i += 1) await bus.emit('users.SignedUp', { userId: `${i}` });
      await waitFor(() => healthy.size === 10, 15_000, 'healthy group got everything');
      await waitFor(() => errors.filter((e) => e.kind === 'dead-letter').length === 10, 15_000, 'broken group dead-lettered everything');
      expect([...healthy.values()].every((n) => n === 1)).toBe(true);
      expect(stuckStarted).toBe(1);
      release.resolve();
    });

    it('carries causation and correlation through ctx.emit', async () => {
      const bus = await makeBus();
      const pongs: Envelope[] = [];
      await bus.on('loop.Ping', async (e, ctx) => void (await ctx.emit('loop.Pong', { n: e.payload.n })), { group: 'ponger' });
      await bus.on('loop.Pong', (e) => void pongs.push(e), { group: 'watcher' });
      const ping = await bus.emit('loop.Ping', { n: 1 });
      await waitFor(() => pongs.length === 1, 15_000, 'pong');
      expect(pongs[0]!.causationId).toBe(ping.id);
      expect(pongs[0]!.correlationId).toBe(ping.id);
      expect(pongs[0]!.headers['x-causation-depth']).toBe('1');
    });

    it('refuses a cycle of events beyond maxCausationDepth with CycleError', async () => {
      const bus = await makeBus({ maxCausationDepth: 5 });
      const handled: number[] = [];
      await bus.on('loop.Ping', async (e, ctx) => { handled.push(e.payload.n); await ctx.emit('loop.Pong', { n: e.payload.n + 1 }); }, { group: 'ping' });
      await bus.on('loop.Pong', async (e, ctx) => { handled.push(e.payload.n); await ctx.emit('loop.Ping', { n: e.payload.n + 1 }); }, { group: 'pong' });
      await bus.emit('loop.Ping', { n: 0 });
      await waitFor(() => errors.some((e) => e.kind === 'dead-letter'), 15_000, 'the cycle is refused');
      await delay(50);
      expect(handled).toEqual([0, 1, 2, 3, 4, 5]);
      const refusal = errors.find((e) => e.kind === 'dead-letter')!;
      expect(refusal.error).toBeInstanceOf(CycleError);
      expect(refusal.detail?.attempt).toBe(1); // permanent: never retried
      expect(errors.filter((e) => e.kind === 'retry')).toHaveLength(0);
    });

    it('refuses bad input at the call site, sending nothing', async () => {
      const bus = await makeBus();
      const got: string[] = [];
      await bus.on('#', (e) => void got.push(e.name), { group: 'all' });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      if (target.zeroCopy) {
        // No serializer runs in zero-copy mode: what JSON cannot hold is carried as is (documented).
        await bus.emit('Weird', { value: 10n });
        await bus.emit('Weird', { value: cyclic });
      } else {
        await expect(bus.emit('Weird', { value: 10n })).rejects.toBeInstanceOf(SerializationError);
        await expect(bus.emit('Weird', { value: cyclic })).rejects.toThrow(/payload\.value\.self: circular reference/);
      }
      await expect(bus.emit('users..SignedUp' as 'Weird', { value: 1 })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(bus.emit('users.*' as 'Weird', { value: 1 })).rejects.toBeInstanceOf(InvalidNameError);
      await expect(bus.on('users.Sign*', () => undefined)).rejects.toBeInstanceOf(InvalidPatternError);
      await expect(bus.on('users..x', () => undefined)).rejects.toBeInstanceOf(InvalidPatternError);
      await bus.emit('users.SignedUp', { userId: 'ok' });
      const expected = target.zeroCopy ? ['Weird', 'Weird', 'users.SignedUp'] : ['users.SignedUp'];
      await waitFor(() => got.length === expected.length, 15_000, 'the valid events');
      await delay(50);
      expect(got).toEqual(expected);
    });

    it('keeps handler-side memory bounded when the producer is faster', async () => {
      const bus = await makeBus();
      let maxInFlight = 0;
      let maxBuffered = 0;
      let prefetch: number | undefined;
      let handled = 0;
      await bus.on('users.SignedUp', async () => {
        const s = bus.stats().consumers[0]!;
        maxInFlight = Math.max(maxInFlight, s.inFlight);
        maxBuffered = Math.max(maxBuffered, s.buffered);
        prefetch = s.prefetch;
        await delay(1);
        handled += 1;
      }, { group: 'slow', concurrency: 2, buffer: 8 });
      const emits: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i += 1) emits.push(bus.emit('users.SignedUp', { userId: `${i}` }));
      await Promise.all(emits);
      await waitFor(() => handled === 100, 15_000, 'all handled');
      expect(maxInFlight).toBeGreaterThan(0);
      expect(maxInFlight).toBeLessThanOrEqual(2);
      if (target.holds === 'adapter') {
        // The producer really was faster (events waited in the buffer), and the buffer kept its bound.
        expect(maxBuffered).toBeGreaterThan(0);
        expect(maxBuffered).toBeLessThanOrEqual(8);
        expect(prefetch).toBeUndefined();
      } else {
        // The broker holds the backlog; what reaches this process is bounded by the prefetch.
        expect(prefetch).toBe(2);
        expect(maxBuffered).toBe(0);
      }
    });

    it('close() stops intake and drains in-flight handlers; nothing accepted is lost', async () => {
      const producer = await makeBus();
      const consumer = await makeBus();
      let started = 0;
      let finished = 0;
      const handled: string[] = [];
      await consumer.on('users.SignedUp', async (e) => {
        started += 1;
        await delay(20);
        handled.push(e.id);
        finished += 1;
      }, { group: 'drain', concurrency: 2 });
      const ids: string[] = [];
      for (let i = 0; i < 6; i += 1) ids.push((await producer.emit('users.SignedUp', { userId: `${i}` })).id);
      await waitFor(() => started >= 1, 15_000, 'a handler started');
      await consumer.close({ timeoutMs: 5000 });
      expect(finished).toBe(started);
      const startedAtClose = started;
      await expect(consumer.emit('users.SignedUp', { userId: 'late' })).rejects.toBeInstanceOf(ClosedError);
      await expect(consumer.on('users.SignedUp', () => undefined)).rejects.toBeInstanceOf(ClosedError);
      // Whatever the closed consumer did not take is still there for the next one of its group.
      const next = await makeBus();
      await next.on('users.SignedUp', (e) => void handled.push(e.id), { group: 'drain' });
      await waitFor(() => handled.length >= 6, 15_000, 'every accepted event handled');
      await delay(100);
      expect(started).toBe(startedAtClose);
      expect(new Set(handled)).toEqual(new Set(ids));
      // A clean close acks what it handled: nothing is handled twice.
      expect(handled).toHaveLength(6);
    });

    it('a handler may still ctx.emit while its bus drains', async () => {
      const consumer = await makeBus();
      const watcher = await makeBus();
      const pongs: Envelope[] = [];
      await watcher.on('loop.Pong', (e) => void pongs.push(e), { group: 'watcher' });
      let started = false;
      await consumer.on('loop.Ping', async (e, ctx) => {
        started = true;
        await delay(50); // still running when close begins
        await ctx.emit('loop.Pong', { n: e.payload.n });
      }, { group: 'ponger' });
      const ping = await consumer.emit('loop.Ping', { n: 7 });
      await waitFor(() => started, 15_000, 'the handler running');
      await consumer.close({ timeoutMs: 5000 });
      await waitFor(() => pongs.length === 1, 15_000, 'the pong emitted during the drain');
      expect(pongs[0]!.causationId).toBe(ping.id);
      expect(errors).toEqual([]);
    });

    it('emit with whenFull "throw" sheds load instead of waiting', async () => {
      const bus = await makeBus({ whenFull: 'throw' });
      const release = deferred();
      await bus.on('users.SignedUp', async () => release.promise, { group: 'tiny', buffer: 2 });
      const outcomes = await Promise.allSettled(Array.from({ length: 2000 }, (_, i) => bus.emit('users.SignedUp', { userId: `${i}` })));
      release.resolve();
      const refused = outcomes.filter((o) => o.status === 'rejected');
      // The memory buffer holds 2 (+1 in flight); RabbitMQ holds maxPendingPublishes unconfirmed.
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BackpressureError);
    });

    it('refuses a message whose envelope name differs from its routing key: dead-lettered, reported as decode, never handled', async () => {
      const bus = await makeBus();
      const adapter = lastAdapter!;
      const handled: string[] = [];
      await bus.on('users.SignedUp', (e) => void handled.push(e.id), { group: 'audit' });
      // Another producer on the same transport: routed as users.SignedUp, but the envelope says users.Deleted.
      const forged = { id: 'forged-1', name: 'users.Deleted', payload: { userId: 'x' }, occurredAt: new Date().toISOString(), headers: {} };
      await adapter.publish({ id: forged.id, name: 'users.SignedUp', data: Buffer.from(JSON.stringify(forged)), contentType: 'application/json', headers: {} }, { whenFull: 'wait', timeoutMs: 5000 });
      const good = await bus.emit('users.SignedUp', { userId: 'ok' });
      await waitFor(() => handled.includes(good.id) && errors.some((e) => e.kind === 'decode'), 15_000, 'the good event and the refusal');
      await waitFor(async () => (await target.deadLetterIds('audit', 'users.SignedUp')).includes('forged-1'), 15_000, 'the dead letter');
      expect(handled).toEqual([good.id]);
      const refusal = errors.find((e) => e.kind === 'decode')!;
      expect(refusal).toMatchObject({ tier: 'bus', name: 'users.SignedUp', id: 'forged-1', detail: { group: 'audit', pattern: 'users.SignedUp' } });
      expect(refusal.error.message).toMatch(/envelope name "users.Deleted" differs from the transport's "users.SignedUp"/);
    });

    it('accepts a bare JSON payload from a foreign producer, wrapped in an envelope with the transport message id (the one rule)', async () => {
      const bus = await makeBus();
      const adapter = lastAdapter!;
      const got: Envelope[] = [];
      await bus.on('users.SignedUp', (e) => void got.push(e), { group: 'audit' });
      await adapter.publish({ id: 'bare-1', name: 'users.SignedUp', data: Buffer.from('{"userId":"from-python"}'), contentType: 'application/json', headers: {} }, { whenFull: 'wait', timeoutMs: 5000 });
      await waitFor(() => got.length === 1, 15_000, 'the bare payload');
      expect(got[0]).toMatchObject({ id: 'bare-1', name: 'users.SignedUp', payload: { userId: 'from-python' }, headers: {} });
      expect(errors).toEqual([]);
    });

    it('an on() still registering when close() begins is refused with ClosedError and leaves no consumer behind', async () => {
      const bus = await makeBus();
      const producer = await makeBus();
      const late: string[] = [];
      const registering = bus.on('users.SignedUp', (e) => void late.push(e.id), { group: 'late', transient: true });
      const closed = bus.close({ timeoutMs: 5000 });
      await expect(registering).rejects.toBeInstanceOf(ClosedError);
      await closed;
      await expect(bus.on('users.SignedUp', () => undefined)).rejects.toBeInstanceOf(ClosedError);
      await producer.emit('users.SignedUp', { userId: 'after-close' });
      await delay(100);
      expect(late).toEqual([]);
      expect(bus.stats().consumers).toEqual([]);
    });

    it('close() is idempotent: every call returns the same promise, settled once the drain is done', async () => {
      const bus = await makeBus();
      let finished = 0;
      await bus.on('users.SignedUp', async () => {
        await delay(30);
        finished += 1;
      }, { group: 'slow' });
      await bus.emit('users.SignedUp', { userId: '1' });
      await waitFor(() => bus.health().counts.inFlight === 1, 15_000, 'the handler running');
      const first = bus.close({ timeoutMs: 5000 });
      const second = bus.close({ force: true });
      expect(second).toBe(first);
      await second;
      expect(finished).toBe(1);
      expect(bus.health().phase).toBe('closed');
    });

    it('a subscription handle closes alone, after its handlers in flight, and the others keep consuming', async () => {
      const bus = await makeBus();
      let slowDone = 0;
      const other: string[] = [];
      const slow = await bus.on('users.SignedUp', async () => {
        await delay(30);
        slowDone += 1;
      }, { group: 'slow' });
      await bus.on('users.SignedUp', (e) => void other.push(e.id), { group: 'other' });
      expect(slow).toMatchObject({ topic: 'users.SignedUp', pattern: 'users.SignedUp', group: 'slow', active: true });
      expect(typeof slow.id).toBe('string');
      await bus.emit('users.SignedUp', { userId: '1' });
      await waitFor(() => bus.stats().consumers.some((c) => c.group === 'slow' && c.inFlight === 1), 15_000, 'the slow handler running');
      const closing = slow.close({ drain: true, timeoutMs: 5000 });
      expect(slow.close()).toBe(closing);
      expect(slow.active).toBe(false);
      await closing;
      expect(slowDone).toBe(1);
      const next = await bus.emit('users.SignedUp', { userId: '2' });
      await waitFor(() => other.includes(next.id), 15_000, 'the other subscription still served');
      await delay(50);
      expect(slowDone).toBe(1);
      expect(bus.stats().consumers.map((c) => c.group)).toEqual(['other']);
    });

    it('health() says the phase, the connection and the counts', async () => {
      const bus = await makeBus();
      expect(bus.health()).toMatchObject({ phase: 'idle', connected: false });
      await bus.start();
      await bus.on('users.SignedUp', () => undefined, { group: 'h' });
      const h = bus.health();
      expect(h).toMatchObject({ phase: 'ready', connected: true, counts: { consumers: 1, inFlight: 0, buffered: 0, waitingEmits: 0, pendingPublishes: 0 } });
      expect(h.lastError).toBeUndefined();
      await bus.close();
      expect(bus.health()).toMatchObject({ phase: 'closed', connected: false, counts: { consumers: 0 } });
    });

    it('an emit ends early on its abort signal with the signal\'s reason', async () => {
      const bus = await makeBus();
      const controller = new AbortController();
      controller.abort(new Error('the request was cancelled'));
      await expect(bus.emit('users.SignedUp', { userId: '1' }, { signal: controller.signal })).rejects.toThrow('the request was cancelled');
    });
  });
}
