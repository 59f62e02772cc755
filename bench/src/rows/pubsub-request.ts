/**
 * Request/reply: a requester sends a request and awaits its one reply, 500 requests in flight;
 * msg/s counts answered requests, latency is send -> answer.
 *
 * - memory: ours is one `createPubSub()` (default mode: a copy per hop) with `reply` and `request`;
 *   raw is eventemitter3 with a JSON round trip per hop and a map of waiters keyed by request id.
 * - Redis: ours is a requesting node and a replying node (`redisPubSub`, two connections each);
 *   raw is ioredis doing the same with one reply inbox subscribed before the run: PUBLISH of
 *   `{ id, replyTo, payload }` as JSON, the replier PUBLISHes `{ id, payload }` to `replyTo`, the
 *   requester resolves the waiter of `id`.
 */
import { EventEmitter } from 'eventemitter3';
import { withTimeout } from '@events/core';
import { createPubSub, type PubSub } from '@events/pubsub';
import { redisPubSub } from '@events/pubsub/redis';
import { makePayload, sizeLabel, type BenchPayload } from '../payload.js';
import { REDIS_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { redisClient } from './pubsub-redis.js';

/** Requests awaiting their reply; ours allows 1000 by default (maxPendingRequests). */
const IN_FLIGHT = 500;
const TIMEOUT_MS = 30_000;

/** Waiters by request id, each rejected at its deadline (raw rows). */
class Waiters {
  private readonly map = new Map<number, { resolve: (v: unknown) => void; timer: NodeJS.Timeout }>();
  private next = 0;

  add(): { id: number; answer: Promise<unknown> } {
    const id = (this.next += 1);
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.map.delete(id);
        reject(new Error(`request ${id} timed out`));
      }, TIMEOUT_MS);
      this.map.set(id, { resolve, timer });
    });
    return { id, answer };
  }

  settle(id: number, value: unknown): void {
    const waiter = this.map.get(id);
    if (!waiter) return;
    this.map.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(value);
  }

  clear(): void {
    for (const w of this.map.values()) clearTimeout(w.timer);
    this.map.clear();
  }
}

interface RawRequest {
  id: number;
  replyTo?: string;
  payload: BenchPayload;
}

async function rawMemory(ctx: RowContext, size: number): Promise<PhaseResult> {
  const emitter = new EventEmitter();
  const waiters = new Waiters();
  emitter.on('request', (text: string) => {
    const request = JSON.parse(text) as RawRequest;
    emitter.emit('reply', JSON.stringify({ id: request.id, payload: request.payload }));
  });
  emitter.on('reply', (text: string) => {
    const reply = JSON.parse(text) as RawRequest;
    waiters.settle(reply.id, reply.payload);
  });
  try {
    return await ctx.measure({
      complete: 'ack',
      send: (stamp, i) => {
        const { id, answer } = waiters.add();
        emitter.emit('request', JSON.stringify({ id, payload: makePayload(size, stamp, i) }));
        return answer;
      },
    });
  } finally {
    waiters.clear();
    emitter.removeAllListeners();
  }
}

async function oursMemory(ctx: RowContext, size: number): Promise<PhaseResult> {
  const pubsub = createPubSub({ onError: (event) => ctx.rec.fail(event.error) });
  const channel = 'rpc:echo';
  try {
    await pubsub.reply(channel, (message) => message);
    return await ctx.measure({
      complete: 'ack',
      send: (stamp, i) => pubsub.request(channel, makePayload(size, stamp, i), { timeoutMs: TIMEOUT_MS }),
    });
  } finally {
    await pubsub.close({ force: true });
  }
}

async function rawRedis(ctx: RowContext, size: number): Promise<PhaseResult> {
  const channel = `${uniqueName('bench')}:rpc`;
  const inbox = `${channel}:inbox`;
  const [requesterPub, requesterSub, replierPub, replierSub] = [redisClient(), redisClient(), redisClient(), redisClient()];
  const all = [requesterPub, requesterSub, replierPub, replierSub];
  const waiters = new Waiters();
  try {
    await withTimeout(Promise.all(all.map((c) => c.connect())), 10_000, 'redis connect');
    replierSub.on('message', (_channel: string, text: string) => {
      const request = JSON.parse(text) as RawRequest;
      replierPub.publish(request.replyTo!, JSON.stringify({ id: request.id, payload: request.payload })).catch((error: unknown) => ctx.rec.fail(error));
    });
    requesterSub.on('message', (_channel: string, text: string) => {
      const reply = JSON.parse(text) as RawRequest;
      waiters.settle(reply.id, reply.payload);
    });
    await Promise.all([replierSub.subscribe(channel), requesterSub.subscribe(inbox)]);
    return await ctx.measure({
      complete: 'ack',
      send: (stamp, i) => {
        const { id, answer } = waiters.add();
        requesterPub.publish(channel, JSON.stringify({ id, replyTo: inbox, payload: makePayload(size, stamp, i) })).catch((error: unknown) => ctx.rec.fail(error));
        return answer;
      },
    });
  } finally {
    waiters.clear();
    for (const c of all) c.disconnect();
  }
}

async function oursRedis(ctx: RowContext, size: number): Promise<PhaseResult> {
  const channel = `${uniqueName('bench')}:rpc`;
  const node = (): PubSub => createPubSub({ adapter: redisPubSub({ url: REDIS_URL }), onError: (event) => ctx.rec.fail(event.error) });
  const requester = node();
  const replier = node();
  try {
    await withTimeout(Promise.all([requester.start(), replier.start()]), 10_000, 'pubsub redis start');
    await replier.reply(channel, (message) => message);
    return await ctx.measure({
      complete: 'ack',
      send: (stamp, i) => requester.request(channel, makePayload(size, stamp, i), { timeoutMs: TIMEOUT_MS }),
    });
  } finally {
    await Promise.all([requester, replier].map((n) => n.close({ force: true }).catch(() => undefined)));
  }
}

function requestRow(transport: 'memory' | 'redis', impl: 'ours' | 'raw', run: (ctx: RowContext, size: number) => Promise<PhaseResult>): RowDef {
  const size = 100;
  const what = impl === 'ours' ? 'request -> reply (one reply inbox per node)' : transport === 'memory' ? 'eventemitter3 + JSON, map of waiters' : 'ioredis, one pre-subscribed inbox, map of waiters';
  return {
    id: `pubsub/${transport}/${impl}/request/${sizeLabel(size)}`,
    tier: 'pubsub',
    transport,
    impl,
    scenario: `request -> reply, ${IN_FLIGHT} in flight; ${what}`,
    payloadBytes: size,
    pair: `pubsub/${transport}/request/${size}`,
    ...(transport === 'redis' ? { broker: 'redis' as const } : {}),
    fanout: 1,
    inflight: IN_FLIGHT,
    latencyIs: 'send->ack',
    run: (ctx) => run(ctx, size),
  };
}

export const pubsubRequestRows: RowDef[] = [
  requestRow('memory', 'raw', rawMemory),
  requestRow('memory', 'ours', oursMemory),
  requestRow('redis', 'raw', rawRedis),
  requestRow('redis', 'ours', oursRedis),
];
