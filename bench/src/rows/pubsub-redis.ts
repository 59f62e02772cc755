/**
 * PubSub on Redis: one process publishing and subscribing through two connections (a subscriber
 * connection cannot publish). Channels leave nothing in Redis, so there is nothing to delete.
 *
 * Same work on both sides: the same payload object per message, at-most-once, no acknowledgement
 * beyond Redis' PUBLISH reply, one subscriber connection per subscriber.
 * - raw: ioredis with default options, `PUBLISH` of `JSON.stringify(payload)` (a string: ioredis
 *   writes each command to the socket as it is made), `SUBSCRIBE` + `JSON.parse` in 'message'.
 * - ours: a publishing node and N subscribing nodes (two connections each); each message is an
 *   envelope (UUIDv7 id, ISO time, node and sequence headers: about 190 bytes more than the
 *   payload), decoded and gap-checked on the receiving node. The adapter corks its publisher
 *   socket for a tick (one writev per 16 KB of publishes) where raw ioredis writes per command.
 */
import { Redis } from 'ioredis';
import { withTimeout } from '@events/core';
import { makePayload, sizeLabel, stampOf } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
}

async function rawRedis(ctx: RowContext, size: number, subscribers: number): Promise<PhaseResult> {
  const channel = `${uniqueName('bench')}:notifications`;
  const pub = redisClient();
  const subs = Array.from({ length: subscribers }, () => redisClient());
  try {
    await withTimeout(Promise.all([pub.connect(), ...subs.map((s) => s.connect())]), 10_000, 'redis connect');
    for (const sub of subs) {
      sub.on('message', (_channel: string, message: string) => ctx.rec.hit(stampOf(JSON.parse(message))));
      await sub.subscribe(channel);
    }
    return await ctx.measure({
      fanout: subscribers,
      complete: 'delivery',
      send: (stamp, i) => pub.publish(channel, JSON.stringify(makePayload(size, stamp, i))),
    });
  } finally {
    pub.disconnect();
    for (const sub of subs) sub.disconnect();
  }
}

export type PubSubRedisRunner = (ctx: RowContext, size: number, subscribers: number) => Promise<PhaseResult>;

/** `subscribers` here are subscriber processes' connections (each its own Redis connection). */
export function pubsubRedisRows(impl: 'ours' | 'raw', run: PubSubRedisRunner): RowDef[] {
  const cells = [
    { size: 100, subscribers: 1 },
    { size: 10_240, subscribers: 1 },
    { size: 100, subscribers: 10 },
  ];
  return cells.map(({ size, subscribers }) => {
    const slug = subscribers === 1 ? 'publish' : `connections-${subscribers}`;
    return {
      id: `pubsub/redis/${impl}/${slug}/${sizeLabel(size)}`,
      tier: 'pubsub',
      transport: 'redis',
      impl,
      scenario: subscribers === 1 ? 'publish -> subscriber (2 connections)' : `scaling: ${subscribers} subscriber connections`,
      payloadBytes: size,
      pair: `pubsub/redis/${slug}/${size}`,
      broker: 'redis',
      fanout: subscribers,
      inflight: 1_000,
      target: impl === 'ours' ? 0.9 : undefined,
      run: (ctx) => run(ctx, size, subscribers),
    } satisfies RowDef;
  });
}

export const rawPubSubRedisRows = pubsubRedisRows('raw', rawRedis);

/**
 * The cost of channel history: ours on the 100 B publish cell with the channel keeping history
 * (each broadcast is one EVALSHA doing XADD MAXLEN ~ + PEXPIRE + PUBLISH instead of one PUBLISH).
 * Same pair as the row without history, so both show their ratio to the same raw row.
 */
export function pubsubRedisHistoryRow(run: PubSubRedisRunner): RowDef {
  return {
    id: 'pubsub/redis/ours/publish-history/100B',
    tier: 'pubsub',
    transport: 'redis',
    impl: 'ours',
    scenario: 'publish -> subscriber, history on (size 1000)',
    payloadBytes: 100,
    pair: 'pubsub/redis/publish/100',
    broker: 'redis',
    fanout: 1,
    inflight: 1_000,
    run: (ctx) => run(ctx, 100, 1),
  };
}
