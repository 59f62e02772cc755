import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackpressureError, ClosedError, TimeoutError, type BusMessage } from '@events/core';
import type { ConfirmChannel } from 'amqplib';
import { Publisher } from './rabbitmq-publisher.js';

type Confirm = (err: unknown) => void;

/** A confirm channel that records writes; the test confirms or kills them. */
class FakeChannel extends EventEmitter {
  readonly writes: Array<{ id: string; confirm: Confirm }> = [];
  full = false;
  /** Nack every write (a quorum queue without a leader), counting them. */
  nackAll = false;
  nacked = 0;

  publish(_exchange: string, _key: string, _data: Buffer, options: { messageId?: string }, confirm: Confirm): boolean {
    if (this.nackAll) {
      this.nacked += 1;
      queueMicrotask(() => confirm(new Error('message nacked')));
      return !this.full;
    }
    this.writes.push({ id: options.messageId!, confirm });
    return !this.full;
  }

  /** What amqplib does when a channel closes: every unconfirmed callback fails. */
  die(): void {
    for (const w of this.writes.splice(0)) w.confirm(new Error('channel closed'));
  }
}

const message = (id: string): BusMessage => ({ id, name: 'e.x', data: Buffer.from('{}'), contentType: 'application/json', headers: {} });
const asChannel = (c: FakeChannel): ConfirmChannel => c as unknown as ConfirmChannel;
const WAIT = { whenFull: 'wait', timeoutMs: 60_000 } as const;
const THROW = { whenFull: 'throw', timeoutMs: 60_000 } as const;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('rabbitmq publisher', () => {
  it('holds publishes while detached, then writes them in order and resolves on confirm', async () => {
    const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 100, broker: 'RabbitMQ test' });
    const done: string[] = [];
    const emits = ['a', 'b', 'c'].map((id) => p.publish(message(id), WAIT).then(() => done.push(id)));
    expect(p.pending).toBe(3);
    const ch = new FakeChannel();
    p.attach(asChannel(ch));
    expect(ch.writes.map((w) => w.id)).toEqual(['a', 'b', 'c']);
    await flush();
    expect(done).toEqual([]); // written is not confirmed
    for (const w of ch.writes) w.confirm(null);
    await Promise.all(emits);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(p.pending).toBe(0);
  });

  it('writes again, in order, what a dead channel never confirmed; stale confirms are ignored', async () => {
    const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 100, broker: 'RabbitMQ test' });
    const first = new FakeChannel();
    p.attach(asChannel(first));
    const emits = ['a', 'b', 'c'].map((id) => p.publish(message(id), WAIT));
    const [a, b, c] = first.writes;
    a!.confirm(null); // a is confirmed before the channel dies
    const staleB = b!.confirm;
    first.die(); // b and c fail with "channel closed"
    p.detach();
    expect(p.pending).toBe(2);
    const second = new FakeChannel();
    p.attach(asChannel(second));
    expect(second.writes.map((w) => w.id)).toEqual(['b', 'c']);
    staleB(null); // a late confirm from the dead channel must not settle the new write
    c!.confirm(null);
    expect(p.pending).toBe(2);
    for (const w of second.writes) w.confirm(null);
    await Promise.all(emits);
    expect(p.pending).toBe(0);
  });

  it('bounds the buffer: waits for room, or throws BackpressureError when asked to shed', async () => {
    const p = new Publisher({ exchange: 'ex', max: 2, maxWaiting: 100, broker: 'RabbitMQ test' });
    const ch = new FakeChannel();
    p.attach(asChannel(ch));
    const accepted = [p.publish(message('a'), WAIT), p.publish(message('b'), WAIT)];
    await expect(p.publish(message('c'), THROW)).rejects.toBeInstanceOf(BackpressureError);
    let waitedIn = false;
    const waiting = p.publish(message('d'), WAIT).then(() => (waitedIn = true));
    await flush();
    expect(ch.writes.map((w) => w.id)).toEqual(['a', 'b']);
    ch.writes[0]!.confirm(null);
    await flush();
    expect(ch.writes.map((w) => w.id)).toEqual(['a', 'b', 'd']); // room freed: d goes out
    ch.writes[1]!.confirm(null);
    ch.writes[2]!.confirm(null);
    await Promise.all([...accepted, waiting]);
    expect(waitedIn).toBe(true);
  });

  it('stops writing when the socket buffer is full until the channel drains', () => {
    const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 100, broker: 'RabbitMQ test' });
    const ch = new FakeChannel();
    ch.full = true;
    p.attach(asChannel(ch));
    for (const id of ['a', 'b', 'c']) void p.publish(message(id), WAIT).catch(() => undefined);
    expect(ch.writes.map((w) => w.id)).toEqual(['a']);
    ch.full = false;
    ch.emit('drain');
    expect(ch.writes.map((w) => w.id)).toEqual(['a', 'b', 'c']);
  });

  it('rejects everything still buffered on failAll', async () => {
    const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 100, broker: 'RabbitMQ test' });
    const pending = p.publish(message('a'), WAIT);
    p.failAll(new ClosedError('test'));
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(p.publish(message('b'), WAIT)).rejects.toBeInstanceOf(ClosedError);
  });

  it('caps the waiters: past maxWaiting an emit gets BackpressureError at once, naming the broker and the limits', async () => {
    const p = new Publisher({ exchange: 'ex', max: 2, maxWaiting: 3, broker: 'RabbitMQ amqp://h:5672' });
    const outcomes = Array.from({ length: 10 }, (_, i) => p.publish(message(`m${i}`), WAIT).then(() => 'ok', (e: unknown) => e));
    await flush();
    expect(p.pending).toBe(2);
    expect(p.waitingCount).toBe(3);
    const refused = (await Promise.race([Promise.all(outcomes.slice(5)), flush().then(() => 'still waiting')])) as unknown[];
    expect(refused).toHaveLength(5);
    for (const e of refused) {
      expect(e).toBeInstanceOf(BackpressureError);
      expect((e as Error).message).toMatch(/RabbitMQ amqp:\/\/h:5672.*maxPendingPublishes 2, maxWaitingPublishes 3.*3 callers already waiting/);
    }
    p.failAll(new ClosedError('test'));
    for (const e of await Promise.all(outcomes.slice(0, 5))) expect(e).toBeInstanceOf(ClosedError);
  });

  it('tells the adapter once per flush, after the writes, so one turn of publishes leaves in one socket write', async () => {
    const told: number[] = [];
    const ch = new FakeChannel();
    const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 100, broker: 'RabbitMQ test', wrote: (c) => told.push((c as unknown as FakeChannel).writes.length) });
    p.publish(message('held'), WAIT).catch(() => undefined);
    expect(told).toEqual([]); // nothing written while detached
    p.attach(asChannel(ch));
    expect(told).toEqual([1]);
    p.publish(message('b'), WAIT).catch(() => undefined);
    p.publish(message('c'), WAIT).catch(() => undefined);
    expect(told).toEqual([1, 2, 3]);
    p.failAll(new ClosedError('test'));
  });

  it('gives every publish a deadline: held events are dropped unsent, waiters time out', async () => {
    const p = new Publisher({ exchange: 'ex', max: 2, maxWaiting: 10, broker: 'RabbitMQ test' });
    // Detached (the broker is down): two held, one waiting for room.
    const outcomes = ['a', 'b', 'c'].map((id) => p.publish(message(id), { whenFull: 'wait', timeoutMs: id === 'c' ? 20 : 60 }).then(() => 'ok', (e: unknown) => e));
    const [a, b, c] = await Promise.all(outcomes);
    for (const e of [a, b, c]) expect(e).toBeInstanceOf(TimeoutError);
    expect((a as Error).message).toMatch(/held while the broker was unreachable and dropped: nothing was sent/);
    expect((c as Error).message).toMatch(/waiting for room/);
    expect(p.pending).toBe(0);
    expect(p.waitingCount).toBe(0);
    // Nothing dropped is written when the broker comes back.
    const ch = new FakeChannel();
    p.attach(asChannel(ch));
    expect(ch.writes).toEqual([]);
  });

  it('ends a publish on its abort signal, held or waiting', async () => {
    const p = new Publisher({ exchange: 'ex', max: 1, maxWaiting: 10, broker: 'RabbitMQ test' });
    const controller = new AbortController();
    const held = p.publish(message('a'), { ...WAIT, signal: controller.signal });
    const waiting = p.publish(message('b'), { ...WAIT, signal: controller.signal });
    await flush();
    controller.abort(new Error('caller gave up'));
    await expect(held).rejects.toThrow('caller gave up');
    await expect(waiting).rejects.toThrow('caller gave up');
    expect(p.pending).toBe(0);
    await expect(p.publish(message('c'), { ...WAIT, signal: controller.signal })).rejects.toThrow('caller gave up');
  });

  it('wakes one waiter per freed slot: each waiting emit parks once, however many confirms arrive (no thundering herd)', async () => {
    const n = 2000;
    const p = new Publisher({ exchange: 'ex', max: 1, maxWaiting: n, broker: 'RabbitMQ test' });
    const ch = new FakeChannel();
    p.attach(asChannel(ch));
    // Every emit shares one signal: each time a caller parks to wait it listens for 'abort' once.
    const controller = new AbortController();
    let parks = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => {
      if (type === 'abort') parks += 1;
      add(type, listener, options);
    }) as typeof controller.signal.addEventListener;
    const emits = Array.from({ length: n + 1 }, (_, i) => p.publish(message(`m${i}`), { ...WAIT, signal: controller.signal }));
    for (let confirmed = 0; confirmed <= n; confirmed += 1) {
      await flush();
      ch.writes[confirmed]!.confirm(null);
    }
    await Promise.all(emits);
    // One listener per emit for its buffered entry, plus one per waiter for its single wait.
    expect(parks).toBe(2 * n + 1);
  });

  describe('nacks (a quorum queue between leaders)', () => {
    afterEach(() => void vi.useRealTimers());
    const nack = new Error('message nacked');

    it('writes a nacked event again after a backoff, doubling, and resolves on the confirm that follows', async () => {
      vi.useFakeTimers();
      const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 10, broker: 'RabbitMQ test' });
      const ch = new FakeChannel();
      p.attach(asChannel(ch));
      let done = false;
      const emit = p.publish(message('a'), WAIT).then(() => (done = true));
      ch.writes[0]!.confirm(nack);
      expect(ch.writes).toHaveLength(1); // not hammered again at once
      expect(p.pending).toBe(1);
      await vi.advanceTimersByTimeAsync(99);
      expect(ch.writes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(ch.writes.map((w) => w.id)).toEqual(['a', 'a']);
      ch.writes[1]!.confirm(nack);
      await vi.advanceTimersByTimeAsync(199);
      expect(ch.writes).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(ch.writes).toHaveLength(3);
      ch.writes[2]!.confirm(null);
      await emit;
      expect(done).toBe(true);
      expect(p.pending).toBe(0);
    });

    it('keeps a nacked event across a reconnect and fails it at its deadline, saying it was nacked and may be duplicated', async () => {
      vi.useFakeTimers();
      const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 10, broker: 'RabbitMQ test' });
      const first = new FakeChannel();
      p.attach(asChannel(first));
      const outcome = p.publish(message('a'), { whenFull: 'wait', timeoutMs: 5000 }).then(() => 'ok', (e: unknown) => e);
      first.writes[0]!.confirm(nack);
      p.detach(); // the connection dies while the event waits out its backoff
      const second = new FakeChannel();
      p.attach(asChannel(second));
      await vi.advanceTimersByTimeAsync(100);
      expect(second.writes.map((w) => w.id)).toEqual(['a']); // written on the channel that is up then
      // From now on the broker nacks every write: the retries go on until the deadline, not a count.
      second.nackAll = true;
      second.writes.splice(0)[0]!.confirm(nack);
      await vi.advanceTimersByTimeAsync(6000);
      const e = await outcome;
      expect(e).toBeInstanceOf(TimeoutError);
      // Written at 100, 300, 700, 1500 and 3100 ms (backoff 100, 200, 400, 800, 1600 ms); the next would be past 5000.
      expect(second.nacked).toBe(4);
      expect((e as Error).message).toMatch(/nacked 6 times by the broker .*may still have been enqueued, and a retry may duplicate it/);
      expect(p.pending).toBe(0);
    });

    it('calls onNackStreak for 2 nacks in a row on one channel (not when a confirm comes between), at most once a second', async () => {
      vi.useFakeTimers();
      const streaks: FakeChannel[] = [];
      const p = new Publisher({ exchange: 'ex', max: 10, maxWaiting: 10, broker: 'RabbitMQ test', onNackStreak: (ch) => void streaks.push(ch as unknown as FakeChannel) });
      const ch = new FakeChannel();
      p.attach(asChannel(ch));
      const emits = ['a', 'b', 'c', 'd', 'e'].map((id) => p.publish(message(id), WAIT));
      const [a, b, c, d, e] = ch.writes;
      a!.confirm(nack);
      b!.confirm(null); // a confirm between two nacks: no streak
      c!.confirm(nack);
      expect(streaks).toEqual([]);
      d!.confirm(nack);
      expect(streaks).toEqual([ch]); // c and d in a row
      e!.confirm(nack);
      await vi.advanceTimersByTimeAsync(100); // a, c, d, e written again
      for (const w of ch.writes.slice(5, 7)) w.confirm(nack);
      expect(streaks).toHaveLength(1); // within the second: not again
      await vi.advanceTimersByTimeAsync(1000);
      for (const w of ch.writes.slice(7)) w.confirm(nack);
      expect(streaks).toHaveLength(2);
      // A new channel is attached: what is written there is confirmed.
      const next = new FakeChannel();
      p.detach();
      p.attach(asChannel(next));
      await vi.advanceTimersByTimeAsync(2000);
      for (const w of next.writes) w.confirm(null);
      await Promise.all(emits);
      expect(p.pending).toBe(0);
    });
  });
});
