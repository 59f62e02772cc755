/**
 * The event bus adapter seam (owned by @events/bus). An adapter moves encoded events from `emit`
 * to the consumers of each group; retries, typing, partitions and the cycle guard sit above it.
 */

export interface BusDelivery {
  readonly name: string;
  readonly data: Buffer;
  /** How many times the transport has delivered this message before (0 on first delivery). */
  readonly redeliveries: number;
  /** Handler succeeded: remove the message. */
  ack(): Promise<void>;
  /** Retries exhausted or undecodable: move the message to the dead-letter place. */
  deadLetter(reason: string): Promise<void>;
}

export interface BusConsumerSpec {
  /** Event name or pattern (`users.*`, `#`). */
  readonly pattern: string;
  /** Consumer group: each group receives every event once. */
  readonly group: string;
  /** Deliveries in flight at once for this consumer (prefetch). */
  readonly concurrency: number;
}

export interface BusConsumer {
  /** Stops receiving new deliveries; in-flight ones can still be acked. */
  cancel(): Promise<void>;
}

export interface BusAdapter {
  readonly kind: string;
  /** Resolves when the transport has accepted the event (memory: buffered; RabbitMQ: confirmed). */
  publish(name: string, data: Buffer, headers: Record<string, string>): Promise<void>;
  consume(spec: BusConsumerSpec, handler: (delivery: BusDelivery) => Promise<void>): Promise<BusConsumer>;
  close(): Promise<void>;
}
