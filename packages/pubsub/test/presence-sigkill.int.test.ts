/**
 * Done-when of presence: a gateway process holding members is killed with SIGKILL (no close, no
 * leave); every other node stops listing its members within ttlMs of the kill and announces each
 * as `leave` (`expired`) within ttlMs + heartbeatMs, while the members of live nodes stay.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, randomId, spawnTs, waitFor, type SpawnedTs } from '@events/testing';
import { createPubSub, type PresenceEvent, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { presenceKeys } from '../src/adapters/redis-presence.js';
import { RawClient } from './websocket-helpers.js';

const script = fileURLToPath(new URL('./fixtures/presence-gateway-process.ts', import.meta.url));
const TTL_MS = 3000;
const HEARTBEAT_MS = 1000;
/** How late this process' polling (10 ms, a Redis round trip, a loaded machine) may see the change. */
const SLACK_MS = 500;

describe('presence after a gateway SIGKILL (Redis)', () => {
  let proc: SpawnedTs | undefined;
  let observer: PubSub | undefined;
  const clients: RawClient[] = [];
  const admin = new Redis(REDIS_URL);
  afterAll(() => admin.quit());
  afterEach(async () => {
    for (const c of clients) c.ws.terminate();
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await observer?.close();
  });

  it(`drops the killed node's members within ttlMs (${TTL_MS} ms) and announces each as expired`, async () => {
    const ns = `p${randomId()}`;
    const channel = `room:${randomId()}`;
    proc = spawnTs(script, [], { env: { NS: ns, REDIS_URL, TTL_MS: String(TTL_MS), HEARTBEAT_MS: String(HEARTBEAT_MS) } });
    const lines: Array<{ ready: boolean; port: number; node: string }> = [];
    createInterface({ input: proc.child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as (typeof lines)[number]));
    await waitFor(() => lines.length > 0 || proc!.child.exitCode !== null, 20_000, 'the gateway process');
    const { port, node: killedNode } = lines[0]!;

    observer = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), namespace: ns, presence: { ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS } });
    const events: PresenceEvent[] = [];
    await observer.onPresence(channel, (e) => void events.push(e));
    const survivors = [await observer.join(channel, { user: 'stays-1' }), await observer.join(channel, { user: 'stays-2' })];

    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    for (const user of users) {
      const client = new RawClient(`ws://127.0.0.1:${port}/pubsub`, { 'x-user': user });
      clients.push(client);
      await client.opened;
      client.send({ type: 'subscribe', id: 1, topic: channel, presence: true });
      await waitFor(() => client.of('subscribed').length === 1, 5000, `${user} subscribed`);
    }
    const before = await observer.presence(channel);
    expect(before.total).toBe(7);
    expect(before.members.filter((m) => m.node === killedNode).map((m) => m.user).sort()).toEqual(users);

    // Redis' clock decides expiry: read it just before and just after the kill, so the kill lies
    // between the two (a window of a few ms), and the members' expiry times are compared with it.
    const redisNow = async (): Promise<number> => {
      const [seconds, micros] = await admin.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    const redisBefore = await redisNow();
    proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const redisAfter = await redisNow();
    expect((await proc.exited).signal).toBe('SIGKILL');
    const scores = await admin.zmscore(presenceKeys(`${ns}:${channel}`)[0], ...before.members.filter((m) => m.node === killedNode).map((m) => m.id));
    const lastExpiry = Math.max(...scores.map(Number));
    const expiresWithinMs = lastExpiry - redisBefore;
    expect(lastExpiry).toBeLessThanOrEqual(redisAfter + TTL_MS);

    await waitFor(async () => (await observer!.presence(channel)).total === 2, TTL_MS + 5000, 'the killed node members gone');
    const goneAfterMs = Date.now() - killedAt;
    const after = await observer.presence(channel);
    expect(after.members.map((m) => m.id).sort()).toEqual(survivors.map((s) => s.member.id).sort());

    const expired = (): PresenceEvent[] => events.filter((e) => e.type === 'leave' && e.member.node === killedNode);
    await waitFor(() => expired().length === users.length, TTL_MS + HEARTBEAT_MS + 5000, 'leave events');
    const leavesAfterMs = Date.now() - killedAt;
    expect(expired().every((e) => e.reason === 'expired')).toBe(true);
    expect(expired().map((e) => e.member.user).sort()).toEqual(users);
    expect(events.filter((e) => e.type === 'leave' && e.member.node !== killedNode)).toHaveLength(0);

    console.log(
      `presence after SIGKILL: members 7 -> ${after.total}; the killed node's ${users.length} expire by Redis' clock at most ${expiresWithinMs} ms after the kill (kill window ${redisAfter - redisBefore} ms) and left presence() ${goneAfterMs} ms after it as seen by polling (bound ttlMs ${TTL_MS} ms), ` +
        `${expired().length} leave(expired) events within ${leavesAfterMs} ms (bound ttlMs + heartbeatMs ${TTL_MS + HEARTBEAT_MS} ms), 0 other leaves, survivors 2/2`,
    );
    expect(goneAfterMs).toBeLessThanOrEqual(TTL_MS + SLACK_MS);
    expect(leavesAfterMs).toBeLessThanOrEqual(TTL_MS + HEARTBEAT_MS + SLACK_MS);
  });
});
