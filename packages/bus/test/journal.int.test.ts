/**
 * The bus records a message's path in its journal (core's Journal), on memory and on RabbitMQ:
 * an emit step when the adapter accepted or refused the event (with the application's search
 * keys), a handle step per handler attempt per consumer group (attempt, duration, outcome, error),
 * every step of one flow under one correlation id and, with a tracing SDK (tracing `always`: each flow starts its own trace), one trace id. A journal
 * that throws never breaks an emit or a handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryTracing, waitFor } from '@events/testing';
import type { Journal, JourneyStep } from '@events/core';
import { createBus } from '../src/create-bus.js';
import { targets } from './targets.js';

const tracing = inMemoryTracing();
beforeAll(tracing.install);
afterAll(tracing.uninstall);

type Events = { 'users.SignedUp': { email: string }; 'mail.Queued': { email: string }; 'mail.Bounced': { email: string } };

function recordingJournal(): Journal & { steps: JourneyStep[] } {
  const steps: JourneyStep[] = [];
  return {
    steps,
    record: (step) => void steps.push(step),
    keysOf: (_name, payload) => [(payload as { email: string }).email],
  };
}

const retry = { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } as const;

describe.each(targets)('bus journal on %s', (system, make) => {
  it('emit -> handle(retry, attempt 1) -> handle(ok, attempt 2) in one flow; an emit from the handler is caused by the event it handles', async () => {
    const { adapter, cleanup } = await make();
    const journal = recordingJournal();
    const bus = createBus<Events>({ adapter, journal, tracing: 'always', retry, onError: () => undefined });
    let calls = 0;
    let queued = 0;
    try {
      await bus.on('users.SignedUp', async () => undefined, { group: 'audit' });
      await bus.on('users.SignedUp', async (event, ctx) => {
        calls += 1;
        if (calls === 1) throw new Error('smtp hiccup');
        await ctx.emit('mail.Queued', { email: event.payload.email });
      }, { group: 'notifications' });
      await bus.on('mail.Queued', async () => void (queued += 1), { group: 'mailer' });
      const signup = await bus.emit('users.SignedUp', { email: 'a@example.com' });
      await waitFor(() => journal.steps.filter((s) => s.kind === 'handle').length === 4, 15_000, 'four handle steps');

      const { steps } = journal;
      const emit = steps.find((s) => s.kind === 'emit' && s.name === 'users.SignedUp')!;
      expect(emit).toMatchObject({ tier: 'bus', system, envelopeId: signup.id, correlationId: signup.id, outcome: 'ok', keys: ['a@example.com'] });
      expect(emit.causationId).toBeUndefined();
      expect(emit.durationMs).toBeGreaterThanOrEqual(0);

      const notified = steps.filter((s) => s.kind === 'handle' && s.group === 'notifications');
      expect(notified.map((s) => [s.attempt, s.outcome])).toEqual([
        [1, 'retry'],
        [2, 'ok'],
      ]);
      expect(notified[0]?.error).toBe('smtp hiccup');
      expect(notified[1]?.error).toBeUndefined();
      expect(steps.filter((s) => s.kind === 'handle' && s.group === 'audit').map((s) => [s.attempt, s.outcome])).toEqual([[1, 'ok']]);
      for (const step of notified) {
        expect(step).toMatchObject({ tier: 'bus', system, name: 'users.SignedUp', envelopeId: signup.id, correlationId: signup.id });
        expect(step.durationMs).toBeGreaterThanOrEqual(0);
      }

      const caused = steps.find((s) => s.kind === 'emit' && s.name === 'mail.Queued')!;
      expect(caused).toMatchObject({ causationId: signup.id, correlationId: signup.id, outcome: 'ok', keys: ['a@example.com'] });
      const mailer = steps.find((s) => s.kind === 'handle' && s.group === 'mailer')!;
      expect(mailer).toMatchObject({ envelopeId: caused.envelopeId, causationId: signup.id, correlationId: signup.id, outcome: 'ok' });

      // One trace: every step carries the same valid trace id.
      expect(emit.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(steps.every((s) => s.traceId === emit.traceId)).toBe(true);
      expect(queued).toBe(1);
    } finally {
      await bus.close();
      await cleanup();
    }
  });

  it('a handler that never succeeds ends with handle(dead_letter) and its error; an explicit correlation id is kept; a refused emit is an error step', async () => {
    const { adapter, cleanup } = await make();
    const journal = recordingJournal();
    const bus = createBus<Events>({ adapter, journal, tracing: 'always', retry, onError: () => undefined });
    try {
      await bus.on('mail.Bounced', async () => {
        throw new Error('mailbox full');
      }, { group: 'bounces' });
      const bounced = await bus.emit('mail.Bounced', { email: 'b@example.com' }, { correlationId: 'flow-7', causationId: 'http-1' });
      await waitFor(() => journal.steps.some((s) => s.outcome === 'dead_letter'), 15_000, 'the dead letter step');
      const handles = journal.steps.filter((s) => s.kind === 'handle');
      expect(handles.map((s) => [s.attempt, s.outcome, s.error])).toEqual([
        [1, 'retry', 'mailbox full'],
        [2, 'dead_letter', 'mailbox full'],
      ]);
      for (const step of journal.steps) expect(step).toMatchObject({ envelopeId: bounced.id, correlationId: 'flow-7', causationId: 'http-1' });

      await expect(bus.emit('mail.Bounced', { email: 'c@example.com' }, { signal: AbortSignal.abort(new Error('caller gave up')) })).rejects.toThrow('caller gave up');
      const refused = journal.steps.at(-1)!;
      expect(refused).toMatchObject({ kind: 'emit', outcome: 'error', error: 'caller gave up', keys: ['c@example.com'] });

      // Refused before any handler ran (its partition key threw): one dead_letter step of attempt 1.
      await bus.on('mail.Queued', async () => undefined, {
        group: 'keyed',
        partitionBy: () => {
          throw new Error('no key');
        },
      });
      const keyed = await bus.emit('mail.Queued', { email: 'e@example.com' });
      await waitFor(() => journal.steps.some((s) => s.group === 'keyed'), 15_000, 'the keyed step');
      expect(journal.steps.filter((s) => s.group === 'keyed').map((s) => [s.kind, s.envelopeId, s.attempt, s.outcome, s.error])).toEqual([['handle', keyed.id, 1, 'dead_letter', 'no key']]);
    } finally {
      await bus.close();
      await cleanup();
    }
  });

  it('a journal whose record and keysOf throw never breaks an emit, a handler or its retry', async () => {
    const { adapter, cleanup } = await make();
    let recordCalls = 0;
    let keysCalls = 0;
    const journal: Journal = {
      record: () => {
        recordCalls += 1;
        throw new Error('journal down');
      },
      keysOf: () => {
        keysCalls += 1;
        throw new Error('keys down');
      },
    };
    const errors: unknown[] = [];
    const bus = createBus<Events>({ adapter, journal, tracing: 'always', retry, onError: (event) => void errors.push(event) });
    let calls = 0;
    try {
      await bus.on('users.SignedUp', async () => {
        calls += 1;
        if (calls === 1) throw new Error('once');
      }, { group: 'g' });
      await bus.emit('users.SignedUp', { email: 'd@example.com' });
      await waitFor(() => calls === 2 && recordCalls === 3, 15_000, 'both attempts and their steps');
      expect(keysCalls).toBe(1);
      // Only the handler's own first failure was reported: nothing of the journal's.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ kind: 'retry' });
    } finally {
      await bus.close();
      await cleanup();
    }
  });
});
