/**
 * The W3C trace context as the gateway forwards it and the client reads it: properties over
 * hostile values (any JSON a gateway or a foreign producer may send) and the W3C examples.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readTraceContext, readTraceparent, readTracestate } from './trace-context.js';
import { createPubSubClient } from './index.js';
import type { ClientMessageMeta, WebSocketLike } from './index.js';

const STRICT_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const MEMBER = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const validParent = fc
  .tuple(hex(32), hex(16), hex(2))
  .filter(([t, s]) => !/^0+$/.test(t) && !/^0+$/.test(s))
  .map(([t, s, f]) => `00-${t}-${s}-${f}`);
const anyValue = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }), validParent, validParent.map((v) => `${v.slice(0, 20)}\u0000${v.slice(21)}`));

/** What any output must be, whatever came in. */
function assertAllowed(trace: ReturnType<typeof readTraceContext>): void {
  if (trace === undefined) return;
  const parsed = STRICT_PARENT.exec(trace.traceparent);
  expect(parsed).not.toBeNull();
  expect(parsed![1]).not.toMatch(/^0+$/);
  expect(parsed![2]).not.toMatch(/^0+$/);
  if (trace.tracestate === undefined) return;
  expect(trace.tracestate.length).toBeLessThanOrEqual(512);
  const members = trace.tracestate.split(',');
  expect(members.length).toBeLessThanOrEqual(32);
  for (const member of members) expect(member).toMatch(MEMBER);
  expect(new Set(members.map((m) => m.slice(0, m.indexOf('=')))).size).toBe(members.length);
}

describe('W3C trace context', () => {
  it('accepts the W3C examples and normalizes a future version to 00', () => {
    expect(readTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(readTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(readTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(readTracestate('fw529a3039@dt=ff')).toBe('fw529a3039@dt=ff');
  });

  it('refuses what W3C refuses', () => {
    for (const bad of [
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
    ]) {
      expect(readTraceparent(bad)).toBeUndefined();
    }
    for (const bad of ['Rojo=1', 'a=1,a=2', 'k=', '=v', 'k=v=w', 'k=v ,x', `k=${'v'.repeat(300)}`, Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')]) {
      expect(readTracestate(bad)).toBeUndefined();
    }
    // A tracestate goes nowhere without a valid traceparent.
    expect(readTraceContext('garbage', 'congo=t61rcWkgMzE')).toBeUndefined();
  });

  it('property: any values give nothing or a context W3C allows, never a throw', () => {
    fc.assert(
      fc.property(anyValue, anyValue, (traceparent, tracestate) => {
        assertAllowed(readTraceContext(traceparent, tracestate));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a valid traceparent and tracestate pass unchanged', () => {
    const member = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_*/-]{0,20}$/), fc.stringMatching(/^[!-+\--<>-~]{1,20}$/)).map(([k, v]) => `${k}=${v}`);
    const state = fc.uniqueArray(member, { minLength: 1, maxLength: 10, selector: (m) => m.slice(0, m.indexOf('=')) }).map((m) => m.join(','));
    fc.assert(
      fc.property(validParent, state, (traceparent, tracestate) => {
        expect(readTraceContext(traceparent, tracestate)).toEqual({ traceparent, tracestate });
      }),
    );
  });

  it('property: the client hands its handler only a checked trace context, whatever a gateway puts in a message frame', async () => {
    const sockets: FakeSocket[] = [];
    class FakeSocket implements WebSocketLike {
      readyState = 1;
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor() {
        sockets.push(this);
        queueMicrotask(() => this.onopen?.({}));
      }
      send(data: string): void {
        const frame = JSON.parse(data) as { type: string; id: number; topic: string };
        if (frame.type === 'subscribe') queueMicrotask(() => this.onmessage?.({ data: JSON.stringify({ type: 'subscribed', id: frame.id, topic: frame.topic }) }));
      }
      close(): void {
        this.readyState = 3;
      }
    }
    const errors: unknown[] = [];
    const client = createPubSubClient({ url: 'ws://fake', WebSocket: FakeSocket, reconnect: false, onError: (e) => void errors.push(e) });
    const metas: ClientMessageMeta[] = [];
    await client.subscribe('feed', (_m, meta) => void metas.push(meta));
    fc.assert(
      fc.property(anyValue, anyValue, fc.boolean(), (traceparent, tracestate, withState) => {
        const frame = { type: 'message', topic: 'feed', channel: 'feed', id: 'e1', occurredAt: '2026-01-01T00:00:00.000Z', data: 1, traceparent, ...(withState ? { tracestate } : {}) };
        sockets[0]!.onmessage?.({ data: JSON.stringify(frame) });
        const meta = metas.at(-1)!;
        assertAllowed(meta.trace);
        if (meta.trace === undefined) expect('trace' in meta).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(errors).toEqual([]);
    await client.close({ timeoutMs: 10 });
  });
});
