/** Small pieces of the memory adapter, kept apart so the pipeline file stays readable. */
import type { BusDelivery, BusMessage } from '@events/core';

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

  constructor(
    private readonly queue: DeadLetterSink,
    message: BusMessage,
  ) {
    this.name = message.name;
    this.messageId = message.id;
    this.data = message.data;
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

