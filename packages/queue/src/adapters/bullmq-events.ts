/**
 * Job events across processes for the BullMQ adapter: workers PUBLISH their job events on
 * `<prefix>:#job-events` (JSON) while a queue created with `events: 'all'` SUBSCRIBEs to them.
 * Redis pub/sub is at-most-once: a subscriber that is disconnected misses events. The job state in
 * Redis, not this feed, is the record.
 *
 * On a Redis Cluster the feed is classic PUBLISH, which the cluster carries to every node: the
 * channel has no key, so there is no slot to agree on, and an observer may be connected to any
 * node. The cluster's PUBLISH reply and `PUBSUB NUMSUB` count only the node asked, so there the
 * observer count is the sum of `NUMSUB` over every node, asked at most every RECHECK_MS.
 */
import type { QueueAdapterEvent } from '@events/core';
import type { Cluster } from 'ioredis';
import type { RedisClient } from './bullmq-connection.js';

type WireEvent =
  | Exclude<QueueAdapterEvent, { type: 'failed' }>
  | { type: 'failed'; id: string; name: string; attempt: number; final: boolean; error: { name: string; message: string } };

export function eventsChannel(prefix: string): string {
  return `${prefix}:#job-events`;
}

/** How long a worker that saw no observer waits before it asks Redis again (`PUBSUB NUMSUB`). */
export const RECHECK_MS = 1000;

function encode(event: QueueAdapterEvent): string {
  const wire: WireEvent = event.type === 'failed' ? { ...event, error: { name: event.error.name, message: event.error.message } } : event;
  try {
    return JSON.stringify(wire);
  } catch {
    // A result that cannot be JSON (the job itself still completed): send the event without it.
    return JSON.stringify({ ...wire, result: null });
  }
}

export interface EventPublisher {
  /** Publishes the event if an observer may be listening; otherwise drops it (at-most-once). */
  publish(event: QueueAdapterEvent): void;
  /** Asks Redis how many observers listen (`PUBSUB NUMSUB`). Never rejects. */
  refresh(): Promise<void>;
  /** An observer on this connection's Redis has just subscribed: publish again. */
  listenerJoined(): void;
}

/**
 * A PUBLISH per job event costs one Redis command per job, paid mostly for nobody: the feed is for
 * `events: 'all'` observers. So a worker publishes while observers listen (PUBLISH replies with
 * their count) and, once a reply says none, stops and asks `PUBSUB NUMSUB` at most every
 * RECHECK_MS. An observer that subscribes while workers are quiet may miss up to RECHECK_MS of
 * events: the feed is at-most-once already, and the job state in Redis stays the record.
 */
export function createEventPublisher(redis: RedisClient, prefix: string): EventPublisher {
  const channel = eventsChannel(prefix);
  const cluster = (redis as Cluster).isCluster === true;
  // -1: unknown, publish (and learn the count from the reply).
  let listeners = -1;
  let checkedAt = 0;
  let checking: Promise<void> | undefined;

  const numsub = async (node: RedisClient): Promise<number> => Number(((await node.pubsub('NUMSUB', channel)) as unknown[])[1] ?? 0);
  const count = async (): Promise<number> => {
    if (!cluster) return numsub(redis);
    const counts = await Promise.all((redis as Cluster).nodes('all').map((node) => numsub(node).catch(() => 0)));
    return counts.reduce((a, b) => a + b, 0);
  };

  const refresh = (): Promise<void> => {
    checking ??= count()
      .then((n) => {
        listeners = n;
      })
      .catch(() => {
        listeners = -1;
      })
      .finally(() => {
        checkedAt = Date.now();
        checking = undefined;
      });
    return checking;
  };

  return {
    publish(event) {
      const stale = Date.now() - checkedAt >= RECHECK_MS;
      if (listeners === 0) {
        if (stale) void refresh();
        return;
      }
      if (cluster) {
        // The reply counts one node's subscribers only: learn the count from every node instead.
        if (stale) void refresh();
        redis.publish(channel, encode(event)).catch(() => undefined);
        return;
      }
      redis.publish(channel, encode(event)).then(
        (n) => {
          if (n === 0) checkedAt = Date.now();
          listeners = n;
        },
        () => undefined,
      );
    },
    refresh,
    listenerJoined() {
      listeners = -1;
    },
  };
}

function toEvent(text: string): QueueAdapterEvent | undefined {
  let wire: WireEvent;
  try {
    wire = JSON.parse(text) as WireEvent;
  } catch {
    return undefined;
  }
  if (wire.type !== 'failed') return wire;
  const error = new Error(wire.error.message);
  error.name = wire.error.name;
  return { ...wire, error };
}

/** Subscribes `subscriber` (a connection of its own) to the events of every worker on `prefix`. */
export async function watchEvents(subscriber: RedisClient, prefix: string, onEvent: (event: QueueAdapterEvent) => void): Promise<() => Promise<void>> {
  const channel = eventsChannel(prefix);
  const listener = (from: string, text: string): void => {
    if (from !== channel) return;
    const event = toEvent(text);
    if (event) onEvent(event);
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', listener);
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
