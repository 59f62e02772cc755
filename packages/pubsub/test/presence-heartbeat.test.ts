import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PubSubPresenceRecord, PubSubPresenceStore } from '@events/core';
import { Presence, resolvePresenceOptions } from '../src/presence.js';
import type { Subscription } from '../src/types.js';

/** A store whose sweeps (list) are slow, as many channels on a loaded Redis would be. */
function slowSweepStore(sweepMs: number) {
  const upserts = new Map<string, number>();
  const swept = new Map<string, number>();
  const store: PubSubPresenceStore = {
    upsert: async (key: string, members: readonly PubSubPresenceRecord[]) => {
      upserts.set(key, (upserts.get(key) ?? 0) + 1);
      return members.map((m) => m.id);
    },
    remove: async () => [],
    list: async (key: string) => {
      await new Promise((resolve) => setTimeout(resolve, sweepMs));
      swept.set(key, (swept.get(key) ?? 0) + 1);
      return { members: [], total: 0, expired: [] };
    },
  };
  return { store, upserts, swept };
}

describe('presence heartbeat', () => {
  // The heartbeat's own interval never fires here: the test calls tick() itself. Timeouts stay real.
  afterEach(() => void vi.useRealTimers());

  it('refreshes every channel with members of this node on each heartbeat, however long sweeping takes; sweeps go round robin', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, upserts, swept } = slowSweepStore(30);
    const channels = Array.from({ length: 400 }, (_, i) => `room:${i}`);
    const options = resolvePresenceOptions({ heartbeatMs: 200, ttlMs: 1000 });
    const presence = new Presence(
      {
        nodeId: 'node-1',
        kind: 'memory',
        store,
        report: () => undefined,
        wire: (channel) => channel,
        publish: async () => undefined,
        subscribe: async () => ({}) as Subscription,
        topics: () => [],
        ready: async () => undefined,
      },
      options,
    );
    for (const channel of channels) await presence.join(channel, { clientId: 'c' });
    const refreshed = (): number => channels.filter((c) => (upserts.get(c) ?? 0) >= 2).length;

    await presence.tick();
    // Every channel refreshed (join + heartbeat), though a sweep round (400 channels, 32 at a time,
    // 30 ms each) is far longer than the 100 ms a heartbeat gives to sweeping.
    expect(refreshed()).toBe(channels.length);
    const afterFirst = swept.size;
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(channels.length);

    // The next heartbeats go on where the sweep stopped, until every channel was swept once.
    let ticks = 1;
    while (swept.size < channels.length && ticks < 50) {
      await presence.tick();
      ticks += 1;
    }
    expect(swept.size).toBe(channels.length);
    expect([...swept.values()].every((n) => n === 1)).toBe(true);
    expect(channels.every((c) => upserts.get(c) === 1 + ticks)).toBe(true);
    presence.stop();
  });
});
