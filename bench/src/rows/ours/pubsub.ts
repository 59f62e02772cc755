/** Our PubSub tier in the memory and Redis rows (their raw baselines are beside the row shapes). */
import { createPubSub, type PubSub } from '@events/pubsub';
import { memoryPubSub } from '@events/pubsub/memory';
import { redisPubSub } from '@events/pubsub/redis';
import { withTimeout } from '@events/core';
import { benchTracing } from '../../otel.js';
import { makePayload, stampOf } from '../../payload.js';
import { REDIS_URL } from '../../resources.js';
import { uniqueName, type RowContext } from '../../row.js';
import type { PhaseResult } from '../../driver.js';
import { pubsubMemoryRows } from '../pubsub-memory.js';
import { pubsubRedisHistoryRow, pubsubRedisRows } from '../pubsub-redis.js';
import { closeServer, listen, measureFanout, pubsubWsRows } from '../pubsub-ws.js';
import { createServer } from 'node:http';
import { createWebSocketGateway } from '@events/pubsub/websocket';
import { acquireFarm } from '../../ws-farm.js';

const CHANNEL = 'user:42:notifications';

/** `zeroCopy` measures production settings: no freezing (that is for development). */
async function oursMemory(ctx: RowContext, size: number, subscribers: number, zeroCopy: boolean): Promise<PhaseResult> {
  const pubsub = createPubSub({ adapter: memoryPubSub({ zeroCopy, freeze: false }), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  try {
    for (let s = 0; s < subscribers; s += 1) await pubsub.subscribe(CHANNEL, (message) => ctx.rec.hit(stampOf(message)));
    return await ctx.measure({
      fanout: subscribers,
      complete: 'delivery',
      send: (stamp, i) => pubsub.broadcast(CHANNEL, makePayload(size, stamp, i)),
    });
  } finally {
    await pubsub.close({ force: true });
  }
}

/**
 * A publishing node and `subscribers` subscribing nodes, each with its own Redis connections. With
 * `history`, the channel keeps its newest 1000 messages (keys expire 30 s after the row).
 */
async function oursRedis(ctx: RowContext, size: number, subscribers: number, history = false): Promise<PhaseResult> {
  const channel = `${uniqueName('bench')}:notifications`;
  const kept = history ? { history: { [channel]: { size: 1000, ttlMs: 30_000 } } } : {};
  const node = (): PubSub => createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), onError: (event) => ctx.rec.fail(event.error), ...benchTracing(), ...kept });
  const publisher = node();
  const nodes = Array.from({ length: subscribers }, node);
  try {
    await withTimeout(Promise.all([publisher.start(), ...nodes.map((n) => n.start())]), 10_000, 'pubsub redis start');
    for (const n of nodes) await n.subscribe(channel, (message) => ctx.rec.hit(stampOf(message)));
    return await ctx.measure({
      fanout: subscribers,
      complete: 'delivery',
      send: (stamp, i) => publisher.broadcast(channel, makePayload(size, stamp, i)),
    });
  } finally {
    await Promise.all([publisher, ...nodes].map((n) => n.close({ force: true }).catch(() => undefined)));
  }
}

/** The gateway on a memory PubSub; every farm client subscribes to the channel with the documented protocol. */
async function oursWebSocket(ctx: RowContext, size: number, clients: number): Promise<PhaseResult> {
  const server = createServer();
  const pubsub = createPubSub({ onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  // The farm's clients subscribe to one public channel: no authorization to measure here.
  const gateway = createWebSocketGateway({ pubsub, server, path: '/pubsub', insecure: true, onError: (event) => ctx.rec.fail(event.error) });
  const farm = acquireFarm((completed) => ctx.rec.setCompleted(completed));
  try {
    const url = `${await listen(server)}/pubsub`;
    await farm.connect({ url, clients, subscribeFrame: JSON.stringify({ type: 'subscribe', id: 1, topic: CHANNEL }), ackMatch: '"subscribed"' });
    return await measureFanout(ctx, farm, {
      fanout: clients,
      send: (stamp, i) => pubsub.broadcast(CHANNEL, makePayload(size, stamp, i)),
    });
  } finally {
    await farm.drop();
    await gateway.close();
    await pubsub.close({ force: true });
    await closeServer(server);
  }
}

export const oursPubSubWsRows = pubsubWsRows('ours', oursWebSocket);
export const oursPubSubMemoryRows = [
  ...pubsubMemoryRows('ours', (ctx, size, subscribers) => oursMemory(ctx, size, subscribers, true), false),
  ...pubsubMemoryRows('ours', (ctx, size, subscribers) => oursMemory(ctx, size, subscribers, false), true),
];
export const oursPubSubRedisRows = pubsubRedisRows('ours', (ctx, size, subscribers) => oursRedis(ctx, size, subscribers));
export const oursPubSubRedisHistoryRows = [pubsubRedisHistoryRow((ctx, size, subscribers) => oursRedis(ctx, size, subscribers, true))];
