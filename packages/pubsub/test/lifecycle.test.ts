/**
 * The PubSub lifecycle against adapters that fail on purpose (issue 11 finding 6, issue 12 item 1):
 * a failed start releases the adapter and can be retried, an unsubscribe that fails while closing
 * is reported rather than left to reject unhandled, a subscribe in progress when close begins is
 * refused and leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { ClosedError, type ErrorEvent, type PubSubAdapter } from '@events/core';
import { deferred } from '@events/testing';
import { createPubSub, memoryPubSub } from '../src/index.js';

/** The memory adapter with some calls replaced. */
function adapterWith(overrides: Partial<PubSubAdapter>): PubSubAdapter & { calls: string[] } {
  const inner = memoryPubSub();
  const calls: string[] = [];
  return {
    calls,
    kind: 'test',
    start: (h) => (calls.push('start'), overrides.start ? overrides.start(h) : inner.start(h)),
    publish: (c, d) => inner.publish(c, d),
    subscribe: (t, k) => (calls.push(`subscribe ${t}`), overrides.subscribe ? overrides.subscribe(t, k) : inner.subscribe(t, k)),
    unsubscribe: (t, k) => (calls.push(`unsubscribe ${t}`), overrides.unsubscribe ? overrides.unsubscribe(t, k) : inner.unsubscribe(t, k)),
    close: (o) => (calls.push(`close${o?.force ? ' force' : ''}`), inner.close(o)),
  };
}

describe('pubsub lifecycle', () => {
  it('a failed start releases the adapter, reports phase failed, and a later start succeeds', async () => {
    let fail = true;
    const adapter = adapterWith({ start: () => (fail ? Promise.reject(new Error('no broker')) : Promise.resolve()) });
    const pubsub = createPubSub({ adapter });
    await expect(pubsub.start()).rejects.toThrow('no broker');
    expect(pubsub.health().phase).toBe('failed');
    expect(adapter.calls).toEqual(['start', 'close force']);
    fail = false;
    await pubsub.ready();
    expect(pubsub.health()).toMatchObject({ phase: 'ready', connected: true });
    await pubsub.close();
  });

  it('an unsubscribe that fails while closing is reported, never left to reject unhandled', async () => {
    const errors: ErrorEvent[] = [];
    const adapter = adapterWith({ unsubscribe: () => Promise.reject(new Error('connection gone')) });
    const pubsub = createPubSub({ adapter, onError: (e) => void errors.push(e) });
    const handle = await pubsub.subscribe('a', () => undefined);
    const closing = pubsub.close();
    await handle.close();
    await closing;
    expect(errors.map((e) => [e.kind, e.name, e.error.message])).toEqual([['transport', 'a', 'connection gone']]);
  });

  it('a subscribe in progress when close begins is refused with ClosedError and leaves nothing subscribed', async () => {
    const confirm = deferred<void>();
    const adapter = adapterWith({ subscribe: () => confirm.promise });
    const pubsub = createPubSub({ adapter });
    await pubsub.start();
    const pending = pubsub.subscribe('late', () => undefined).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    const closing = pubsub.close();
    confirm.resolve();
    expect(await pending).toBeInstanceOf(ClosedError);
    await closing;
    expect(pubsub.subscriptions().size).toBe(0);
    expect(pubsub.health().counts).toMatchObject({ subscriptions: 0, topics: 0 });
  });

  it('close waits for a start in progress, then shuts down once', async () => {
    const started = deferred<void>();
    const adapter = adapterWith({ start: () => started.promise });
    const pubsub = createPubSub({ adapter });
    const starting = pubsub.start();
    const closing = pubsub.close();
    started.resolve();
    await starting;
    await closing;
    expect(adapter.calls).toEqual(['start', 'close']);
    await expect(pubsub.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it('refuses a namespace with glob characters or spaces', () => {
    expect(() => createPubSub({ namespace: 'a*' })).toThrow(/namespace/);
    expect(() => createPubSub({ namespace: 'a b' })).toThrow(/namespace/);
  });
});
