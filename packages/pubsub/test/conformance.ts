/**
 * The one conformance suite of the PubSub tier: every adapter runs it (memory in
 * memory.test.ts, Redis in redis.int.test.ts). Two nodes stand for two processes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidNameError, InvalidPatternError, SerializationError, TimeoutError, ClosedError, type ErrorEvent, type ErrorHook } from '@events/core';
import type { GapEvent, PubSub, ResubscribedEvent } from '../src/index.js';
import { deferred, randomId, waitFor } from '@events/testing';

export interface ConformanceContext {
  /** A new started node on the shared medium (its own connections). */
  node(options?: { onError?: ErrorHook; namespace?: string; maxPendingRequests?: number }): Promise<PubSub>;
  /** Cuts one node off the medium (both directions); its messages in between are lost. */
  cut(node: PubSub): Promise<void>;
  restore(node: PubSub): Promise<void>;
  /** Puts raw bytes on a transport channel as a foreign publisher would (no namespace added). */
  publishRaw(wireChannel: string, data: Buffer | string): Promise<void>;
  cleanup(): Promise<void>;
  /**
   * Set for memoryPubSub({ zeroCopy: true }): handlers get the sender's object and no serializer
   * runs, the one documented difference (docs/pubsub.md, "Zero-copy mode"). `freeze` as set.
   */
  readonly zeroCopy?: { readonly freeze: boolean };
}

type Errors = ErrorEvent[];

export function pubsubConformance(name: string, factory: () => Promise<ConformanceContext>): void {
  describe(`pubsub conformance: ${name}`, () => {
    let ctx: ConformanceContext;
    let a: PubSub;
    let b: PubSub;
    let c: PubSub;
    let errorsA: Errors;
    let errorsB: Errors;
    let ns: string;

    beforeEach(async () => {
      ctx = await factory();
      errorsA = [];
      errorsB = [];
      a = await ctx.node({ onError: (event) => void errorsA.push(event) });
      b = await ctx.node({ onError: (event) => void errorsB.push(event) });
      c = await ctx.node();
      ns = randomId('conf');
    });
    afterEach(async () => {
      await ctx.cleanup();
    });

    /** Once `to` hears a marker sent by a third node, everything published before has reached it. */
    async function settle(to: PubSub): Promise<void> {
      const marker = `${ns}:marker:${randomId()}`;
      const got = deferred<unknown>();
      const unsub = await to.subscribe(marker, () => got.resolve(undefined));
      await c.broadcast(marker, 1);
      await got.promise;
      await unsub.close();
    }

    it('broadcast reaches local and remote subscribers and counts them', async () => {
      const ch = `${ns}:room`;
      const seenA: unknown[] = [];
      const seenB: unknown[] = [];
      await a.subscribe(ch, (m) => void seenA.push(m));
      await b.subscribe(ch, (m) => void seenB.push(m));
      await b.subscribe(ch, (m) => void seenB.push(m));
      // 1 local handler + 1 remote subscription (node b, however many handlers it has).
      expect(await a.broadcast(ch, { text: 'hi' })).toBe(2);
      await waitFor(() => seenB.length === 2);
      expect(seenA).toEqual([{ text: 'hi' }]);
      expect(seenB).toEqual([{ text: 'hi' }, { text: 'hi' }]);
      expect(await c.broadcast(`${ns}:nobody`, 1)).toBe(0);
    });

    it('delivers through glob patterns with the concrete channel', async () => {
      const got: Array<{ m: unknown; channel: string; pattern?: string }> = [];
      await b.subscribe(`${ns}:user:*:notifications`, (m, meta) => void got.push({ m, channel: meta.channel, pattern: meta.pattern }));
      expect(await a.broadcast(`${ns}:user:42:notifications`, 'n1')).toBe(1);
      expect(await a.broadcast(`${ns}:user:42:other`, 'no')).toBe(0);
      await settle(b);
      expect(got).toEqual([{ m: 'n1', channel: `${ns}:user:42:notifications`, pattern: `${ns}:user:*:notifications` }]);
    });

    it('subscribes to several channels in one call and unsubscribes them together', async () => {
      const got: string[] = [];
      const unsub = await b.subscribe([`${ns}:x`, `${ns}:y`], (_m, meta) => void got.push(meta.channel));
      await a.broadcast(`${ns}:x`, 1);
      await a.broadcast(`${ns}:y`, 2);
      await waitFor(() => got.length === 2);
      expect(unsub.topics).toEqual([`${ns}:x`, `${ns}:y`]);
      await unsub.close();
      expect(unsub.active).toBe(false);
      expect(await a.broadcast(`${ns}:x`, 3)).toBe(0);
      await settle(b);
      expect(got).toEqual([`${ns}:x`, `${ns}:y`]);
    });

    it('unsubscribes one callback or all of them', async () => {
      const ch = `${ns}:u`;
      const one: unknown[] = [];
      const two: unknown[] = [];
      const h1 = (m: unknown): void => void one.push(m);
      const h2 = (m: unknown): void => void two.push(m);
      await b.subscribe(ch, h1);
      await b.subscribe(ch, h2);
      await b.unsubscribe(ch, h1);
      expect(b.subscriptions().get(ch)).toBe(1);
      expect(await a.broadcast(ch, 'm1')).toBe(1);
      await waitFor(() => two.length === 1);
      await b.subscribe(ch, h1);
      await b.unsubscribe(ch);
      expect(b.subscriptions().has(ch)).toBe(false);
      expect(await a.broadcast(ch, 'm2')).toBe(0);
      await settle(b);
      expect(one).toEqual([]);
      expect(two).toEqual(['m1']);
    });

    it('reports a throwing or rejecting subscriber and still delivers to the others', async () => {
      const ch = `${ns}:faulty`;
      const got: unknown[] = [];
      await b.subscribe(ch, () => {
        throw new Error('boom');
      });
      await b.subscribe(ch, () => Promise.reject(new Error('async boom')));
      await b.subscribe(ch, (m) => void got.push(m));
      expect(await a.broadcast(ch, 'ok')).toBe(1);
      await waitFor(() => got.length === 1 && errorsB.length === 2);
      expect(errorsB.map((e) => e.error.message).sort()).toEqual(['async boom', 'boom']);
      expect(errorsB.every((e) => e.tier === 'pubsub' && e.kind === 'handler' && e.name === ch)).toBe(true);
      await a.broadcast(ch, 'again');
      await waitFor(() => got.length === 2);
    });

    it('never hands a node its own message twice', async () => {
      const ch = `${ns}:own`;
      const got: unknown[] = [];
      await a.subscribe(ch, (m) => void got.push(m));
      await a.subscribe(`${ns}:o*`, (m) => void got.push(m));
      expect(await a.broadcast(ch, 'me')).toBe(2);
      await settle(a);
      expect(got).toEqual(['me', 'me']);
    });

    it('hands local handlers what a remote node decodes: a copy, never the sender\'s object', async () => {
      const ch = `${ns}:copy`;
      const sent = { at: new Date(0), list: [1] };
      const local: unknown[] = [];
      const remote: unknown[] = [];
      await a.subscribe(ch, (m) => {
        local.push(m);
        (m as { list: number[] }).list.push(99);
      });
      await b.subscribe(ch, (m) => void remote.push(m));
      expect(await a.broadcast(ch, sent)).toBe(2);
      await waitFor(() => remote.length === 1);
      if (ctx.zeroCopy) {
        // Zero-copy: both sides get the sender's object; frozen, the handler's push throws (reported).
        expect(local[0]).toBe(sent);
        expect(remote[0]).toBe(sent);
        expect(sent.list).toEqual(ctx.zeroCopy.freeze ? [1] : [1, 99]);
        expect(errorsA.map((e) => e.kind)).toEqual(ctx.zeroCopy.freeze ? ['handler'] : []);
        return;
      }
      // Serialized form on both sides (a Date travels as its ISO string), and the handler's
      // mutation of its copy never reached the sender's object.
      expect(remote).toEqual([{ at: '1970-01-01T00:00:00.000Z', list: [1] }]);
      expect(local).toEqual([{ at: '1970-01-01T00:00:00.000Z', list: [1, 99] }]);
      expect(sent).toEqual({ at: new Date(0), list: [1] });
    });

    it('localBroadcast stays in the node; broadcastFrom skips the sender only', async () => {
      const ch = `${ns}:local`;
      const gotA: string[] = [];
      const gotB: string[] = [];
      const mine = await a.subscribe(ch, (m) => void gotA.push(`mine:${String(m)}`));
      await a.subscribe(ch, (m) => void gotA.push(`other:${String(m)}`));
      await b.subscribe(ch, (m) => void gotB.push(String(m)));
      expect(await a.localBroadcast(ch, 'l')).toBe(2);
      expect(await a.broadcastFrom(mine, ch, 'f')).toBe(2);
      await settle(b);
      expect(gotA).toEqual(['mine:l', 'other:l', 'other:f']);
      expect(gotB).toEqual(['f']);
    });

    it('request/reply across nodes; a timeout rejects and leaves nothing waiting; one reply inbox per node', async () => {
      const ch = `${ns}:rpc`;
      await b.reply(ch, (m: unknown) => ({ doubled: (m as number) * 2 }));
      await expect(a.request(ch, 21, { timeoutMs: 5000 })).resolves.toEqual({ doubled: 42 });
      const err = await a.request(`${ns}:nobody-home`, 1, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as TimeoutError).message).toMatch(/request on ".*nobody-home" timed out after 50 ms/);
      // The node's one inbox, subscribed by its first request, stays; nothing else does.
      expect([...a.subscriptions().keys()].filter((t) => t.startsWith('_pubsub:reply:'))).toHaveLength(1);
      expect(a.health().counts.pendingRequests).toBe(0);
      await b.reply(`${ns}:fails`, () => {
        throw new Error('nope');
      });
      await expect(a.request(`${ns}:fails`, 1)).rejects.toThrow(/reply handler on ".*fails" failed: nope/);
    });

    it('refuses bad input at the call site and sends nothing', async () => {
      const ch = `${ns}:bad`;
      const got: unknown[] = [];
      const gaps: GapEvent[] = [];
      b.on('gap', (g) => void gaps.push(g));
      await b.subscribe(ch, (m) => void got.push(m));
      await a.broadcast(ch, 1);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      // Zero-copy runs no serializer: it carries these as they are (memory-zero-copy.test.ts).
      if (!ctx.zeroCopy) {
        await expect(a.broadcast(ch, { n: 10n })).rejects.toBeInstanceOf(SerializationError);
        await expect(a.broadcast(ch, cyclic)).rejects.toThrow(/payload.self: circular reference/);
      }
      await expect(a.broadcast('has space', 1)).rejects.toBeInstanceOf(InvalidNameError);
      await expect(a.broadcast(`${ns}:*`, 1)).rejects.toBeInstanceOf(InvalidNameError);
      await expect(b.subscribe(`${ns}:[abc`, () => undefined)).rejects.toBeInstanceOf(InvalidPatternError);
      await expect(b.subscribe(`${ns}:a]`, () => undefined)).rejects.toBeInstanceOf(InvalidPatternError);
      await a.broadcast(ch, 2);
      await waitFor(() => got.length === 2);
      expect(got).toEqual([1, 2]);
      expect(gaps).toEqual([]); // refused messages never spent a sequence number
    });

    it('announces an outage: resubscribed with its window, then a gap for what was lost', async () => {
      const ch = `${ns}:lossy`;
      const got: unknown[] = [];
      const gaps: GapEvent[] = [];
      const perSub: Array<{ gap?: GapEvent; resub?: ResubscribedEvent }> = [];
      const resubscribed = deferred<ResubscribedEvent>();
      b.on('resubscribed', (e) => resubscribed.resolve(e));
      b.on('gap', (g) => void gaps.push(g));
      await b.subscribe(ch, (m) => void got.push(m), { onGap: (gap) => void perSub.push({ gap }), onResubscribed: (resub) => void perSub.push({ resub }) });
      await a.broadcast(ch, 1);
      await waitFor(() => got.length === 1);
      await ctx.cut(b);
      await a.broadcast(ch, 2);
      await a.broadcast(ch, 3);
      await ctx.restore(b);
      const window = await resubscribed.promise;
      expect(window.upAt.getTime()).toBeGreaterThanOrEqual(window.downAt.getTime());
      expect(window.outageMs).toBe(window.upAt.getTime() - window.downAt.getTime());
      await a.broadcast(ch, 4);
      await waitFor(() => got.length === 2);
      expect(got).toEqual([1, 4]);
      expect(gaps).toEqual([{ channel: ch, topic: ch, node: a.nodeId, expected: 2, received: 4, missing: 2 }]);
      expect(perSub.map((p) => (p.gap ? 'gap' : 'resub'))).toEqual(['resub', 'gap']);
    });

    it('close stops intake', async () => {
      await a.close();
      await expect(a.broadcast(`${ns}:x`, 1)).rejects.toBeInstanceOf(ClosedError);
      await expect(a.subscribe(`${ns}:x`, () => undefined)).rejects.toBeInstanceOf(ClosedError);
    });
  });
}
