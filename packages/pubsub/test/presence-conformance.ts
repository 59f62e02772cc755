/**
 * Presence semantics every adapter must have (run over memory and real Redis): members listed
 * on every node, join/leave announced once, bounds, and expiry of a node that stops refreshing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BackpressureError, InvalidNameError, InvalidOptionError } from '@events/core';
import { randomId, waitFor } from '@events/testing';
import type { PresenceEvent, PresenceOptions, PubSub } from '../src/index.js';

export interface PresenceContext {
  node(options?: { presence?: PresenceOptions; namespace?: string }): Promise<PubSub>;
  /** The node can no longer reach the transport (its heartbeats fail) until `restore`. */
  cut(node: PubSub): Promise<void>;
  restore(node: PubSub): Promise<void>;
  cleanup(): Promise<void>;
}

/** Short timings, so expiry is seen within a test. */
const FAST: PresenceOptions = { ttlMs: 1200, heartbeatMs: 300 };

function collect(events: PresenceEvent[]): (event: PresenceEvent) => void {
  return (event) => void events.push(event);
}

export function presenceConformance(name: string, makeContext: () => Promise<PresenceContext>): void {
  describe(`presence conformance: ${name}`, () => {
    let ctx: PresenceContext;
    afterEach(async () => {
      await ctx?.cleanup();
    });

    it('lists a member of one node on another, with its info, until it leaves; join and leave are announced once', async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const [a, b] = await Promise.all([ctx.node({ namespace }), ctx.node({ namespace })]);
      const channel = `room:${randomId()}`;
      const seenByA: PresenceEvent[] = [];
      const seenByB: PresenceEvent[] = [];
      await a.onPresence(channel, collect(seenByA));
      await b.onPresence(channel, collect(seenByB));

      const handle = await a.join(channel, { clientId: 'c1', user: 'ada', info: { name: 'Ada' } });
      const snapshot = await b.presence(channel);
      expect(snapshot).toMatchObject({ channel, total: 1, truncated: false });
      expect(snapshot.members).toEqual([{ id: handle.member.id, clientId: 'c1', user: 'ada', info: { name: 'Ada' }, node: a.nodeId, joinedAt: handle.member.joinedAt }]);
      await waitFor(() => seenByA.length === 1 && seenByB.length === 1, 5000, 'join on both nodes');

      await handle.leave();
      expect(handle.active).toBe(false);
      expect((await b.presence(channel)).total).toBe(0);
      await waitFor(() => seenByA.length === 2 && seenByB.length === 2, 5000, 'leave on both nodes');
      for (const events of [seenByA, seenByB]) {
        expect(events.map((e) => [e.type, e.reason, e.member.id, e.channel])).toEqual([
          ['join', undefined, handle.member.id, channel],
          ['leave', 'left', handle.member.id, channel],
        ]);
      }
      await handle.leave(); // idempotent
      // Nothing more arrives (no duplicate from the other node): long enough for the transport.
      await new Promise((r) => setTimeout(r, 200));
      expect(seenByA.length + seenByB.length).toBe(4);
    });

    it('caps the members of one answer and counts them all; refuses oversized info, globs and too many members', async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const a = await ctx.node({ namespace, presence: { maxMembersPerCall: 5, maxInfoBytes: 300, maxLocalMembers: 12 } });
      const channel = `room:${randomId()}`;
      for (let i = 0; i < 12; i++) await a.join(channel, { clientId: `c${i}` });
      const capped = await a.presence(channel, { limit: 1000 });
      expect(capped.members).toHaveLength(5);
      expect(capped).toMatchObject({ total: 12, truncated: true });
      expect((await a.presence(channel, { limit: 2 })).members).toHaveLength(2);
      expect((await a.presence(channel, { limit: 0 })).members).toHaveLength(0);
      await expect(a.join(channel)).rejects.toBeInstanceOf(BackpressureError);
      await expect(a.join(`other:${randomId()}`, { info: 'x'.repeat(300) })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(a.join('room:*')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(a.presence('room:*')).rejects.toBeInstanceOf(InvalidNameError);
      await expect(a.presence(`x${'y'.repeat(500)}`)).rejects.toBeInstanceOf(InvalidNameError);
    });

    it("drops the members of a node that stops refreshing within ttlMs, announces them as expired, and takes them back when it returns", async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const [a, b] = await Promise.all([ctx.node({ namespace, presence: FAST }), ctx.node({ namespace, presence: FAST })]);
      const channel = `room:${randomId()}`;
      const seen: PresenceEvent[] = [];
      await b.onPresence(channel, collect(seen));
      const stays = await b.join(channel, { clientId: 'stays' });
      const goes = await a.join(channel, { clientId: 'goes' });
      await waitFor(() => seen.length === 2, 5000, 'both joins');
      expect((await b.presence(channel)).total).toBe(2);

      await ctx.cut(a);
      const cutAt = Date.now();
      await waitFor(async () => (await b.presence(channel)).total === 1, 5000, 'the cut node member expired');
      const droppedAfter = Date.now() - cutAt;
      // Listed at most ttlMs after its last heartbeat (which is at most heartbeatMs before the cut).
      expect(droppedAfter).toBeLessThanOrEqual(FAST.ttlMs! + 250);
      expect((await b.presence(channel)).members.map((m) => m.clientId)).toEqual(['stays']);
      await waitFor(() => seen.some((e) => e.type === 'leave' && e.member.id === goes.member.id), 5000, 'leave event');
      expect(seen.find((e) => e.type === 'leave')).toMatchObject({ reason: 'expired', member: { clientId: 'goes', node: a.nodeId } });

      await ctx.restore(a);
      await waitFor(async () => (await b.presence(channel)).total === 2, 5000, 'the member is back after the heartbeat');
      await waitFor(() => seen.filter((e) => e.type === 'join' && e.member.id === goes.member.id).length === 2, 5000, 'join announced again');
      expect(stays.active).toBe(true);
    });

    it('announces an expired member by the periodic sweep alone, with nobody asking presence()', async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const [a, b] = await Promise.all([ctx.node({ namespace, presence: FAST }), ctx.node({ namespace, presence: FAST })]);
      const channel = `room:${randomId()}`;
      const seen: PresenceEvent[] = [];
      await b.onPresence(channel, collect(seen));
      await a.join(channel, { clientId: 'goes' });
      await waitFor(() => seen.length === 1, 5000, 'the join');
      await ctx.cut(a);
      const cutAt = Date.now();
      await waitFor(() => seen.length === 2, 5000, 'the leave from a sweep');
      const after = Date.now() - cutAt;
      expect(seen[1]).toMatchObject({ type: 'leave', reason: 'expired', member: { clientId: 'goes' } });
      expect(after).toBeLessThanOrEqual(FAST.ttlMs! + FAST.heartbeatMs! + 250);
    });

    it('a closing node takes its members away and says so', async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const [a, b] = await Promise.all([ctx.node({ namespace }), ctx.node({ namespace })]);
      const channel = `room:${randomId()}`;
      const seen: PresenceEvent[] = [];
      await b.onPresence(channel, collect(seen));
      await a.join(channel, { clientId: 'one' });
      await a.join(channel, { clientId: 'two' });
      expect((await b.presence(channel)).total).toBe(2);
      await a.close();
      expect((await b.presence(channel)).total).toBe(0);
      await waitFor(() => seen.filter((e) => e.type === 'leave').length === 2, 5000, 'two leaves');
      expect(seen.filter((e) => e.type === 'leave').every((e) => e.reason === 'left')).toBe(true);
    });

    it('leaves nothing behind for joins still on their way when close begins', async () => {
      ctx = await makeContext();
      const namespace = `p${randomId()}`;
      const [a, b] = await Promise.all([ctx.node({ namespace }), ctx.node({ namespace })]);
      const channel = `room:${randomId()}`;
      const joins = Array.from({ length: 20 }, (_, i) => a.join(channel, { clientId: `c${i}` }).then(() => 'joined', (err: Error) => err.name));
      const closed = a.close();
      const outcomes = await Promise.all(joins);
      await closed;
      // Each join either completed (then close removed it) or was refused as closed: nothing else.
      expect(outcomes.every((o) => o === 'joined' || o === 'ClosedError')).toBe(true);
      expect((await b.presence(channel)).total).toBe(0);
    });
  });
}
