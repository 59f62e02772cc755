/**
 * `OTEL_EXPORTER_OTLP_ENDPOINT=... DEMO_WORKERS=separate npm run demo` on Redis, RabbitMQ and
 * BullMQ: the web process, the bus consumer process and the queue worker process each export their
 * spans over OTLP/HTTP to one collector (a local fake one here), and a signup is one trace across
 * the three. SIGTERM still drains and exits 0 with the exporters flushed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AMQP_URL, randomId, REDIS_URL, spawnTs, waitFor, type SpawnedTs } from '@events/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDemoNames, signUp } from './trace-fixture.js';

const DEMO_DIR = fileURLToPath(new URL('..', import.meta.url));
const run = randomId('demo-otlp');

interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}
type Value = { stringValue?: string };
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: Value }> };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }> }>;
  }>;
}

/** A fake OTLP/HTTP collector (JSON encoding, what the demo's exporter sends). */
async function startCollector(): Promise<{ url: string; spans: CollectedSpan[]; server: Server }> {
  const spans: CollectedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const s of scope.spans ?? []) spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

let demo: SpawnedTs | undefined;
let collector: Awaited<ReturnType<typeof startCollector>> | undefined;

afterAll(async () => {
  // Only when a test failed before its own SIGTERM: leave no process behind.
  if (demo && demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
  collector?.server.closeAllConnections();
  collector?.server.close();
  await removeDemoNames(run);
});

describe('the demo as processes, exporting to an OTLP collector', () => {
  // Three processes start one after the other (each compiles the sources with tsx): allow time.
  it('exports one trace per signup from the web, bus consumer and queue worker processes, and flushes on SIGTERM', { timeout: 90_000 }, async () => {
    collector = await startCollector();
    const spawned = spawnTs('src/main.ts', [], {
      cwd: DEMO_DIR,
      detached: true,
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        DEMO_WORKERS: 'separate',
        EVENTS_PUBSUB: 'redis',
        EVENTS_BUS: 'rabbitmq',
        EVENTS_QUEUE: 'bullmq',
        EVENTS_NAMESPACE: run,
        REDIS_URL,
        AMQP_URL,
        DEMO_FAILURE_RATE: '1',
        DEMO_EMAIL_ATTEMPTS: '2',
        DEMO_RETRY_DELAY_MS: '50',
        DEMO_SEND_MS: '10',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: run,
        // Batches every 100 ms instead of 5 s, so the spans arrive while the test waits.
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    demo = spawned;
    const exited = spawned.exited.then(({ code }) => code);
    await waitFor(() => /open (http:\/\/[^/\s]+)\//.test(spawned.output()) || spawned.child.exitCode !== null, 60_000, 'the demo to listen');
    const url = /open (http:\/\/[^/\s]+)\//.exec(spawned.output())?.[1];
    expect(url, spawned.output()).toBeDefined();
    expect(spawned.output()).toContain(`telemetry: traces to ${collector.url} as ${run}`);

    await signUp(url, `${run}@example.com`, 'otlp');
    const spans = collector.spans;
    const named = (name: string) => spans.filter((s) => s.name === name);
    await waitFor(() => named('POST /api/signup').length === 1 && named('process sendWelcomeEmail').length === 2, 30_000, 'the signup\'s spans at the collector').catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- spans ---\n${spans.map((s) => s.name).join('\n')}\n--- demo output ---\n${spawned.output()}`);
    });

    spawned.child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const root = named('POST /api/signup')[0]!;
    const trace = spans.filter((s) => s.traceId === root.traceId);
    expect(root.parentSpanId).toBe('');
    expect(trace.every((s) => s.service === run)).toBe(true);
    const emit = trace.find((s) => s.name === 'emit UserSignedUp' && s.parentSpanId === root.spanId);
    expect(emit).toBeDefined();
    // The handlers ran in the bus consumer process, the attempts in the queue worker process.
    const handles = trace.filter((s) => s.name === 'handle UserSignedUp' && s.parentSpanId === emit!.spanId);
    expect(handles.length).toBeGreaterThanOrEqual(2);
    const enqueue = trace.find((s) => s.name === 'enqueue sendWelcomeEmail');
    expect(handles.map((s) => s.spanId)).toContain(enqueue?.parentSpanId);
    expect(trace.filter((s) => s.name === 'process sendWelcomeEmail' && s.parentSpanId === enqueue!.spanId)).toHaveLength(2);
  });
});
