/**
 * The second half of the conformance suite, run over every adapter: namespaces, the foreign-producer
 * rule, forged headers, bounded requests and the lifecycle (issue 11 findings 5, 6, 7).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, createEnvelope, DecodeError, type ErrorEvent } from '@events/core';
import { deferred, delay, randomId, waitFor } from '@events/testing';
import { REPLY_TO_HEADER, SEQ_HEADER, NODE_HEADER, type GapEvent, type PubSub } from '../src/index.js';
import type { ConformanceContext } from './conformance.js';

export function pubsubSafetyConformance(name: string, factory: () => Promise<ConformanceContext>): void {
  describe(`pubsub conformance (safety): ${name}`, () => {
    let ctx: ConformanceContext;
    let errors: ErrorEvent[];
    let a: PubSub;
    let b: PubSub;
    let ns: string;

    beforeEach(async () => {
      ctx = await factory();
      errors = [];
      ns = randomId('safe');
      a = await ctx.node({ namespace: ns });
      b = await ctx.node({ namespace: ns, onError: (e) => void errors.push(e) });
    });
    afterEach(async () => {
      await ctx.cleanup();
    });

    it('two namespaces on one transport never see each other\'s messages or requests', async () => {
      const other = await ctx.node({ namespace: `${ns}-other` });
      const ch = 'app:audit:query';
      const got: string[] = [];
      await b.subscribe(ch, () => void got.push('same'));
      await other.subscribe(ch, () => void got.push('other'));
      await other.reply(ch, () => 'wrong app');
      await b.reply(ch, () => 'right app');
      expect(await a.broadcast(ch, 1)).toBe(1); // node b (one transport subscription for both handlers), not the other app
      expect(await a.request(ch, 1, { timeoutMs: 5000 })).toBe('right app');
      await waitFor(() => got.length === 2);
      await delay(50); // nothing more arrives
      expect(got).toEqual(['same', 'same']);
      expect(a.namespace).toBe(ns);
    });

    it('replies only into a reply inbox: a request naming another channel is refused and reported', async () => {
      const victim = 'tenant:B:notifications';
      const heard: unknown[] = [];
      await a.subscribe(victim, (m) => void heard.push(m));
      let replied = 0;
      await b.reply('rpc', () => ((replied += 1), 'payload for the victim'));
      await a.broadcast('rpc', 1, { headers: { [REPLY_TO_HEADER]: victim } });
      await waitFor(() => errors.some((e) => e.kind === 'request'));
      expect(errors.find((e) => e.kind === 'request')!.error.message).toMatch(/not a reply inbox/);
      await delay(50);
      expect(heard).toEqual([]);
      expect(replied).toBe(0);
    });

    it('refuses a foreign envelope whose name is not its channel, or whose headers are not strings; wraps a bare payload', async () => {
      const got: unknown[] = [];
      await b.subscribe('room', (m, meta) => void got.push({ m, name: meta.envelope.name }));
      const wire = `${ns}:room`;
      await ctx.publishRaw(wire, JSON.stringify(createEnvelope('tenant:B:orders', 'misnamed')));
      await ctx.publishRaw(wire, JSON.stringify({ ...createEnvelope('room', 'bad headers'), headers: { n: 1 } }));
      await ctx.publishRaw(wire, JSON.stringify({ bare: true }));
      await waitFor(() => got.length === 1 && errors.length === 2);
      expect(got).toEqual([{ m: { bare: true }, name: 'room' }]);
      expect(errors.map((e) => [e.kind, e.error instanceof DecodeError, e.name])).toEqual([
        ['decode', true, 'room'],
        ['decode', true, 'room'],
      ]);
    });

    it('a forged pubsub-seq raises no gap: non-numeric or absurd values are ignored and reported', async () => {
      const gaps: GapEvent[] = [];
      const got: unknown[] = [];
      b.on('gap', (g) => void gaps.push(g));
      await b.subscribe('feed', (m) => void got.push(m));
      const forged = (seq: string, n: number): string =>
        JSON.stringify(createEnvelope('feed', n, { headers: { [NODE_HEADER]: 'forger', [SEQ_HEADER]: seq } }));
      for (const [i, seq] of ['1', 'abc', '-5', '1e9', '2.5', '99999999999999999999', '007', '2000000000'].entries()) {
        await ctx.publishRaw(`${ns}:feed`, forged(seq, i));
      }
      await waitFor(() => got.length === 8);
      expect(gaps).toEqual([]);
      expect(errors.filter((e) => e.kind === 'decode' && /pubsub-seq/.test(e.error.message))).toHaveLength(7);
    });

    it('request: an AbortSignal ends the wait; past maxPendingRequests BackpressureError at once', async () => {
      const small = await ctx.node({ namespace: ns, maxPendingRequests: 2 });
      const controller = new AbortController();
      const waiting = small.request('nobody', 1, { signal: controller.signal, timeoutMs: 60_000 });
      const second = small.request('nobody', 2, { timeoutMs: 60_000 }).catch((e: unknown) => e);
      await waitFor(() => small.health().counts.pendingRequests === 2);
      await expect(small.request('nobody', 3)).rejects.toBeInstanceOf(BackpressureError);
      controller.abort(new Error('user left'));
      await expect(waiting).rejects.toThrow('user left');
      await small.close();
      expect(await second).toBeInstanceOf(ClosedError);
      expect(small.health().counts.pendingRequests).toBe(0);
    });

    it('close: every call returns the same promise, settled only after the handlers drained; then ClosedError', async () => {
      const release = deferred<void>();
      let finished = false;
      await b.subscribe('slow', async () => {
        await release.promise;
        finished = true;
      });
      await a.broadcast('slow', 1);
      await waitFor(() => b.health().counts.inFlight === 1);
      const first = b.close({ timeoutMs: 10_000 });
      const second = b.close();
      expect(second).toBe(first);
      let settled = false;
      void first.then(() => (settled = true));
      await delay(50);
      expect(settled).toBe(false);
      expect(b.health().phase).toBe('closing');
      release.resolve();
      await second;
      expect(finished).toBe(true);
      expect(b.health().phase).toBe('closed');
      await expect(b.subscribe('x', () => undefined)).rejects.toBeInstanceOf(ClosedError);
      await expect(b.reply('x', () => 1)).rejects.toBeInstanceOf(ClosedError);
      await expect(b.request('x', 1)).rejects.toBeInstanceOf(ClosedError);
    });

    it('handle.close() stops deliveries at once and drains that subscription only', async () => {
      const release = deferred<void>();
      const got: unknown[] = [];
      const handle = await b.subscribe('h', async (m) => {
        got.push(m);
        await release.promise;
      });
      expect(handle.active).toBe(true);
      expect(b.health()).toMatchObject({ phase: 'ready', connected: true, counts: { subscriptions: 1, topics: 1 } });
      await a.broadcast('h', 1);
      await waitFor(() => got.length === 1);
      const closing = handle.close();
      expect(handle.close()).toBe(closing);
      expect(handle.active).toBe(false);
      await a.broadcast('h', 2);
      let done = false;
      void closing.then(() => (done = true));
      await delay(30);
      expect(done).toBe(false);
      release.resolve();
      await closing;
      expect(got).toEqual([1]);
      expect(b.health().counts.subscriptions).toBe(0);
    });
  });
}
