/**
 * Channel history and resume, for every adapter (memory in history.test.ts, Redis in
 * history-redis.int.test.ts): offsets, the seam between history and live under concurrent
 * publishing (no gap, no duplicate), too-old, the replay cap, epoch-changed, no-history, and the
 * catch-up after an outage of a subscriber's transport.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EMPTY_HISTORY_EPOCH, InvalidOptionError, type ErrorEvent } from '@events/core';
import type { HistoryOptions, HistoryReplayOptions, PubSub, RecoveryEvent, StreamPosition } from '../src/index.js';
import { randomId, waitFor } from '@events/testing';

export interface HistoryContext {
  /** A new started node with these history settings, on the shared medium. */
  node(options: { history: HistoryOptions; historyReplay?: HistoryReplayOptions; namespace: string; onError?: (e: ErrorEvent) => void }): Promise<PubSub>;
  cut(node: PubSub): Promise<void>;
  restore(node: PubSub): Promise<void>;
  cleanup(): Promise<void>;
  /** False for Redis sharded pub/sub, which has no glob subscriptions. Default: true. */
  readonly globs?: boolean;
  /** Puts bytes on a transport channel with a forged history position, as a hostile publisher on the transport would. */
  forge(wireChannel: string, data: Buffer, position: StreamPosition): Promise<void>;
}

interface Got {
  n: number;
  position: StreamPosition | undefined;
}

export function historyConformance(name: string, factory: () => Promise<HistoryContext>): void {
  describe(`pubsub history: ${name}`, () => {
    let ctx: HistoryContext;
    let ns: string;
    const history: HistoryOptions = {
      'chat:*': { size: 1000, ttlMs: 60_000 },
      'small:*': { size: 10, ttlMs: 60_000 },
      'brief:*': { size: 100, ttlMs: 1000 },
      // Holds all of the seam test's messages: however long a resume takes, nothing left history.
      'seam:*': { size: 5000, ttlMs: 60_000 },
    };

    beforeEach(async () => {
      ctx = await factory();
      ns = randomId('hist');
    });
    afterEach(() => ctx.cleanup());

    const node = (extra: { historyReplay?: HistoryReplayOptions; onError?: (e: ErrorEvent) => void } = {}): Promise<PubSub> => ctx.node({ history, namespace: ns, ...extra });

    /** Subscribes and records what arrives, in order. */
    async function record(on: PubSub, channel: string, since?: StreamPosition, onRecovery?: (e: RecoveryEvent) => void) {
      const got: Got[] = [];
      const sub = await on.subscribe(channel, (m, meta) => void got.push({ n: (m as { n: number }).n, position: meta.position }), {
        ...(since ? { since } : {}),
        ...(onRecovery ? { onRecovery } : {}),
      });
      return { got, sub };
    }

    const publishAll = async (from: PubSub, channel: string, first: number, last: number): Promise<void> => {
      for (let n = first; n <= last; n++) await from.broadcast(channel, { n });
    };

    it('gives each message of a channel with history the next offset, locally and remotely', async () => {
      const a = await node();
      const b = await node();
      const local = await record(a, 'chat:1');
      const remote = await record(b, 'chat:1');
      await publishAll(a, 'chat:1', 1, 20);
      await waitFor(() => remote.got.length === 20 && local.got.length === 20, 10_000, 'all 20 on both nodes');
      for (const seen of [local.got, remote.got]) {
        expect(seen.map((g) => g.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(seen.map((g) => g.position!.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(seen.map((g) => g.position!.epoch)).size).toBe(1);
      }
      expect(remote.sub.position).toEqual(remote.got.at(-1)!.position);
      // A channel without history carries no position.
      const plain = await record(b, 'plain:1');
      await a.broadcast('plain:1', { n: 1 });
      await waitFor(() => plain.got.length === 1);
      expect(plain.got[0]!.position).toBeUndefined();
    });

    it('resumes from a position: the missed messages from history, then live, each once and in order', async () => {
      const a = await node();
      const b = await node();
      await publishAll(a, 'chat:r', 1, 30);
      const first = await record(b, 'chat:r');
      const epoch = first.sub.position!.epoch;
      expect(first.sub.position).toEqual({ offset: 30, epoch });
      await first.sub.close();
      const events: RecoveryEvent[] = [];
      const resumed = await record(b, 'chat:r', { offset: 12, epoch }, (e) => events.push(e));
      expect(resumed.sub.recovery).toEqual({ channel: 'chat:r', recovered: true, replayed: 18, position: { offset: 30, epoch } });
      expect(events).toEqual([resumed.sub.recovery]);
      await publishAll(a, 'chat:r', 31, 35);
      await waitFor(() => resumed.got.length === 23, 10_000, 'replayed and live');
      expect(resumed.got.map((g) => g.n)).toEqual(Array.from({ length: 23 }, (_, i) => i + 13));
      expect(resumed.got.map((g) => g.position!.offset)).toEqual(Array.from({ length: 23 }, (_, i) => i + 13));
    });

    it('has no gap and no duplicate at the seam while another node publishes without pause', async () => {
      const total = 3000;
      const publisher = await node();
      // However long a resume takes on a loaded machine, what it missed fits one replay: this test
      // is about the seam, not the replay cap (tested below as too-old).
      const b = await node({ historyReplay: { maxMessages: total } });
      const channel = 'seam:1';
      const all: Got[] = [];
      let current = await record(b, channel);
      let stop = false;
      // The publisher keeps 8 broadcasts in flight: messages arrive while each resume reads history.
      const publishing = (async () => {
        let n = 1;
        while (n <= total && !stop) {
          const batch: Array<Promise<number>> = [];
          for (let i = 0; i < 8 && n <= total; i++) batch.push(publisher.broadcast(channel, { n: n++ }));
          await Promise.all(batch);
        }
      })();
      const recoveries: RecoveryEvent[] = [];
      for (let round = 0; round < 6; round++) {
        const before = all.length + current.got.length;
        await waitFor(() => all.length + current.got.length >= before + 200 || all.length + current.got.length >= total, 20_000, 'messages to flow');
        await current.sub.close();
        const position = current.sub.position!;
        all.push(...current.got);
        // Messages keep being published between the close and the resume: history must fill them in.
        current = await record(b, channel, position, (e) => recoveries.push(e));
      }
      await publishing;
      await waitFor(() => all.length + current.got.length >= total, 20_000, `all ${total} messages`);
      all.push(...current.got);
      stop = true;
      const ns = all.map((g) => g.n);
      const duplicated = ns.length - new Set(ns).size;
      const lost = total - new Set(ns).size;
      console.log(`history seam (${name}): sent ${total}, delivered ${ns.length}, duplicated ${duplicated}, lost ${lost}, resumes ${recoveries.length}, replayed ${recoveries.reduce((s, e) => s + e.replayed, 0)}`);
      expect(recoveries.every((e) => e.recovered)).toBe(true);
      expect(ns).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    });

    it('says too-old when part of what was missed has left the history, and continues live from the newest', async () => {
      const a = await node();
      const b = await node();
      const probe = await record(b, 'small:1');
      await probe.sub.close();
      const start = probe.sub.position!;
      await publishAll(a, 'small:1', 1, 200);
      const resumed = await record(b, 'small:1', start);
      // The probe found no history: its position is offset 0 of the empty epoch, which continues
      // into the epoch the first write started.
      expect(start).toEqual({ offset: 0, epoch: EMPTY_HISTORY_EPOCH });
      const epoch = resumed.sub.recovery!.position!.epoch;
      expect(epoch).not.toBe(EMPTY_HISTORY_EPOCH);
      expect(resumed.sub.recovery).toMatchObject({ channel: 'small:1', recovered: false, reason: 'too-old', replayed: 0, position: { offset: 200, epoch } });
      expect(resumed.got).toEqual([]);
      await a.broadcast('small:1', { n: 201 });
      await waitFor(() => resumed.got.length === 1);
      expect(resumed.got[0]).toEqual({ n: 201, position: { offset: 201, epoch } });
    });

    it('says too-old when more was missed than one resume may replay (historyReplay.maxMessages)', async () => {
      const a = await node();
      const b = await node({ historyReplay: { maxMessages: 5 } });
      await publishAll(a, 'chat:cap', 1, 20);
      const within = await record(b, 'chat:cap', { offset: 15, epoch: (await record(b, 'chat:cap')).sub.position!.epoch });
      expect(within.sub.recovery).toMatchObject({ recovered: true, replayed: 5 });
      const beyond = await record(b, 'chat:cap', { offset: 14, epoch: within.sub.position!.epoch });
      expect(beyond.sub.recovery).toMatchObject({ recovered: false, reason: 'too-old', replayed: 0 });
      expect(beyond.got).toEqual([]);
    });

    it('says epoch-changed when the history was lost and started again, or the position is not of this history', async () => {
      const a = await node();
      const b = await node();
      await publishAll(a, 'brief:1', 1, 3);
      const old = (await record(b, 'brief:1')).sub.position!;
      expect(old.offset).toBe(3);
      // ttlMs is 1000: the history goes 1 s after its last write; a read then finds none (the empty
      // epoch) and the next write starts a new epoch.
      await waitFor(async () => {
        const probe = await record(b, 'brief:1');
        await probe.sub.close();
        return probe.sub.position!.epoch === EMPTY_HISTORY_EPOCH;
      }, 10_000, 'the history to expire');
      const resumed = await record(b, 'brief:1', old);
      expect(resumed.sub.recovery).toMatchObject({ recovered: false, reason: 'epoch-changed', replayed: 0, position: { offset: 0, epoch: EMPTY_HISTORY_EPOCH } });
      await a.broadcast('brief:1', { n: 1 });
      await waitFor(() => resumed.got.length === 1);
      const fresh = resumed.got[0]!.position!;
      expect(fresh.offset).toBe(1);
      expect([old.epoch, EMPTY_HISTORY_EPOCH]).not.toContain(fresh.epoch);
      expect(resumed.sub.position).toEqual(fresh);
      // An offset beyond the newest of the same epoch is not a position of this history either.
      const ahead = await record(b, 'chat:ahead', { offset: 999, epoch: (await record(b, 'chat:ahead')).sub.position!.epoch });
      expect(ahead.sub.recovery).toMatchObject({ recovered: false, reason: 'epoch-changed' });
    });

    it('says no-history for a channel without history or a glob, and refuses a since that is not a position', async () => {
      const b = await node();
      const plain = await record(b, 'plain:x', { offset: 1, epoch: 'abc' });
      expect(plain.sub.recovery).toEqual({ channel: 'plain:x', recovered: false, reason: 'no-history', replayed: 0 });
      if (ctx.globs !== false) {
        const glob = await b.subscribe('chat:*', () => undefined, { since: { offset: 1, epoch: 'abc' } });
        expect(glob.recovery).toMatchObject({ recovered: false, reason: 'no-history' });
      }
      const bad = [{ offset: -1, epoch: 'e' }, { offset: 1.5, epoch: 'e' }, { offset: 1, epoch: '' }, { offset: 1, epoch: 'x'.repeat(65) }, { offset: '1', epoch: 'e' }];
      for (const since of bad) await expect(b.subscribe('chat:bad', () => undefined, { since: since as StreamPosition })).rejects.toBeInstanceOf(InvalidOptionError);
      expect(b.subscriptions().has('chat:bad')).toBe(false);
    });

    it('catches up from history after the subscriber node was cut off, with no gap and no duplicate', async () => {
      const a = await node();
      const b = await node();
      const events: RecoveryEvent[] = [];
      const sub = await record(b, 'chat:cut', undefined, (e) => events.push(e));
      await publishAll(a, 'chat:cut', 1, 10);
      await waitFor(() => sub.got.length === 10);
      await ctx.cut(b);
      await publishAll(a, 'chat:cut', 11, 40);
      await ctx.restore(b);
      await waitFor(() => sub.got.length === 40, 15_000, 'the catch-up after the outage');
      await publishAll(a, 'chat:cut', 41, 45);
      await waitFor(() => sub.got.length === 45);
      expect(sub.got.map((g) => g.n)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
      expect(events.filter((e) => !e.recovered)).toEqual([]);
    });

    it('tells the subscriber too-old when an outage outlasted the history, never a silent hole', async () => {
      const a = await node();
      const b = await node();
      const events: RecoveryEvent[] = [];
      const sub = await record(b, 'small:cut', undefined, (e) => events.push(e));
      await publishAll(a, 'small:cut', 1, 5);
      await waitFor(() => sub.got.length === 5);
      await ctx.cut(b);
      await publishAll(a, 'small:cut', 6, 300);
      await ctx.restore(b);
      await waitFor(() => events.length === 1, 15_000, 'the recovery event');
      expect(events[0]).toMatchObject({ recovered: false, reason: 'too-old', position: { offset: 300 } });
      await a.broadcast('small:cut', { n: 301 });
      await waitFor(() => sub.got.at(-1)?.n === 301);
      expect(sub.got.map((g) => g.n)).toEqual([1, 2, 3, 4, 5, 301]);
    });

    it('drops live messages whose position the history does not have (forged on the transport), and reports each', async () => {
      const a = await node();
      const errors: ErrorEvent[] = [];
      const b = await node({ onError: (e) => errors.push(e) });
      // Ahead of every real offset of the run (at most 8): a forged offset the stream reaches later would
      // only be dropped as a duplicate, unreported, once the real message with that offset came.
      const forgery = fc.record({ ahead: fc.integer({ min: 9, max: 1_000_000_000 }), foreign: fc.boolean(), epoch: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), after: fc.integer({ min: 1, max: 8 }) });
      await fc.assert(
        fc.asyncProperty(fc.array(forgery, { minLength: 1, maxLength: 4 }), async (forgeries) => {
          const channel = `chat:forge-${randomId()}`;
          const before = errors.length;
          const sub = await record(b, channel);
          const real = sub.sub.position!.epoch;
          for (let n = 1; n <= 8; n++) {
            await a.broadcast(channel, { n });
            for (const f of forgeries.filter((x) => x.after === n)) {
              const epoch = f.foreign && f.epoch !== real ? f.epoch : real;
              await ctx.forge(`${ns}:${channel}`, Buffer.from(JSON.stringify({ n: -1 })), { offset: n + f.ahead, epoch });
            }
          }
          const forged = forgeries.filter((f) => f.after <= 8).length;
          await waitFor(() => sub.got.length >= 8 && errors.length - before >= forged, 10_000, 'the real messages and a report per forgery');
          await sub.sub.close();
          expect(sub.got.map((g) => g.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
          expect(errors.slice(before).every((e) => e.kind === 'decode')).toBe(true);
        }),
        { numRuns: 12 },
      );
    });
  });
}
