import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, type BusMessage } from '@events/core';
import type { ConfirmChannel } from 'amqplib';
import { Publisher } from './rabbitmq-publisher.js';

type Confirm = (err: unknown) => void;

/** A confirm channel that records writes; the test confirms or kills them. */
class FakeChannel extends EventEmitter {
  readonly writes: Array<{ id: string; confirm: Confirm }> = [];
  full = false;

  publish(_exchange: string, _key: string, _data: Buffer, options: { messageId?: string }, confirm: Confirm): boolean {
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
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('rabbitmq publisher', () => {
  it('holds publishes while detached, then writes them in order and resolves on confirm', async () => {
    const p = new Publisher('ex', 10);
    const done: string[] = [];
    const emits = ['a', 'b', 'c'].map((id) => p.publish(message(id), { whenFull: 'wait' }).then(() => done.push(id)));
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
    const p = new Publisher('ex', 10);
    const first = new FakeChannel();
    p.attach(asChannel(first));
    const emits = ['a', 'b', 'c'].map((id) => p.publish(message(id), { whenFull: 'wait' }));
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
    const p = new Publisher('ex', 2);
    const ch = new FakeChannel();
    p.attach(asChannel(ch));
    const accepted = [p.publish(message('a'), { whenFull: 'wait' }), p.publish(message('b'), { whenFull: 'wait' })];
    await expect(p.publish(message('c'), { whenFull: 'throw' })).rejects.toBeInstanceOf(BackpressureError);
    let waitedIn = false;
    const waiting = p.publish(message('d'), { whenFull: 'wait' }).then(() => (waitedIn = true));
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
    const p = new Publisher('ex', 10);
    const ch = new FakeChannel();
    ch.full = true;
    p.attach(asChannel(ch));
    for (const id of ['a', 'b', 'c']) void p.publish(message(id), { whenFull: 'wait' }).catch(() => undefined);
    expect(ch.writes.map((w) => w.id)).toEqual(['a']);
    ch.full = false;
    ch.emit('drain');
    expect(ch.writes.map((w) => w.id)).toEqual(['a', 'b', 'c']);
  });

  it('rejects everything still buffered on failAll', async () => {
    const p = new Publisher('ex', 10);
    const pending = p.publish(message('a'), { whenFull: 'wait' });
    p.failAll(new ClosedError('test'));
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(p.publish(message('b'), { whenFull: 'wait' })).rejects.toBeInstanceOf(ClosedError);
  });
});
