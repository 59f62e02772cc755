/**
 * Issue 15's first "done when": the demo's signup on the real adapters (Redis pubsub, RabbitMQ bus,
 * BullMQ queue), the welcome email failing exactly once (failureRate 1 with 2 attempts: the last
 * attempt never fails), read back from the SDK's in-memory span exporter as ONE trace:
 *
 *   POST /api/signup (SERVER, root)
 *   └ emit UserSignedUp (PRODUCER)
 *     ├ handle UserSignedUp, group audit (CONSUMER, linked to the emit)
 *     └ handle UserSignedUp, group notifications (CONSUMER, linked to the emit)
 *       └ enqueue sendWelcomeEmail (PRODUCER)
 *         ├ process sendWelcomeEmail attempt 1 (CONSUMER, error, exception + retry events)
 *         └ process sendWelcomeEmail attempt 2 (CONSUMER)
 *           └ broadcast tenant:<t>:user:<id>:notifications (PRODUCER: "Welcome email sent")
 *
 * Also: GET /metrics answers the Prometheus text format behind the dashboard's token, and the
 * HTTP span continues a caller's traceparent. The demo runs in this process, its names under a
 * fresh namespace, removed afterwards.
 */
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { AMQP_URL, inMemoryTracing, randomId, REDIS_URL, waitFor } from '@events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';
import { notificationChannel } from '../src/channels.js';
import { startTelemetry, type DemoTelemetry } from '../src/telemetry.js';
import { removeDemoNames, signUp } from './trace-fixture.js';

type Span = ReturnType<ReturnType<typeof inMemoryTracing>['exporter']['getFinishedSpans']>[number];

const tracing = inMemoryTracing();
const { exporter } = tracing;
const run = randomId('demo-trace');
let telemetry: DemoTelemetry;
let demo: Demo;

beforeAll(async () => {
  tracing.install();
  // Metrics only (no OTLP endpoint): the in-memory tracing above is the tracer provider.
  telemetry = await startTelemetry({});
  demo = await startDemo({
    platform: {
      pubsub: { adapter: 'redis', url: REDIS_URL },
      bus: { adapter: 'rabbitmq', url: AMQP_URL },
      queue: { adapter: 'bullmq', url: REDIS_URL },
      namespace: run,
    },
    port: 0,
    metrics: telemetry.metrics,
    failureRate: 1,
    emailAttempts: 2,
    retryDelayMs: 50,
    sendMs: 0,
    log: { write: () => undefined },
  });
});

afterAll(async () => {
  await demo?.close({ timeoutMs: 10_000 });
  await telemetry?.shutdown();
  await tracing.uninstall();
  await removeDemoNames(run);
});

const idOf = (span: Span): string => span.spanContext().spanId;
const parentOf = (span: Span | undefined): string | undefined => span?.parentSpanContext?.spanId;
const childrenOf = (spans: Span[], parent: Span, name: string): Span[] => spans.filter((s) => parentOf(s) === idOf(parent) && s.name === name);

function expectAttributes(span: Span | undefined, expected: Attributes): void {
  expect(span, 'span').toBeDefined();
  expect(span!.attributes).toMatchObject(expected);
}

describe('a signup\'s journey as one trace, on Redis, RabbitMQ and BullMQ', () => {
  it('holds the HTTP span, the emit, both groups\' handlers, the enqueue, both attempts (the first failed) and the broadcast', async () => {
    exporter.reset();
    const tenant = randomId('t').toLowerCase();
    const email = `${tenant}@example.com`;
    const userId = await signUp(demo.url, email, tenant);
    const jobId = `welcome-${userId}`;
    const channel = notificationChannel(tenant, userId);
    await waitFor(async () => (await demo.platform.queue.getJob('sendWelcomeEmail', jobId))?.state === 'completed', 20_000, 'the welcome email job completed');

    const http = (): Span | undefined => exporter.getFinishedSpans().find((s) => s.name === 'POST /api/signup');
    const inTrace = (): Span[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === http()?.spanContext().traceId);
    const processes = (): Span[] => inTrace().filter((s) => s.name === 'process sendWelcomeEmail');
    const handled = (group: string) => inTrace().some((s) => s.name === 'handle UserSignedUp' && s.attributes['messaging.consumer.group.name'] === group);
    await waitFor(() => handled('audit') && handled('notifications') && processes().length === 2, 10_000, 'the handlers\' and the attempts\' spans');
    const lastAttempt = (): Span | undefined => processes().find((s) => s.attributes['events.attempt'] === 2);
    await waitFor(() => lastAttempt() !== undefined && childrenOf(inTrace(), lastAttempt()!, `broadcast ${channel}`).length === 2, 10_000, `the broadcasts of the last attempt (broadcast ${channel})`);
    const spans = inTrace();

    // The HTTP server span is the root.
    const root = http()!;
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.parentSpanContext).toBeUndefined();
    expectAttributes(root, { 'http.request.method': 'POST', 'url.path': '/api/signup', 'http.route': '/api/signup', 'http.response.status_code': 201 });

    // emit UserSignedUp: a producer span under the HTTP span.
    const [emit, ...moreEmits] = childrenOf(spans, root, 'emit UserSignedUp');
    expect(moreEmits).toHaveLength(0);
    expect(emit!.kind).toBe(SpanKind.PRODUCER);
    expectAttributes(emit, {
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'UserSignedUp',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'emit',
      'messaging.message.conversation_id': userId,
    });
    const eventId = emit!.attributes['messaging.message.id'];
    expect(typeof eventId).toBe('string');

    // Each consumer group's handler: a consumer span, child of the emit and linked to it (the
    // dashboard's own live-feed group is one more, not asserted here).
    const byGroup = (group: string) => childrenOf(spans, emit!, 'handle UserSignedUp').filter((s) => s.attributes['messaging.consumer.group.name'] === group);
    const handles = [...byGroup('audit'), ...byGroup('notifications')];
    for (const group of ['audit', 'notifications']) {
      const [handle, ...more] = byGroup(group);
      expect(more, `${group} handled once`).toHaveLength(0);
      expect(handle!.kind).toBe(SpanKind.CONSUMER);
      expect(handle!.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(handle!.links.map((l) => l.context.spanId)).toEqual([idOf(emit!)]);
      expectAttributes(handle, { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.message.id': eventId, 'messaging.message.conversation_id': userId });
    }

    // The notifications handler enqueues the welcome email.
    const [enqueue, ...moreEnqueues] = childrenOf(spans, byGroup('notifications')[0]!, 'enqueue sendWelcomeEmail');
    expect(moreEnqueues).toHaveLength(0);
    expect(enqueue!.kind).toBe(SpanKind.PRODUCER);
    expectAttributes(enqueue, { 'messaging.system': 'bullmq', 'messaging.destination.name': 'sendWelcomeEmail', 'messaging.operation.name': 'enqueue', 'messaging.message.id': jobId, 'messaging.message.conversation_id': userId });

    // Two attempts, both children of the enqueue and linked to it; the first failed and says a retry follows.
    const attempts = childrenOf(spans, enqueue!, 'process sendWelcomeEmail').sort((a, b) => Number(a.attributes['events.attempt']) - Number(b.attributes['events.attempt']));
    expect(attempts.map((s) => s.attributes['events.attempt'])).toEqual([1, 2]);
    const [first, second] = attempts as [Span, Span];
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CONSUMER);
      expect(attempt.links.map((l) => l.context.spanId)).toEqual([idOf(enqueue!)]);
      expectAttributes(attempt, { 'messaging.system': 'bullmq', 'messaging.operation.type': 'process', 'messaging.message.id': jobId, 'messaging.message.conversation_id': userId });
    }
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    expect(first.status.message).toContain('SMTP 421');
    const exception = first.events.find((e) => e.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toContain('SMTP 421');
    expect(first.events.find((e) => e.name === 'retry')?.attributes).toMatchObject({ 'events.attempt': 1 });
    expect(first.events.some((e) => e.name === 'dead_letter')).toBe(false);
    expect(second.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(second.events.map((e) => e.name)).toEqual([]);

    // The broadcasts to the user's page: "sending" and "sent" under the last attempt (and
    // "sending", "failed" under the first), producer spans on Redis.
    for (const attempt of attempts) {
      const broadcasts = childrenOf(spans, attempt, `broadcast ${channel}`);
      expect(broadcasts).toHaveLength(2);
      for (const broadcast of broadcasts) {
        expect(broadcast.kind).toBe(SpanKind.PRODUCER);
        expectAttributes(broadcast, { 'messaging.system': 'redis', 'messaging.destination.name': channel, 'messaging.operation.type': 'send', 'messaging.operation.name': 'broadcast' });
      }
    }
    // The other steps' broadcasts sit under the span that made them.
    expect(childrenOf(spans, root, `broadcast ${channel}`)).toHaveLength(1);
    for (const handle of handles) expect(childrenOf(spans, handle, `broadcast ${channel}`)).toHaveLength(1);
  });

  it('continues the caller\'s traceparent in the HTTP span, and names a path outside the routes by its method only', async () => {
    exporter.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const response = await fetch(`${demo.url}/healthz`, { headers: { traceparent: `00-${traceId}-${parent}-01` } });
    expect(response.status).toBe(200);
    expect((await fetch(`${demo.url}/no/such/page?token=secret`)).status).toBe(404);
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length === 2, 5000, 'both server spans');
    const [health, missing] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(health!.name).toBe('GET /healthz');
    expect(health!.spanContext().traceId).toBe(traceId);
    expect(health!.parentSpanContext?.spanId).toBe(parent);
    expect(missing!.name).toBe('GET');
    expect(missing!.attributes).not.toHaveProperty('http.route');
    // The query string is never recorded.
    expect(missing!.attributes).toMatchObject({ 'url.path': '/no/such/page', 'http.response.status_code': 404 });
    expect(JSON.stringify(missing!.attributes)).not.toContain('secret');
    expect(missing!.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('answers GET /metrics in the Prometheus text format with the dashboard\'s token only', async () => {
    await signUp(demo.url, `${randomId('m')}@example.com`, 'metrics');
    expect((await fetch(`${demo.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${demo.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    const response = await fetch(`${demo.url}/metrics`, { headers: { authorization: `Bearer ${demo.dashboardToken}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    // The emit of the signup above, counted by the bus in the semantic conventions' name.
    expect(text).toMatch(/^# TYPE messaging_client_sent_messages(_total)? counter$/m);
    expect(text).toMatch(/^messaging_client_sent_messages(_total)?\{[^}]*messaging_destination_name="UserSignedUp"[^}]*\} [1-9]/m);
    // The signup's broadcasts in the same family: one instrument kind per name across the tiers,
    // so each family is declared once (Prometheus refuses a scrape that declares one twice).
    expect(text).toMatch(/^messaging_client_sent_messages(_total)?\{[^}]*events_tier="pubsub"[^}]*\} [1-9]/m);
    const families: string[] = text.match(/^# TYPE \S+/gm) ?? [];
    expect(families.length).toBeGreaterThan(5);
    expect(families.filter((f, i) => families.indexOf(f) !== i)).toEqual([]);
  });
});
