/**
 * The Redis adapter on a real Redis Cluster, in both modes: where the subscriber connections go
 * (interest-based: only to the primaries serving this process's channels), exact receiver counts,
 * globs in classic mode and refused in sharded mode.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@events/core';
import { randomId, waitFor } from '@events/testing';
import type { PubSub } from '../src/index.js';
import { channelOn, clusterNode, nodeClient, primaries, type Primary } from './cluster-context.js';

let list: Primary[];
const open: PubSub[] = [];

async function node(options: { sharded: boolean; namespace: string; name?: string }): Promise<PubSub> {
  const pubsub = clusterNode(options);
  open.push(pubsub);
  await pubsub.start();
  return pubsub;
}

/** Subscriber connections named `<name>-subscriber` on each primary, with their ssub/sub/psub counts. */
async function subscriberConnections(name: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of list) {
    const admin = nodeClient(p.address);
    try {
      const lines = ((await admin.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${name}-subscriber `));
      out[p.address] = lines.map((l) => ['sub', 'psub', 'ssub'].map((k) => `${k}=${new RegExp(` ${k}=(\\d+)`).exec(l)?.[1]}`).join(' '));
    } finally {
      admin.disconnect();
    }
  }
  return out;
}

beforeAll(async () => {
  list = await primaries();
  expect(list).toHaveLength(3);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

describe('sharded mode (SPUBLISH / SSUBSCRIBE)', () => {
  it('opens a subscriber connection only to the primaries serving its channels, counts exactly, closes them when interest ends', async () => {
    const ns = randomId('shard');
    const name = randomId('ps');
    const publisher = await node({ sharded: true, namespace: ns });
    const subscriber = await node({ sharded: true, namespace: ns, name });
    const [first, second, third] = list as [Primary, Primary, Primary];
    const onFirst = channelOn(list, first, { namespace: ns, stem: 'room' });
    const onSecond = channelOn(list, second, { namespace: ns, stem: 'room' });
    const got: string[] = [];
    const s1 = await subscriber.subscribe(onFirst, (_m, meta) => void got.push(meta.channel));
    const s2 = await subscriber.subscribe(onSecond, (_m, meta) => void got.push(meta.channel));

    expect(await subscriberConnections(name)).toEqual({ [first.address]: ['sub=0 psub=0 ssub=1'], [second.address]: ['sub=0 psub=0 ssub=1'], [third.address]: [] });
    expect(await publisher.broadcast(onFirst, { n: 1 })).toBe(1);
    expect(await publisher.broadcast(onSecond, { n: 2 })).toBe(1);
    expect(await publisher.broadcast(channelOn(list, third, { namespace: ns, stem: 'nobody' }), { n: 3 })).toBe(0);
    await waitFor(() => got.length === 2, 5000, 'both deliveries');
    expect(got.sort()).toEqual([onFirst, onSecond].sort());

    await s1.close();
    await waitFor(async () => (await subscriberConnections(name))[first.address]!.length === 0, 5000, 'the first shard connection to close');
    await s2.close();
    await waitFor(async () => Object.values(await subscriberConnections(name)).every((c) => c.length === 0), 5000, 'every shard connection to close');
  });

  it('refuses a glob with a clear error, and nothing is subscribed', async () => {
    const subscriber = await node({ sharded: true, namespace: randomId('shard') });
    const refused = await subscriber.subscribe('room:*', () => undefined).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidOptionError);
    expect((refused as Error).message).toMatch(/^invalid option sharded: Redis sharded pub\/sub has no pattern subscriptions; cannot subscribe to "shard-[^"]+:room:\*"$/);
    expect(subscriber.subscriptions().size).toBe(0);
  });
});

describe('classic mode (PUBLISH / SUBSCRIBE / PSUBSCRIBE)', () => {
  it('delivers channels and globs across the cluster through one meeting primary, with exact counts', async () => {
    const ns = randomId('classic');
    const name = randomId('pc');
    const publisher = await node({ sharded: false, namespace: ns });
    const subscriber = await node({ sharded: false, namespace: ns, name });
    const channels = list.map((p) => channelOn(list, p, { namespace: ns, stem: 'room' }));
    const got: string[] = [];
    await subscriber.subscribe(channels, (_m, meta) => void got.push(`channel ${meta.channel}`));
    await subscriber.subscribe('room-*', (_m, meta) => void got.push(`glob ${meta.channel}`));
    for (const channel of channels) expect(await publisher.broadcast(channel, { channel })).toBe(2);
    await waitFor(() => got.length === 6, 5000, 'six deliveries');
    expect(got.sort()).toEqual(channels.flatMap((c) => [`channel ${c}`, `glob ${c}`]).sort());
    const connections = Object.entries(await subscriberConnections(name)).filter(([, c]) => c.length > 0);
    expect(connections).toEqual([[expect.any(String), ['sub=3 psub=1 ssub=0']]]);
  });
});
