/**
 * Presence on a real Redis Cluster: members of channels owned by every primary are listed from
 * another node, and both keys of a channel sit in the slot of the channel itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomId, waitFor } from '@events/testing';
import type { PresenceEvent, PubSub } from '../src/index.js';
import { presenceKeys } from '../src/adapters/redis-presence.js';
import { clusterSlot } from '@events/core';
import { channelOn, clusterNode, nodeClient, owner, primaries } from './cluster-context.js';

describe('presence on a Redis Cluster', () => {
  const nodes: PubSub[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });

  for (const sharded of [false, true]) {
    it(`lists members of channels on every primary from another node, keys in the channel's slot (sharded: ${sharded})`, async () => {
      const namespace = `p${randomId()}`;
      const list = await primaries();
      const a = clusterNode({ sharded, namespace });
      const b = clusterNode({ sharded, namespace });
      nodes.push(a, b);
      const seen: PresenceEvent[] = [];
      const channels = list.map((p, i) => channelOn(list, p, { namespace, stem: `room${i}` }));
      for (const channel of channels) await b.onPresence(channel, (e) => void seen.push(e));
      const handles = await Promise.all(channels.map((channel) => a.join(channel, { user: `u-${channel}` })));
      for (const [i, channel] of channels.entries()) {
        const answer = await b.presence(channel);
        expect(answer.members.map((m) => m.id)).toEqual([handles[i]!.member.id]);
        const wire = `${namespace}:${channel}`;
        const [zset, hash] = presenceKeys(wire);
        expect(clusterSlot(zset)).toBe(clusterSlot(wire));
        expect(clusterSlot(hash)).toBe(clusterSlot(wire));
        const holder = nodeClient(owner(list, wire).address);
        try {
          expect(await holder.zcard(zset)).toBe(1);
        } finally {
          holder.disconnect();
        }
      }
      await waitFor(() => seen.filter((e) => e.type === 'join').length === channels.length, 10_000, 'a join per channel');
      await Promise.all(handles.map((h) => h.leave()));
      for (const channel of channels) expect((await b.presence(channel)).total).toBe(0);
      await waitFor(() => seen.filter((e) => e.type === 'leave').length === channels.length, 10_000, 'a leave per channel');
    });
  }
});
