/**
 * A primary of the Redis Cluster is SIGKILLed mid-stream (scripts/redis-cluster.sh kill-primary N)
 * while one node publishes on three channels (one per shard) and another subscribes. The
 * subscriber must resubscribe on the promoted replica by itself, report the outage window
 * (`resubscribed`), and every message it lost must be covered by the signals: inside a `gap`
 * (sequence jump) or sent within the window. Counts are printed on one line and asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorEvent } from '@events/core';
import { delay, randomId, waitFor } from '@events/testing';
import type { GapEvent, PubSub, ResubscribedEvent } from '../src/index.js';
import { clusterSlot } from '@events/core';
import { channelOn, clusterNode, clusterScript, owner, primaries, type Primary } from './cluster-context.js';

type Mode = 'sharded' | 'classic';
interface Sent {
  readonly channel: string;
  readonly k: number;
  readonly at: number;
}

const open: PubSub[] = [];
let killed = false;
let stopPublishing = async (): Promise<void> => undefined;

afterEach(async () => {
  await stopPublishing();
  await Promise.all(open.splice(0).map((p) => p.close()));
  // The next test (and file) gets a whole cluster: the killed node rejoins as a replica.
  if (killed) await clusterScript('restart');
  killed = false;
});

async function killPrimaryMidStream(mode: Mode): Promise<void> {
  const list = await primaries();
  const ns = randomId(`kill-${mode}`);
  // Sharded: kill the primary of the first channel. Classic: kill the meeting primary every
  // process subscribes on (the one serving the slot of "events-pubsub").
  const victim: Primary = mode === 'sharded' ? list[0]! : owner(list, 'events-pubsub');
  const victimNumber = list.indexOf(victim) + 1;
  const channels = list.map((p) => channelOn(list, p, { namespace: ns, stem: 'feed' }));
  const publishErrors: ErrorEvent[] = [];
  const publisher = clusterNode({ sharded: mode === 'sharded', namespace: ns, onError: (e) => void (e.kind === 'publish' && publishErrors.push(e)) });
  const subscriber = clusterNode({ sharded: mode === 'sharded', namespace: ns });
  open.push(publisher, subscriber);
  await Promise.all([publisher.start(), subscriber.start()]);

  const received = new Map<string, number[]>(channels.map((c) => [c, []]));
  const gaps: GapEvent[] = [];
  const windows: ResubscribedEvent[] = [];
  const downs: Date[] = [];
  subscriber.on('gap', (g) => void gaps.push(g));
  subscriber.on('resubscribed', (r) => void windows.push(r));
  subscriber.on('down', (d) => void downs.push(d.at));
  await subscriber.subscribe(channels, (message, meta) => void received.get(meta.channel)!.push((message as { k: number }).k));

  const sent: Sent[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let publishing = true;
  const next = new Map<string, number>(channels.map((c) => [c, 0]));
  const loop = (async () => {
    while (publishing) {
      for (const channel of channels) {
        const k = next.get(channel)! + 1;
        next.set(channel, k);
        sent.push({ channel, k, at: Date.now() });
        // A failed publish resolves too (with the local count) and is reported to onError.
        const p = publisher.broadcast(channel, { k });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await delay(10); // the publisher's pace, not a wait for a state
    }
  })();

  stopPublishing = async () => {
    publishing = false;
    await loop;
    await Promise.all([...inFlight]);
  };
  const deliveredOn = (c: string): number => received.get(c)!.length;
  await waitFor(() => channels.every((c) => deliveredOn(c) >= 20), 10_000, 'a steady stream before the kill');
  const killedPort = await clusterScript('kill-primary', String(victimNumber));
  killed = true;
  expect(victim.address.endsWith(`:${killedPort}`)).toBe(true);
  const killAt = Date.now();

  await waitFor(() => windows.length > 0, 60_000, 'the subscriber to resubscribe by itself after the failover');
  const upAt = windows[0]!.upAt.getTime();
  const after = new Map(channels.map((c) => [c, deliveredOn(c)]));
  await waitFor(() => channels.every((c) => deliveredOn(c) >= after.get(c)! + 20), 20_000, 'deliveries on every channel after the failover');
  await stopPublishing();
  const last = new Map(channels.map((c) => [c, next.get(c)!]));
  await waitFor(() => channels.every((c) => received.get(c)!.includes(last.get(c)!)), 10_000, 'the last message of every channel');

  // Accounting.
  const counts = new Map<string, number>();
  for (const [c, ks] of received) for (const k of ks) counts.set(`${c}#${k}`, (counts.get(`${c}#${k}`) ?? 0) + 1);
  const duplicated = [...counts.values()].filter((n) => n > 1).length;
  const lostMessages = sent.filter((s) => !counts.has(`${s.channel}#${s.k}`));
  const inGap = (s: Sent): boolean => gaps.some((g) => g.channel === s.channel && s.k >= g.expected && s.k < g.received);
  const inWindow = (s: Sent): boolean => windows.some((w) => s.at >= w.downAt.getTime() && s.at <= w.upAt.getTime());
  const covered = lostMessages.filter((s) => inGap(s) || inWindow(s));
  const recoveryMs = windows[0]!.outageMs;
  const lostOutsideVictim = lostMessages.filter((s) => owner(list, `${ns}:${s.channel}`) !== victim).length;
  process.stdout.write(
    `pubsub cluster ${mode} kill-primary: sent=${sent.length} delivered=${counts.size} duplicated=${duplicated} lost=${lostMessages.length} ` +
      `covered_by_signals=${covered.length} (in_gap=${lostMessages.filter(inGap).length} in_window=${lostMessages.filter(inWindow).length}) ` +
      `lost_on_other_shards=${lostOutsideVictim} publish_errors=${publishErrors.length} gaps=${gaps.length} missing_reported=${gaps.reduce((n, g) => n + g.missing, 0)} ` +
      `recovery_ms=${recoveryMs} kill_to_resubscribed_ms=${upAt - killAt} killed=${victim.address} slot_of_events-pubsub=${clusterSlot('events-pubsub')}\n`,
  );

  expect(downs).toHaveLength(1);
  expect(windows).toHaveLength(1);
  expect(windows[0]!.downAt.getTime()).toBe(downs[0]!.getTime());
  expect(duplicated).toBe(0);
  expect(counts.size + lostMessages.length).toBe(sent.length);
  expect(covered.length).toBe(lostMessages.length);
  expect(subscriber.health().connected).toBe(true);
}

describe('pubsub on a Redis Cluster: a primary killed mid-stream', () => {
  it('sharded: the subscriber resubscribes on the promoted replica; every lost message is covered by gap/resubscribed', async () => {
    await killPrimaryMidStream('sharded');
  });

  it('classic: the subscriber moves to the promoted replica of the meeting primary; every lost message is covered', async () => {
    await killPrimaryMidStream('classic');
  });
});
