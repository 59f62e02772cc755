/**
 * The queue joins OpenTelemetry traces: an enqueue inside a trace (the test's `request` span, as an
 * HTTP request would be) is a producer span whose context travels in the
 * job's envelope (BullMQ job data, a PostgreSQL row), every attempt a consumer span under it, a
 * failed attempt marked retry (or dead_letter when none follows) with its error recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { inMemoryTracing, waitFor } from '@events/testing';
import { createQueue } from '../src/queue.js';
import { targets } from './targets.js';

const tracing = inMemoryTracing();
const { exporter } = tracing;
beforeAll(tracing.install);
afterAll(tracing.uninstall);

type Jobs = { sendWelcomeEmail: { email: string }; neverWorks: { n: number } };

describe.each(targets)('queue tracing on %s', (system, make) => {
  it('one trace: enqueue -> a failed attempt (retry) -> a successful one; a job that never works ends in dead_letter', async () => {
    exporter.reset();
    const { adapter, cleanup } = make();
    const queue = createQueue<Jobs>({ adapter, onError: () => undefined });
    let calls = 0;
    let lost = 0;
    try {
      await queue.process('sendWelcomeEmail', async () => {
        calls += 1;
        if (calls === 1) throw new Error('smtp down');
      });
      await queue.process('neverWorks', async () => {
        lost += 1;
        throw new Error('always');
      });
      const { id, request } = await tracing.inSpan('request', async (request) => {
        const id = await queue.enqueue('sendWelcomeEmail', { email: 'a@example.com' }, { attempts: 3, backoff: { type: 'fixed', delayMs: 10 }, correlationId: 'signup-1' });
        await queue.enqueue('neverWorks', { n: 1 }, { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } });
        return { id, request };
      });
      await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length >= 4, 20_000, 'four attempts');

      const spans = exporter.getFinishedSpans();
      const enqueue = spans.find((s) => s.name === 'enqueue sendWelcomeEmail')!;
      expect(enqueue.kind).toBe(SpanKind.PRODUCER);
      expect(enqueue.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(enqueue.attributes).toMatchObject({ 'messaging.system': system, 'messaging.message.id': id, 'messaging.message.conversation_id': 'signup-1' });
      const attempts = spans
        .filter((s) => s.name === 'process sendWelcomeEmail')
        .sort((a, b) => Number(a.attributes['events.attempt']) - Number(b.attributes['events.attempt']));
      expect(attempts.map((s) => s.attributes['events.attempt'])).toEqual([1, 2]);
      for (const attempt of attempts) {
        expect(attempt.kind).toBe(SpanKind.CONSUMER);
        expect(attempt.spanContext().traceId).toBe(enqueue.spanContext().traceId);
        expect(attempt.parentSpanContext?.spanId).toBe(enqueue.spanContext().spanId);
      }
      expect(attempts[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' });
      expect(attempts[0]?.events.map((e) => e.name)).toEqual(['retry', 'exception']);
      expect(attempts[1]?.status.code).not.toBe(SpanStatusCode.ERROR);

      const dead = spans.filter((s) => s.name === 'process neverWorks').sort((a, b) => Number(a.attributes['events.attempt']) - Number(b.attributes['events.attempt']));
      expect(dead.map((s) => s.events[0]?.name)).toEqual(['retry', 'dead_letter']);
      expect(lost).toBe(2);
    } finally {
      await queue.close({ timeoutMs: 5_000 });
      await cleanup();
    }
  });
});
