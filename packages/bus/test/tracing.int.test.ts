/**
 * The bus joins OpenTelemetry traces: with an SDK registered (the in-memory exporter here), an
 * emit inside a trace (the test's `request` span, as an HTTP request would be) is a producer span whose context travels in the envelope headers (through RabbitMQ's AMQP
 * headers too), each handler attempt a consumer span parented by it, a retried attempt marked, and
 * an emit from inside a handler continues the same trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { inMemoryTracing, waitFor } from '@events/testing';
import { createBus } from '../src/create-bus.js';
import { targets } from './targets.js';

const tracing = inMemoryTracing();
const { exporter } = tracing;
beforeAll(tracing.install);
afterAll(tracing.uninstall);

type Events = { 'users.SignedUp': { email: string }; 'mail.Queued': { email: string } };

describe.each(targets)('bus tracing on %s', (system, make) => {
  it('one trace: emit -> both groups\' handlers (a retried attempt marked, its error recorded) -> an emit from a handler -> its handler', async () => {
    exporter.reset();
    const { adapter, cleanup } = await make();
    const bus = createBus<Events>({ adapter, retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, onError: () => undefined });
    let failedOnce = false;
    let mailed = 0;
    await bus.on('users.SignedUp', async () => undefined, { group: 'audit' });
    await bus.on('users.SignedUp', async (event, ctx) => {
      if (!failedOnce) {
        failedOnce = true;
        throw new Error('smtp hiccup');
      }
      await ctx.emit('mail.Queued', { email: event.payload.email });
    }, { group: 'notifications' });
    await bus.on('mail.Queued', async () => void (mailed += 1), { group: 'mailer' });
    const request = await tracing.inSpan('request', async (span) => {
      await bus.emit('users.SignedUp', { email: 'a@example.com' });
      return span;
    });
    await waitFor(() => mailed === 1 && exporter.getFinishedSpans().length >= 7, 15_000, 'every span of the journey');
    await bus.close();
    await cleanup();

    const spans = exporter.getFinishedSpans();
    const emit = spans.find((s) => s.name === 'emit users.SignedUp')!;
    const traceId = request.spanContext().traceId;
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    expect(emit.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(emit.kind).toBe(SpanKind.PRODUCER);
    expect(emit.attributes['messaging.system']).toBe(system);

    const handles = spans.filter((s) => s.name === 'handle users.SignedUp');
    const group = (g: string) => handles.filter((s) => s.attributes['messaging.consumer.group.name'] === g);
    expect(group('audit')).toHaveLength(1);
    const [first, second] = [...group('notifications')].sort((a, b) => Number(a.attributes['events.attempt']) - Number(b.attributes['events.attempt']));
    expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp hiccup' });
    expect(first?.events.map((e) => e.name)).toEqual(['retry', 'exception']);
    expect(second?.status.code).not.toBe(SpanStatusCode.ERROR);
    for (const handle of handles) {
      expect(handle.kind).toBe(SpanKind.CONSUMER);
      expect(handle.parentSpanContext?.spanId).toBe(emit.spanContext().spanId);
    }

    // ctx.emit inside the second attempt: a producer span under that attempt, then its handler under it.
    const queued = spans.find((s) => s.name === 'emit mail.Queued')!;
    expect(queued.parentSpanContext?.spanId).toBe(second?.spanContext().spanId);
    const mailer = spans.find((s) => s.name === 'handle mail.Queued')!;
    expect(mailer.parentSpanContext?.spanId).toBe(queued.spanContext().spanId);
    expect(mailer.attributes['messaging.message.conversation_id']).toBe(emit.attributes['messaging.message.id']);
  });
});
