/**
 * Scale rows: interest-based routing on Redis as channels grow (issue 14). C = 100 / 1,000 /
 * 10,000 channels, one subscriber each, in one process (a subscribing node and a publishing node;
 * raw: one ioredis subscriber connection and one publisher):
 * - `channels-C/broadcast`: messages sent round robin over the C channels, each reaching its one
 *   subscriber (msg/s, CPU µs per message);
 * - `channels-C/subscribe`: C subscribes, 1,000 in flight (ops/s, µs each; latency = call -> confirmed);
 * - `channels-C/unsubscribe`: closing those C subscriptions, 1,000 in flight.
 * Ours subscribes through `pubsub.subscribe` (one SUBSCRIBE per first local interest) and
 * unsubscribes by closing the handle (one UNSUBSCRIBE); raw sends the same commands with ioredis
 * and routes messages to per-channel handlers through a Map, as an application would.
 */
import { withTimeout } from '@events/core';
import { createPubSub, type PubSub, type Subscription } from '@events/pubsub';
import { redisPubSub } from '@events/pubsub/redis';
import type { Redis } from 'ioredis';
import { makePayload, stampOf } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { redisClient } from './pubsub-redis.js';

const SIZE = 100;
const COUNTS = [100, 1_000, 10_000] as const;
type Op = 'broadcast' | 'subscribe' | 'unsubscribe';

/** The side under test: subscribe / unsubscribe one channel, publish to one. */
interface Side {
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  publish(channel: string, message: unknown): Promise<unknown>;
  close(): Promise<void>;
}

async function oursSide(ctx: RowContext): Promise<Side> {
  const node = (): PubSub => createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), onError: (event) => ctx.rec.fail(event.error) });
  const subscriber = node();
  const publisher = node();
  await withTimeout(Promise.all([subscriber.start(), publisher.start()]), 10_000, 'pubsub redis start');
  return {
    async subscribe(channel, handler) {
      const sub: Subscription = await subscriber.subscribe(channel, handler);
      return () => sub.close({ drain: false });
    },
    publish: (channel, message) => publisher.broadcast(channel, message),
    close: async () => void (await Promise.all([subscriber, publisher].map((n) => n.close({ force: true }).catch(() => undefined)))),
  };
}

async function rawSide(): Promise<Side> {
  const pub: Redis = redisClient();
  const sub: Redis = redisClient();
  await withTimeout(Promise.all([pub.connect(), sub.connect()]), 10_000, 'redis connect');
  const handlers = new Map<string, (message: unknown) => void>();
  sub.on('message', (channel: string, text: string) => handlers.get(channel)?.(JSON.parse(text)));
  return {
    async subscribe(channel, handler) {
      handlers.set(channel, handler);
      await sub.subscribe(channel);
      return async () => {
        handlers.delete(channel);
        await sub.unsubscribe(channel);
      };
    },
    publish: (channel, message) => pub.publish(channel, JSON.stringify(message)),
    close: async () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

async function run(ctx: RowContext, impl: 'ours' | 'raw', op: Op, count: number): Promise<PhaseResult> {
  const side = impl === 'ours' ? await oursSide(ctx) : await rawSide();
  const prefix = uniqueName('bench');
  const hit = (message: unknown): void => ctx.rec.hit(stampOf(message));
  let round = 0;
  let open: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    const closing = open;
    open = [];
    await Promise.all(closing.map((close) => close()));
  };
  // Subscribes `n` fresh channels of this round, 1,000 at a time (setup, not measured).
  const subscribeRound = async (n: number): Promise<string[]> => {
    round += 1;
    const names = Array.from({ length: n }, (_, i) => `${prefix}:r${round}:c${i}`);
    for (let i = 0; i < n; i += 1_000) open.push(...(await Promise.all(names.slice(i, i + 1_000).map((name) => side.subscribe(name, hit)))));
    return names;
  };
  try {
    if (op === 'broadcast') {
      const names = await subscribeRound(count);
      return await ctx.measure({ complete: 'delivery', send: (stamp, i) => side.publish(names[i % count]!, makePayload(SIZE, stamp, i)) });
    }
    if (op === 'subscribe') {
      let names: string[] = [];
      return await ctx.measure({
        complete: 'ack',
        beforePhase: async () => {
          await closeAll();
          round += 1;
          names = Array.from({ length: count }, (_, i) => `${prefix}:r${round}:c${i}`);
        },
        send: (_stamp, i) => side.subscribe(names[i]!, hit).then((close) => void open.push(close)),
      });
    }
    let closers: Array<() => Promise<void>> = [];
    return await ctx.measure({
      complete: 'ack',
      beforePhase: async () => {
        await closeAll();
        await subscribeRound(count);
        closers = open;
        open = [];
      },
      send: (_stamp, i) => closers[i]!(),
    });
  } finally {
    await closeAll().catch(() => undefined);
    await side.close();
  }
}

function row(impl: 'ours' | 'raw', op: Op, count: number): RowDef {
  const scenario = op === 'broadcast' ? `scale: broadcast over ${count} channels, 1 subscriber each` : `scale: ${op} ${count} channels, 1,000 in flight`;
  return {
    id: `pubsub/redis/${impl}/channels-${count}/${op}`,
    tier: 'pubsub',
    transport: 'redis',
    impl,
    scenario,
    payloadBytes: op === 'broadcast' ? SIZE : 0,
    pair: `pubsub/redis/channels-${count}/${op}`,
    broker: 'redis',
    fanout: 1,
    inflight: 1_000,
    // One op per channel: subscribe and unsubscribe each channel once per phase.
    ...(op === 'broadcast' ? {} : { maxMessages: count, latencyIs: 'send->ack' as const }),
    run: (ctx) => run(ctx, impl, op, count),
  };
}

export const scaleChannelRows: RowDef[] = COUNTS.flatMap((count) => (['broadcast', 'subscribe', 'unsubscribe'] as const).flatMap((op) => [row('raw', op, count), row('ours', op, count)]));
