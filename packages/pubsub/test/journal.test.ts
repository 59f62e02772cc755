/**
 * Journal steps of pubsub (no OpenTelemetry SDK in this file): one `broadcast` step per
 * broadcast, with its ids, the application's search keys, its outcome; none for the platform's
 * own presence messages; a journal that throws never breaks a broadcast. Without an SDK nothing
 * is traced: no trace header is written and no step names a trace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, JourneyStep, PubSubAdapter } from '@events/core';
import { randomId, waitFor } from '@events/testing';
import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import { tracingOn } from '@events/core';

describe('pubsub journal steps', () => {
  const open: PubSub[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  function journaled(steps: JourneyStep[], adapter: PubSubAdapter = memoryPubSub()): PubSub {
    const pubsub = createPubSub({
      adapter,
      onError: () => undefined,
      journal: {
        record: (step) => void steps.push(step),
        keysOf: (name, payload) => (name.endsWith(':signup') ? [(payload as { email: string }).email] : []),
      },
    });
    open.push(pubsub);
    return pubsub;
  }

  it('one broadcast step per broadcast, local broadcasts included: ids, keys, outcome, timing; no trace without an SDK', async () => {
    expect(tracingOn()).toBe(false);
    const steps: JourneyStep[] = [];
    const pubsub = journaled(steps);
    const ch = `${randomId('j')}:signup`;
    const got: Envelope[] = [];
    await pubsub.subscribe(ch, (_m, meta) => void got.push(meta.envelope));
    const started = Date.now();
    expect(await pubsub.broadcast(ch, { email: 'ada@example.com' }, { correlationId: 'flow-1' })).toBe(1);
    await pubsub.localBroadcast(ch, { email: 'bob@example.com' });
    await waitFor(() => got.length === 2);
    expect(steps).toHaveLength(2);
    expect(steps[0]).toEqual({
      kind: 'broadcast',
      tier: 'pubsub',
      system: 'memory',
      name: ch,
      envelopeId: got[0]!.id,
      correlationId: 'flow-1',
      causationId: undefined,
      at: steps[0]!.at,
      durationMs: steps[0]!.durationMs,
      outcome: 'ok',
      keys: ['ada@example.com'],
    });
    expect(steps[0]!.at).toBeGreaterThanOrEqual(started);
    expect(steps[0]!.durationMs).toBeGreaterThanOrEqual(0);
    // Its own id is the flow's id when a message starts one.
    expect(steps[1]).toMatchObject({ envelopeId: got[1]!.id, correlationId: got[1]!.id, outcome: 'ok', keys: ['bob@example.com'] });
    expect(steps[1]!.traceId).toBeUndefined();
    for (const envelope of got) expect(Object.keys(envelope.headers).filter((h) => h === 'traceparent' || h === 'tracestate')).toEqual([]);
  });

  it('a broadcast the transport refuses is an error step with the error text', async () => {
    const steps: JourneyStep[] = [];
    const adapter: PubSubAdapter = {
      kind: 'refusing',
      start: () => Promise.resolve(),
      publish: () => Promise.reject(new Error('connection reset by peer')),
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const pubsub = journaled(steps, adapter);
    const ch = `${randomId('j')}:news`;
    expect(await pubsub.broadcast(ch, 'x')).toBe(0);
    expect(steps).toEqual([expect.objectContaining({ kind: 'broadcast', system: 'refusing', name: ch, outcome: 'error', error: 'connection reset by peer' })]);
    expect(steps[0]!.keys).toBeUndefined();
  });

  it("presence messages (the platform's own) make no step", async () => {
    const steps: JourneyStep[] = [];
    const hub = createMemoryHub();
    const pubsub = journaled(steps, memoryPubSub({ hub }));
    const ch = `${randomId('j')}:room`;
    const member = await pubsub.join(ch, { user: 'ada' });
    await member.leave();
    await pubsub.broadcast(ch, 'hello');
    expect(steps.map((s) => s.name)).toEqual([ch]);
  });

  it('a journal whose record or keysOf throws never breaks a broadcast', async () => {
    const pubsub = createPubSub({
      adapter: memoryPubSub(),
      journal: {
        record: () => {
          throw new Error('journal full');
        },
        keysOf: () => {
          throw new Error('bad keys');
        },
      },
    });
    open.push(pubsub);
    const ch = `${randomId('j')}:news`;
    let got = 0;
    await pubsub.subscribe(ch, () => void (got += 1));
    expect(await pubsub.broadcast(ch, 1)).toBe(1);
    expect(got).toBe(1);
  });
});
