/**
 * The queue records a job's path in its journal (core's Journal), on memory, BullMQ and
 * PostgreSQL: an enqueue step per job (enqueueMany included) with its id and search keys, an
 * attempt step per attempt (attempt, duration, outcome, error), a replay step for a replayed dead
 * letter caused by it in the same flow, and, with a tracing SDK (tracing `always`: each flow starts its own trace), one trace id per enqueue and its
 * attempts. A journal that throws never breaks an enqueue or a worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryTracing, waitFor } from '@events/testing';
import type { Journal, JourneyStep } from '@events/core';
import { createQueue } from '../src/queue.js';
import { targets } from './targets.js';

const tracing = inMemoryTracing();
beforeAll(tracing.install);
afterAll(tracing.uninstall);

type Jobs = { sendWelcomeEmail: { email: string }; neverWorks: { email: string }; report: { n: number } };

function recordingJournal(): Journal & { steps: JourneyStep[] } {
  const steps: JourneyStep[] = [];
  return {
    steps,
    record: (step) => void steps.push(step),
    keysOf: (_name, payload) => {
      const email = (payload as { email?: unknown }).email;
      return typeof email === 'string' ? [email] : [];
    },
  };
}

const retry = { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } as const;

describe.each(targets)('queue journal on %s', (system, make) => {
  it('enqueue -> attempt(retry, 1) -> attempt(ok, 2) in one flow and one trace; enqueueMany records each job', async () => {
    const { adapter, cleanup } = make();
    const journal = recordingJournal();
    const queue = createQueue<Jobs>({ adapter, journal, tracing: 'always', onError: () => undefined });
    let calls = 0;
    try {
      await queue.process('sendWelcomeEmail', async () => {
        calls += 1;
        if (calls === 1) throw new Error('smtp down');
      });
      const id = await queue.enqueue('sendWelcomeEmail', { email: 'a@example.com' }, { ...retry, correlationId: 'signup-1', causationId: 'evt-1' });
      await waitFor(() => journal.steps.some((s) => s.kind === 'attempt' && s.outcome === 'ok'), 20_000, 'the successful attempt');
      const [enqueue, ...attempts] = journal.steps;
      expect(enqueue).toMatchObject({ kind: 'enqueue', tier: 'queue', system, name: 'sendWelcomeEmail', envelopeId: id, jobId: id, correlationId: 'signup-1', causationId: 'evt-1', outcome: 'ok', keys: ['a@example.com'] });
      expect(enqueue?.durationMs).toBeGreaterThanOrEqual(0);
      expect(attempts.map((s) => [s.kind, s.attempt, s.outcome, s.error])).toEqual([
        ['attempt', 1, 'retry', 'smtp down'],
        ['attempt', 2, 'ok', undefined],
      ]);
      for (const step of attempts) {
        expect(step).toMatchObject({ system, name: 'sendWelcomeEmail', envelopeId: id, jobId: id, correlationId: 'signup-1', causationId: 'evt-1' });
        expect(step.durationMs).toBeGreaterThanOrEqual(0);
      }
      expect(enqueue?.traceId).toMatch(/^[0-9a-f]{32}$/);
      for (const step of attempts) expect(step.traceId).toBe(enqueue?.traceId);

      const ids = await queue.enqueueMany([
        { name: 'report', payload: { n: 1 } },
        { name: 'sendWelcomeEmail', payload: { email: 'b@example.com' }, options: { jobId: 'welcome-b' } },
      ]);
      const many = journal.steps.filter((s) => s.kind === 'enqueue').slice(1);
      expect(many.map((s) => [s.name, s.jobId, s.envelopeId === s.correlationId, s.keys])).toEqual([
        ['report', ids[0], true, undefined],
        ['sendWelcomeEmail', 'welcome-b', true, ['b@example.com']],
      ]);
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });

  it('a job that never succeeds ends with attempt(dead_letter); its replay is a replay step caused by the dead letter, in its flow', async () => {
    const { adapter, cleanup } = make();
    const journal = recordingJournal();
    const queue = createQueue<Jobs>({ adapter, journal, tracing: 'always', onError: () => undefined });
    let failing = true;
    try {
      await queue.process('neverWorks', async () => {
        if (failing) throw new Error('mailbox full');
      });
      const id = await queue.enqueue('neverWorks', { email: 'c@example.com' }, retry);
      await waitFor(async () => (await queue.deadLetters.count({ name: 'neverWorks' })) === 1, 20_000, 'the dead letter');
      expect(journal.steps.filter((s) => s.kind === 'attempt').map((s) => [s.attempt, s.outcome, s.error])).toEqual([
        [1, 'retry', 'mailbox full'],
        [2, 'dead_letter', 'mailbox full'],
      ]);

      failing = false;
      const { replayed } = await queue.deadLetters.replay({ name: 'neverWorks' });
      expect(replayed).toHaveLength(1);
      const newId = replayed[0]!.id!;
      await waitFor(() => journal.steps.some((s) => s.kind === 'attempt' && s.jobId === newId && s.outcome === 'ok'), 20_000, 'the replay attempt');
      const replay = journal.steps.find((s) => s.kind === 'replay')!;
      expect(replay).toMatchObject({ tier: 'queue', system, name: 'neverWorks', envelopeId: newId, jobId: newId, causationId: id, correlationId: id, outcome: 'ok', keys: ['c@example.com'] });
      // The new job itself carries the cause: its attempts hang under the dead letter too.
      const attempt = journal.steps.find((s) => s.kind === 'attempt' && s.jobId === newId)!;
      expect(attempt).toMatchObject({ causationId: id, correlationId: id, attempt: 1 });
      expect(journal.steps.filter((s) => s.kind === 'enqueue')).toHaveLength(1);
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });

  it('a journal whose record and keysOf throw never breaks an enqueue, an enqueueMany or a worker', async () => {
    const { adapter, cleanup } = make();
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
    const queue = createQueue<Jobs>({ adapter, journal, tracing: 'always', onError: (event) => void errors.push(event) });
    let calls = 0;
    try {
      await queue.process('sendWelcomeEmail', async () => {
        calls += 1;
        if (calls === 1) throw new Error('once');
      });
      await queue.enqueue('sendWelcomeEmail', { email: 'd@example.com' }, retry);
      await queue.enqueueMany([{ name: 'report', payload: { n: 1 } }]);
      await waitFor(() => calls === 2 && recordCalls === 4, 20_000, 'both attempts and every step');
      expect(keysCalls).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });
});
