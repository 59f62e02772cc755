/**
 * Job events across processes for the BullMQ adapter: workers PUBLISH their job events on
 * `<prefix>:#job-events` (JSON) while a queue created with `events: 'all'` SUBSCRIBEs to them.
 * Redis pub/sub is at-most-once: a subscriber that is disconnected misses events. The job state in
 * Redis, not this feed, is the record.
 */
import type { QueueAdapterEvent } from '@events/core';
import type { Redis } from 'ioredis';

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
export function createEventPublisher(redis: Redis, prefix: string): EventPublisher {
  const channel = eventsChannel(prefix);
  // -1: unknown, publish (and learn the count from the reply).
  let listeners = -1;
  let checkedAt = 0;
  let checking: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    checking ??= redis
      .pubsub('NUMSUB', channel)
      .then((reply) => {
        listeners = Number((reply as unknown[])[1] ?? 0);
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
      if (listeners === 0) {
        if (Date.now() - checkedAt >= RECHECK_MS) void refresh();
        return;
      }
      redis.publish(channel, encode(event)).then(
        (count) => {
          if (count === 0) checkedAt = Date.now();
          listeners = count;
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
export async function watchEvents(subscriber: Redis, prefix: string, onEvent: (event: QueueAdapterEvent) => void): Promise<() => Promise<void>> {
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
