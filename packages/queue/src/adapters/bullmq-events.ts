/**
 * Job events across processes for the BullMQ adapter: every worker PUBLISHes its job events on
 * `<prefix>:#job-events` (JSON), and a queue created with `events: 'all'` SUBSCRIBEs to them.
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

export function publishEvent(redis: Redis, prefix: string, event: QueueAdapterEvent): void {
  const wire: WireEvent = event.type === 'failed' ? { ...event, error: { name: event.error.name, message: event.error.message } } : event;
  let text: string;
  try {
    text = JSON.stringify(wire);
  } catch {
    // A result that cannot be JSON (the job itself still completed): send the event without it.
    text = JSON.stringify({ ...wire, result: null });
  }
  redis.publish(eventsChannel(prefix), text).catch(() => undefined);
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
