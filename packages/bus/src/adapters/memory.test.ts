import { describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, InvalidOptionError, TimeoutError, type ErrorEvent } from '@events/core';
import { createBus } from '../index.js';
import { createMemoryBroker, memoryBus } from './memory.js';

type Events = { 'users.SignedUp': { userId: string }; 'orders.Placed': { n: number } };

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('memory adapter', () => {
  it('keeps memory bounded when the producer outruns the handler: emit waits for room', async () => {
    const bus = createBus<Events>({ adapter: memoryBus({ bufferSize: 10 }) });
    let maxBuffered = 0;
    let maxWaiting = 0;
    let sawFull = false;
    let handled = 0;
    await bus.on('orders.Placed', async () => {
      await tick();
      handled += 1;
    }, { group: 'slow', concurrency: 2 });
    // A producer that never stops to think: 2 000 emits as fast as emit lets it.
    for (let n = 0; n < 2000; n += 1) {
      await bus.emit('orders.Placed', { n });
      const s = bus.stats();
      const c = s.consumers[0]!;
      maxBuffered = Math.max(maxBuffered, c.buffered);
      maxWaiting = Math.max(maxWaiting, s.waitingEmits);
      if (c.buffered === 10) sawFull = true;
      expect(c.inFlight).toBeLessThanOrEqual(2);
    }
    expect(sawFull).toBe(true); // the producer really was faster...
    expect(maxBuffered).toBeLessThanOrEqual(10); // ...and the buffer never grew past its bound
    expect(maxWaiting).toBeLessThanOrEqual(1);
    await bus.close();
    expect(handled).toBe(2000); // close drained what was accepted
  });

  it('sheds load with whenFull "throw": refused events are not buffered', async () => {
    const bus = createBus<Events>({ whenFull: 'throw', adapter: memoryBus({ bufferSize: 3 }) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    await bus.on('orders.Placed', async (e) => {
      seen.push(e.payload.n);
      await gate;
    }, { group: 'g' });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => bus.emit('orders.Placed', { n })));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBe(6); // 1 in flight + 3 buffered accepted
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BackpressureError);
    expect(bus.stats().consumers[0]!.buffered).toBe(3);
    release();
    await bus.close();
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('keeps dead letters per subscription, bounded', async () => {
    const broker = createMemoryBroker({ maxDeadLetters: 2 });
    const errors: ErrorEvent[] = [];
    const bus = createBus<Events>({ adapter: memoryBus({ broker }), onError: (e) => errors.push(e), retry: { attempts: 1 } });
    await bus.on('orders.Placed', () => { throw new Error('nope'); }, { group: 'ledger' });
    for (let n = 0; n < 3; n += 1) await bus.emit('orders.Placed', { n });
    await bus.close();
    const dead = broker.deadLetters('ledger');
    expect(dead).toHaveLength(2);
    expect(dead.map((d) => JSON.parse(d.data.toString()).payload.n)).toEqual([1, 2]);
    expect(dead[0]).toMatchObject({ group: 'ledger', pattern: 'orders.Placed', name: 'orders.Placed', reason: 'Error: nope' });
    expect(errors.filter((e) => e.kind === 'dead-letter')).toHaveLength(3);
  });

  it('drops an event no subscription matches (best effort) and resolves emit', async () => {
    const bus = createBus<Events>();
    await expect(bus.emit('users.SignedUp', { userId: '1' })).resolves.toMatchObject({ name: 'users.SignedUp' });
    await bus.close();
  });

  it('force close abandons buffered work and releases waiting emits', async () => {
    const bus = createBus<Events>({ adapter: memoryBus({ bufferSize: 1 }) });
    await bus.on('orders.Placed', () => new Promise<void>(() => undefined), { group: 'stuck' });
    await bus.emit('orders.Placed', { n: 0 }); // in flight forever
    await bus.emit('orders.Placed', { n: 1 }); // buffered
    const waiting = bus.emit('orders.Placed', { n: 2 }); // waits for room
    await tick();
    expect(bus.stats().waitingEmits).toBe(1);
    await bus.close({ force: true });
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
  });

  it('times out a drain that cannot finish and reports it', async () => {
    const errors: ErrorEvent[] = [];
    const bus = createBus<Events>({ onError: (e) => errors.push(e) });
    await bus.on('orders.Placed', (_e, ctx) => new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r())), { group: 'stuck' });
    await bus.emit('orders.Placed', { n: 0 });
    await tick();
    await bus.close({ timeoutMs: 30 });
    expect(errors.map((e) => e.kind)).toEqual(['close']);
  });

  it('validates options', async () => {
    expect(() => createBus({ group: 'a.b' })).toThrow(InvalidOptionError);
    expect(() => createBus({ maxCausationDepth: -1 })).toThrow(InvalidOptionError);
    expect(() => createBus({ retry: { attempts: 0 } })).toThrow(InvalidOptionError);
    const bus = createBus<Events>();
    await expect(bus.on('orders.Placed', () => undefined, { concurrency: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(bus.on('orders.Placed', () => undefined, { group: 'bad group' })).rejects.toBeInstanceOf(InvalidOptionError);
    expect(() => createBus({ adapter: 'rabbitmq' as never })).toThrow(/rabbitmqBus/);
    await bus.close();
  });

  it('bounds the emits waiting for room: capped, each with a deadline, the one past the cap refused at once', async () => {
    const bus = createBus<Events>({ adapter: memoryBus({ bufferSize: 2, maxWaitingPublishes: 3 }) });
    await bus.on('orders.Placed', () => new Promise<void>(() => undefined), { group: 'stuck' });
    await bus.emit('orders.Placed', { n: 0 }); // in flight for ever
    await bus.emit('orders.Placed', { n: 1 });
    await bus.emit('orders.Placed', { n: 2 }); // the buffer is full
    const outcomes = Array.from({ length: 10 }, (_, i) => bus.emit('orders.Placed', { n: 3 + i }, { timeoutMs: 50 }).then(() => 'ok', (e: unknown) => e));
    await tick();
    expect(bus.stats().waitingEmits).toBe(3);
    const [waited, refused] = [await Promise.all(outcomes.slice(0, 3)), await Promise.all(outcomes.slice(3))];
    for (const e of refused) {
      expect(e).toBeInstanceOf(BackpressureError);
      expect((e as Error).message).toMatch(/memory buffer of subscription stuck\/orders\.Placed \(bufferSize 2, maxWaitingPublishes 3; .*\): 3 callers already waiting/);
    }
    for (const e of waited) {
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).message).toMatch(/timed out after \d+ ms/);
    }
    expect(bus.stats().waitingEmits).toBe(0);
    const controller = new AbortController();
    const aborted = bus.emit('orders.Placed', { n: 99 }, { signal: controller.signal });
    await tick();
    controller.abort(new Error('request gone'));
    await expect(aborted).rejects.toThrow('request gone');
    expect(bus.stats().consumers[0]!.buffered).toBe(2); // nothing refused slipped in
    await bus.close({ force: true });
  });

  it('lets waiting emits in as slots free, one per slot, in arrival order', async () => {
    const bus = createBus<Events>({ adapter: memoryBus({ bufferSize: 1, maxWaitingPublishes: 100 }) });
    const order: number[] = [];
    await bus.on('orders.Placed', async (e) => {
      order.push(e.payload.n);
      await tick();
    }, { group: 'one' });
    const accepted: number[] = [];
    const emits = Array.from({ length: 22 }, (_, n) => bus.emit('orders.Placed', { n }).then(() => void accepted.push(n)));
    expect(bus.stats().waitingEmits).toBeGreaterThan(15);
    await Promise.all(emits);
    await bus.close();
    expect(accepted).toEqual(Array.from({ length: 22 }, (_, i) => i));
    expect(order).toEqual(accepted);
  });
});
