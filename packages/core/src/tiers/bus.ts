/**
 * The event bus adapter seam (owned by @events/bus). An adapter only moves encoded events from
 * `emit` to the consumer queues of each (group, pattern) and back out: typing, validation,
 * retries, partitions, causation and the cycle guard sit above it and are written once.
 */
import type { Headers } from '../envelope.js';
import type { CloseOptions } from '../lifecycle.js';

/** One encoded event on its way to the transport. */
export interface BusMessage {
  /** Envelope id (AMQP message_id). */
  readonly id: string;
  /** Event name (AMQP routing key). */
  readonly name: string;
  readonly data: Buffer;
  /** Serializer MIME type (AMQP content_type). */
  readonly contentType: string;
  readonly headers: Headers;
  readonly correlationId?: string;
}

export interface BusPublishOptions {
  /** What to do when the adapter's buffer is full: wait for room, or throw BackpressureError. */
  readonly whenFull: 'wait' | 'throw';
}

export interface BusDelivery {
  readonly name: string;
  readonly data: Buffer;
  /** How many times the transport delivered this message before (0 on first delivery). */
  readonly redeliveries: number;
  /** Handler succeeded: remove the message. A no-op when the delivery's channel is gone. */
  ack(): Promise<void>;
  /** Retries exhausted or undecodable: move the message to this consumer's dead-letter place. */
  deadLetter(reason: string): Promise<void>;
}

export interface BusConsumerSpec {
  /** Event name or pattern (`users.*`, `#`). */
  readonly pattern: string;
  /** Consumer group: each group receives every event once; consumers of one group share it. */
  readonly group: string;
  /** Deliveries in flight at once for this consumer (RabbitMQ prefetch). */
  readonly concurrency: number;
  /** Events buffered for this (group, pattern) before `publish` pushes back (memory only). */
  readonly buffer?: number;
  /**
   * An observer's subscription (dashboards, debugging): it shares with no one, lives only as long
   * as this consumer, keeps nothing while it is away and dead-letters nothing. Default: false.
   */
  readonly transient?: boolean;
}

export interface BusConsumer {
  /**
   * Stops taking deliveries. With `drain` (the default), finishes what this consumer is the last
   * holder of first (memory: its queue's buffered events); resolves when no delivery will start.
   */
  cancel(options?: { drain?: boolean }): Promise<void>;
}

export interface BusConsumerStats {
  readonly pattern: string;
  readonly group: string;
  /** Events waiting in the adapter's buffer for this (group, pattern) (0 on RabbitMQ: the broker holds them). */
  readonly buffered: number;
  /** Deliveries handed to the handler and not yet settled. */
  readonly inFlight: number;
}

export interface BusAdapterStats {
  readonly connected: boolean;
  /** Publishes accepted but not yet buffered / confirmed (including those held during a reconnect). */
  readonly pendingPublishes: number;
  readonly consumers: readonly BusConsumerStats[];
}

export interface BusAdapter {
  readonly kind: string;
  /** Resolves when the transport has accepted the event (memory: buffered; RabbitMQ: confirmed). */
  publish(message: BusMessage, options: BusPublishOptions): Promise<void>;
  /** Resolves once the consumer is registered, so an event emitted afterwards reaches it. */
  consume(spec: BusConsumerSpec, handler: (delivery: BusDelivery) => Promise<void>): Promise<BusConsumer>;
  stats(): BusAdapterStats;
  /**
   * Releases the transport. Unless `force`, waits (within `timeoutMs`) for accepted publishes to be
   * confirmed; anything still waiting for buffer room is rejected with ClosedError.
   */
  close(options?: CloseOptions): Promise<void>;
}
