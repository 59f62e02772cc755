import { describe, expect, it } from 'vitest';
import { createEnvelope, jsonSerializer, ValidationError, type ErrorEvent, type StandardSchemaV1 } from '@events/core';
import { delay, waitFor } from '@events/testing';
import { createBus } from './index.js';
import { memoryBus } from './adapters/memory.js';

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

describe('delivery handling', () => {
  it('validates payloads with Standard Schema at emit and again on receipt', async () => {
    const adapter = memoryBus();
    const errors: ErrorEvent[] = [];
    const bus = createBus<Events>({ adapter, schemas: { 'users.SignedUp': userSchema }, onError: (e) => errors.push(e) });
    const got: string[] = [];
    await bus.on('users.SignedUp', (e) => void got.push(e.payload.userId), { group: 'audit' });
    await expect(bus.emit('users.SignedUp', { userId: '' })).rejects.toBeInstanceOf(ValidationError);
    // Another producer (no schema) sends a bad payload straight through the transport.
    const bad = createEnvelope('users.SignedUp', { userId: 42 });
    await adapter.publish({ id: bad.id, name: bad.name, data: jsonSerializer.encode(bad), contentType: 'application/json', headers: {} }, { whenFull: 'wait', timeoutMs: 1000 });
    await bus.emit('users.SignedUp', { userId: 'ok' });
    await waitFor(() => got.length === 1 && errors.length === 1, 5000, 'the good event and the refusal');
    expect(got).toEqual(['ok']);
    expect(errors[0]).toMatchObject({ tier: 'bus', kind: 'dead-letter', name: 'users.SignedUp', id: bad.id, detail: { group: 'audit', pattern: 'users.SignedUp', attempt: 1 } });
    expect(errors[0]!.error).toBeInstanceOf(ValidationError);
    expect(adapter.broker.deadLetters('audit')).toHaveLength(1);
    await bus.close();
  });

  it('dead-letters an event whose partition key cannot be computed, without stopping the others', async () => {
    const errors: ErrorEvent[] = [];
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
    await waitFor(() => got.length === 1 && errors.length === 1, 5000, 'the good event and the refusal');
    expect(got).toEqual(['fine']);
    expect(errors.map((e) => e.kind)).toEqual(['dead-letter']);
    await bus.close();
  });

  it('aborts ctx.signal and stops retrying when the bus is force-closed', async () => {
    const errors: ErrorEvent[] = [];
    const bus = createBus<Events>({ onError: (e) => errors.push(e), retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } } });
    let attempts = 0;
    let aborted = false;
    await bus.on('users.SignedUp', (_e, ctx) => {
      attempts += 1;
      ctx.signal.addEventListener('abort', () => (aborted = true));
      throw new Error('transient');
    }, { group: 'r' });
    await bus.emit('users.SignedUp', { userId: '1' });
    await waitFor(() => attempts === 1 && errors.length === 1, 5000, 'the first failed attempt');
    expect(bus.health().counts.inFlight).toBe(1); // the delivery sleeps in its 60 s backoff
    await bus.close({ force: true });
    expect(aborted).toBe(true);
    // The backoff was cut short: the delivery settled long before 60 s (a forced close does not
    // wait for it, so this is what shows it), and no attempt followed.
    await waitFor(() => bus.health().counts.inFlight === 0, 2000, 'the retry loop to end');
    await delay(20);
    expect(attempts).toBe(1);
  });
});
