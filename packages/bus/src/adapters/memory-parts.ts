/** Small pieces of the memory adapter, kept apart so the pipeline file stays readable. */
import type { BusDelivery, BusMessage, Envelope } from '@events/core';

/** Where a delivery's dead letter goes: its (group, pattern) buffer. */
export interface DeadLetterSink {
  deadLetter(delivery: BusDelivery, reason: string): void;
}

const done = Promise.resolve();

/** One event handed to one stage. Methods on a class: no closures built per event. */
export class MemoryDelivery implements BusDelivery {
  readonly redeliveries = 0;
  readonly name: string;
  readonly messageId: string;
  readonly data: Buffer;
  readonly envelope?: Envelope;

  constructor(
    private readonly queue: DeadLetterSink,
    message: BusMessage,
  ) {
    this.name = message.name;
    this.messageId = message.id;
    this.data = message.data;
    if (message.envelope !== undefined) this.envelope = message.envelope;
  }

  ack(): Promise<void> {
    return done;
  }

  deadLetter(reason: string): Promise<void> {
    this.queue.deadLetter(this, reason);
    return done;
  }
}

/** The (group, pattern) buffers by key; any change drops the routes cached from it. */
export class RoutingTable<V> extends Map<string, V> {
  constructor(private readonly changed: () => void) {
    super();
  }

  override set(key: string, value: V): this {
    this.changed();
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.changed();
    return super.delete(key);
  }

  override clear(): void {
    this.changed();
    super.clear();
  }
}


/**
 * Freezes a zero-copy envelope and everything reachable from its payload, so a handler that
 * mutates the sender's object fails loudly in development instead of corrupting other handlers'
 * view. Typed arrays and Buffers cannot be frozen and are left as they are; cycles are fine.
 */
export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return Object.freeze(value);
}

/** A dead letter's bytes: the delivery's own, or for a zero-copy one its envelope as JSON when it has one. */
export function deadLetterData(delivery: BusDelivery): Buffer {
  if (delivery.envelope === undefined || delivery.data.length > 0) return delivery.data;
  try {
    return Buffer.from(JSON.stringify(delivery.envelope) ?? '', 'utf8');
  } catch {
    return Buffer.from(JSON.stringify({ id: delivery.envelope.id, name: delivery.envelope.name, payload: '[not JSON]' }), 'utf8');
  }
}
