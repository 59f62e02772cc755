import { describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, InvalidOptionError, type ErrorEvent } from '@events/core';
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
});
