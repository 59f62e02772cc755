import { describe, expect, it } from 'vitest';
import { SerializationError } from '@events/core';
import { waitFor } from '@events/testing';
import { createBus } from '../create-bus.js';
import { createMemoryBroker, memoryBus } from './memory.js';

type Events = { 'user.signedUp': { email: string; tags: string[] }; 'user.mapped': Map<string, number> };

/** What handlers saw, and a wait until they saw `n` things. */
function collect<T>(): { seen: T[]; until: (n: number) => Promise<void> } {
  const seen: T[] = [];
  return { seen, until: (n) => waitFor(() => seen.length >= n, 5_000, `${n} deliveries`) };
}

describe('memory bus, zero-copy mode', () => {
  it('hands every group the sender\'s own payload object, not a copy', async () => {
    const bus = createBus<Events>({ adapter: memoryBus({ zeroCopy: true, freeze: false }) });
    const got = collect<object>();
    await bus.on('user.signedUp', async (e) => void got.seen.push(e.payload), { group: 'audit' });
    await bus.on('user.signedUp', async (e) => void got.seen.push(e.payload), { group: 'mail' });
    const payload = { email: 'a@example.com', tags: ['x'] };
    await bus.emit('user.signedUp', payload);
    await got.until(2);
    expect(got.seen[0]).toBe(payload);
    expect(got.seen[1]).toBe(payload);
    await bus.close();
  });

  it('freezes the envelope and payload by default outside production, so a mutating handler throws', async () => {
    expect(process.env.NODE_ENV).not.toBe('production');
    const errors: unknown[] = [];
    const bus = createBus<Events>({ adapter: memoryBus({ zeroCopy: true }), onError: (event) => errors.push(event.error) });
    const outcome = collect<string>();
    await bus.on(
      'user.signedUp',
      async (e) => {
        try {
          e.payload.tags.push('mutated');
          outcome.seen.push('mutated');
        } catch (error) {
          outcome.seen.push((error as Error).name);
        }
      },
      { retry: false },
    );
    const payload = { email: 'a@example.com', tags: ['x'] };
    await bus.emit('user.signedUp', payload);
    await outcome.until(1);
    expect(outcome.seen).toEqual(['TypeError']);
    expect(Object.isFrozen(payload)).toBe(true);
    expect(payload.tags).toEqual(['x']);
    await bus.close();
  });

  it('copies by default: handlers get an equal object, never the sender\'s, and non-JSON payloads are refused at emit', async () => {
    const bus = createBus<Events>({ adapter: memoryBus() });
    const got = collect<object>();
    await bus.on('user.signedUp', async (e) => void got.seen.push(e.payload));
    const payload = { email: 'a@example.com', tags: ['x'] };
    await bus.emit('user.signedUp', payload);
    await got.until(1);
    expect(got.seen[0]).not.toBe(payload);
    expect(got.seen[0]).toEqual(payload);
    await expect(bus.emit('user.mapped', new Map([['a', 1]]))).rejects.toBeInstanceOf(SerializationError);
    await bus.close();
  });

  it('carries what JSON cannot (a Map arrives as the same Map) and still dead-letters as JSON bytes', async () => {
    const broker = createMemoryBroker();
    const errors: string[] = [];
    const bus = createBus<Events>({ adapter: memoryBus({ broker, zeroCopy: true, freeze: false }), onError: (event) => errors.push(event.kind) });
    const got = collect<unknown>();
    await bus.on('user.mapped', async (e) => void got.seen.push(e.payload));
    await bus.on('user.signedUp', async () => {
      got.seen.push('failed');
      throw new Error('boom');
    }, { group: 'failing', retry: false });
    const map = new Map([['a', 1]]);
    await bus.emit('user.mapped', map);
    const envelope = await bus.emit('user.signedUp', { email: 'b@example.com', tags: [] });
    await got.until(2);
    expect(got.seen[0]).toBe(map);
    const dead = broker.deadLetters('failing');
    expect(dead).toHaveLength(1);
    expect(errors).toContain('dead-letter');
    expect(JSON.parse(dead[0]!.data.toString('utf8'))).toMatchObject({ id: envelope.id, name: 'user.signedUp', payload: { email: 'b@example.com' } });
    await bus.close();
  });
});
