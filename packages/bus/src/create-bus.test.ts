import { describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, TimeoutError, type BusAdapter } from '@events/core';
import { createBus, MAX_EMITS_WAITING_TO_START } from './index.js';
import { memoryBus } from './adapters/memory.js';

type Events = { 'users.SignedUp': { userId: string } };

/** A memory adapter whose start hangs, like a broker that accepts TCP and never answers. */
function hangingStart(): BusAdapter {
  return { ...memoryBus(), start: () => new Promise<void>(() => undefined) };
}

describe('createBus: every wait before the adapter is bounded', () => {
  it('an emit waiting for the bus to start ends at its deadline, and the line of such emits is capped', async () => {
    const bus = createBus<Events>({ adapter: hangingStart(), emitTimeoutMs: 200 });
    const waiting = Array.from({ length: MAX_EMITS_WAITING_TO_START }, (_, i) => bus.emit('users.SignedUp', { userId: `${i}` }).then(() => 'ok', (e: unknown) => e));
    await new Promise((r) => setImmediate(r));
    expect(bus.health().counts.waitingEmits).toBe(MAX_EMITS_WAITING_TO_START);
    const refused = await bus.emit('users.SignedUp', { userId: 'one too many' }).then(() => 'ok', (e: unknown) => e);
    expect(refused).toBeInstanceOf(BackpressureError);
    expect((refused as Error).message).toMatch(/waiting for the bus to start .*1000 emits already wait/);
    for (const outcome of await Promise.all(waiting)) {
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect((outcome as Error).message).toMatch(/bus\.emit of users\.SignedUp waiting for the bus to start \(is the broker reachable\?\) timed out after 200 ms/);
    }
    expect(bus.health().counts.waitingEmits).toBe(0);
  });

  it('an emit waiting for the start ends on its signal', async () => {
    const bus = createBus<Events>({ adapter: hangingStart() });
    const controller = new AbortController();
    const emitting = bus.emit('users.SignedUp', { userId: '1' }, { signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(emitting).rejects.toThrow('client went away');
  });

  it('refuses emit and on once close began, and close returns the same promise every time', async () => {
    const bus = createBus<Events>();
    const first = bus.close();
    expect(bus.close({ force: true })).toBe(first);
    await expect(bus.emit('users.SignedUp', { userId: '1' })).rejects.toBeInstanceOf(ClosedError);
    await expect(bus.on('users.SignedUp', () => undefined)).rejects.toBeInstanceOf(ClosedError);
    await first;
    expect(bus.health().phase).toBe('closed');
  });

  it('refuses an invalid emit timeout', async () => {
    const bus = createBus<Events>();
    await expect(bus.emit('users.SignedUp', { userId: '1' }, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    expect(() => createBus({ emitTimeoutMs: -1 })).toThrow(/emitTimeoutMs/);
    await bus.close();
  });
});
