/**
 * The demo's telemetry settings and SDK: OTEL_EXPORTER_OTLP_ENDPOINT and DEMO_METRICS read (any
 * text either accepted or refused naming the variable), spans really posted to an OTLP/HTTP
 * collector (a local fake one), and shutdown bounded when the collector never answers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics, trace } from '@opentelemetry/api';
import { ConfigError } from '@events/core';
import { waitFor } from '@events/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startTelemetry, telemetrySettings, type DemoTelemetry } from '../src/telemetry.js';

let running: DemoTelemetry | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await running?.shutdown(1000);
  running = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A fake collector: records each request, answers 200 (or never, with `silent`). */
async function collector(options: { silent?: boolean } = {}): Promise<{ url: string; requests: Array<{ path: string; body: string }> }> {
  const requests: Array<{ path: string; body: string }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      if (!options.silent) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('telemetry settings', () => {
  it('defaults to no tracing SDK and metrics on, as events-demo', () => {
    expect(telemetrySettings({})).toEqual({ endpoint: undefined, serviceName: 'events-demo', metrics: true });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ' http://otel:4318 ', OTEL_SERVICE_NAME: 'shop', DEMO_METRICS: 'OFF' })).toEqual({
      endpoint: 'http://otel:4318',
      serviceName: 'shop',
      metrics: false,
    });
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' })).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318" must be an http:\/\/ or https:\/\/ URL/);
    expect(() => telemetrySettings({ DEMO_METRICS: 'yes' })).toThrow(/^DEMO_METRICS="yes" is not a mode; valid values: on, off$/);
  });

  it('accepts any DEMO_METRICS text exactly when it is blank, on or off, and refuses the rest with a ConfigError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('on', 'off', ' On ', 'OFF', '')), (text) => {
        const mode = text.trim().toLowerCase();
        let settings: ReturnType<typeof telemetrySettings> | undefined;
        try {
          settings = telemetrySettings({ DEMO_METRICS: text });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
        expect(settings !== undefined).toBe(mode === '' || mode === 'on' || mode === 'off');
        if (settings) expect(settings.metrics).toBe(mode !== 'off');
      }),
    );
  });

  it('accepts an endpoint only when it is an http(s) URL with a host', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.constantFrom('ftp://x', 'http://', 'https://collector:4318/')), (text) => {
        let ok = true;
        try {
          telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: text });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          ok = false;
        }
        if (text.trim() === '') expect(ok).toBe(true);
        else if (ok) expect(text.trim()).toMatch(/^https?:\/\/[^/]/i);
      }),
    );
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: url }).endpoint).toBe(url);
      }),
    );
  });
});

describe('startTelemetry', () => {
  it('loads nothing for traces when no endpoint is set, and has no /metrics with DEMO_METRICS=off', async () => {
    running = await startTelemetry({ DEMO_METRICS: 'off' });
    expect(running.tracing).toBe('off');
    expect(running.metrics).toBeUndefined();
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    expect(running.describe()).toContain('traces off');
  });

  it('posts spans to <endpoint>/v1/traces as the service named, and unregisters at shutdown', async () => {
    const fake = await collector();
    running = await startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: `${fake.url}/`, OTEL_SERVICE_NAME: 'demo-under-test', DEMO_METRICS: 'off' });
    expect(running.tracing).toBe('otlp');
    const span = trace.getTracer('t').startSpan('POST /api/signup');
    expect(span.isRecording()).toBe(true);
    span.end();
    await running.shutdown(5000);
    await waitFor(() => fake.requests.length > 0, 5000, 'the collector to receive the batch');
    expect(fake.requests[0]!.path).toBe('/v1/traces');
    expect(fake.requests[0]!.body).toContain('demo-under-test');
    expect(fake.requests[0]!.body).toContain('POST /api/signup');
    expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
  });

  it('gives up on a collector that never answers at the shutdown deadline', async () => {
    const fake = await collector({ silent: true });
    running = await startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: fake.url, DEMO_METRICS: 'off' });
    trace.getTracer('t').startSpan('lost').end();
    const started = Date.now();
    await running.shutdown(300);
    expect(Date.now() - started).toBeLessThan(2000);
    await waitFor(() => fake.requests.length > 0, 5000, 'the batch sent (never answered)');
  });

  it('registers a MeterProvider whose measurements /metrics serves', async () => {
    running = await startTelemetry({});
    const counter = metrics.getMeter('t').createCounter('messaging.client.sent.messages', { unit: '{message}' });
    counter.add(3, { 'messaging.destination.name': 'UserSignedUp' });
    let body = '';
    const res = {
      writeHead: (status: number, headers: Record<string, string>) => {
        expect(status).toBe(200);
        expect(headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        return res;
      },
      end: (text?: string) => void (body = text ?? ''),
    };
    await running.metrics!({ method: 'GET' } as IncomingMessage, res as never);
    expect(body).toMatch(/^messaging_client_sent_messages(_total)?\{[^}]*messaging_destination_name="UserSignedUp"[^}]*\} 3/m);
    expect(body).toContain('service_name="events-demo"');
  });
});
