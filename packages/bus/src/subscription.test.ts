import { describe, expect, it } from 'vitest';
import { createEnvelope, jsonSerializer, ValidationError, type StandardSchemaV1 } from '@events/core';
import { createBus, type BusErrorEvent } from './index.js';
import { createMemoryBusAdapter } from './adapters/memory.js';

type Events = { 'users.SignedUp': { userId: string } };

/** A tiny Standard Schema: userId must be a non-empty string. */
const userSchema: StandardSchemaV1<unknown, { userId: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => {
      const v = value as { userId?: unknown };
      return typeof v?.userId === 'string' && v.userId.length > 0 ? { value: { userId: v.userId } } : { issues: [{ message: 'required', path: ['userId'] }] };
    },
  },
};

const waitUntil = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !cond(); i += 1) await new Promise((r) => setTimeout(r, 2));
};

describe('delivery handling', () => {
  it('validates payloads with Standard Schema at emit and again on receipt', async () => {
    const adapter = createMemoryBusAdapter();
    const errors: BusErrorEvent[] = [];
    const bus = createBus<Events>({ adapter, schemas: { 'users.SignedUp': userSchema }, onError: (e) => errors.push(e) });
    const got: string[] = [];
    await bus.on('users.SignedUp', (e) => void got.push(e.payload.userId), { group: 'audit' });
    await expect(bus.emit('users.SignedUp', { userId: '' })).rejects.toBeInstanceOf(ValidationError);
    // Another producer (no schema) sends a bad payload straight through the transport.
    const bad = createEnvelope('users.SignedUp', { userId: 42 });
    await adapter.publish({ id: bad.id, name: bad.name, data: jsonSerializer.encode(bad), contentType: 'application/json', headers: {} }, { whenFull: 'wait' });
    await bus.emit('users.SignedUp', { userId: 'ok' });
    await waitUntil(() => got.length === 1 && errors.length === 1);
    expect(got).toEqual(['ok']);
    expect(errors[0]).toMatchObject({ stage: 'dead-letter', attempt: 1 });
    expect(errors[0]!.error).toBeInstanceOf(ValidationError);
    expect(adapter.broker.deadLetters('audit')).toHaveLength(1);
    await bus.close();
  });

  it('dead-letters an event whose partition key cannot be computed, without stopping the others', async () => {
    const errors: BusErrorEvent[] = [];
    const bus = createBus<Events>({ onError: (e) => errors.push(e) });
    const got: string[] = [];
    await bus.on('users.SignedUp', (e) => void got.push(e.payload.userId), {
      group: 'p',
      partitionBy: (e) => {
        if (e.payload.userId === 'boom') throw new Error('no key');
        return e.payload.userId;
      },
    });
    await bus.emit('users.SignedUp', { userId: 'boom' });
    await bus.emit('users.SignedUp', { userId: 'fine' });
    await waitUntil(() => got.length === 1 && errors.length === 1);
    expect(got).toEqual(['fine']);
    expect(errors.map((e) => e.stage)).toEqual(['dead-letter']);
    await bus.close();
  });

  it('aborts ctx.signal and stops retrying when the bus is force-closed', async () => {
    const errors: BusErrorEvent[] = [];
    const bus = createBus<Events>({ onError: (e) => errors.push(e), retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 60_000 } } });
    let attempts = 0;
    let aborted = false;
    await bus.on('users.SignedUp', (_e, ctx) => {
      attempts += 1;
      ctx.signal.addEventListener('abort', () => (aborted = true));
      throw new Error('transient');
    }, { group: 'r' });
    await bus.emit('users.SignedUp', { userId: '1' });
    await waitUntil(() => attempts === 1 && errors.length === 1);
    await bus.close({ force: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(true);
    expect(attempts).toBe(1); // the 60 s backoff was cut short and no attempt followed
  });
});
