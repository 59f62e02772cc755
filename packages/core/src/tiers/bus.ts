/**
 * The event bus adapter seam (owned by @events/bus). An adapter only moves encoded events from
 * `emit` to the consumer queues of each (group, pattern) and back out: typing, validation,
 * retries, partitions, causation and the cycle guard sit above it and are written once.
 */
import type { ErrorEvent } from '../contract.js';
import type { Envelope, Headers } from '../envelope.js';
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
  /**
   * The sender's envelope itself, set only for an adapter with `zeroCopy` (then `data` is empty):
   * handlers receive this object, not a copy.
   */
  readonly envelope?: Envelope;
}

export interface BusPublishOptions {
  /** What to do when the adapter's buffer is full: wait for room, or throw BackpressureError. */
  readonly whenFull: 'wait' | 'throw';
  /**
   * Deadline of the whole publish (room + acceptance). Past it the publish rejects with
   * TimeoutError; an event not yet written is dropped, one written but unconfirmed may still arrive.
   */
  readonly timeoutMs: number;
  /** Ends the publish early with the signal's reason (same rule as `timeoutMs`). */
  readonly signal?: AbortSignal;
}

export interface BusDelivery {
  /** The transport's name for the message (AMQP routing key): what routed it here. */
  readonly name: string;
  /** The transport's message id (AMQP message_id), used to wrap a foreign bare payload. */
  readonly messageId?: string;
  readonly data: Buffer;
  /** How many times the transport delivered this message before (0 on first delivery). */
  readonly redeliveries: number;
  /** The sender's envelope, on a `zeroCopy` adapter (see BusMessage.envelope): used as is, never decoded. */
  readonly envelope?: Envelope;
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
   * holder of first (memory: its queue's buffered events) and lets deliveries in flight settle;
   * resolves when no delivery will start. A later call with `drain: false` cuts a drain short
   * (RabbitMQ: unacked deliveries go back to the queue).
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
  /** RabbitMQ: the consumer's prefetch, the broker's bound on `inFlight`. Absent on memory. */
  readonly prefetch?: number;
}

export interface BusAdapterStats {
  readonly connected: boolean;
  /** Publishes accepted but not yet buffered / confirmed (including those held during a reconnect). */
  readonly pendingPublishes: number;
  /** Publishes waiting for room in a full buffer (bounded by the adapter's `maxWaitingPublishes`). */
  readonly waitingPublishes: number;
  readonly consumers: readonly BusConsumerStats[];
}

/** What the bus hands its adapter at start: where to report what has no caller to reject. */
export interface BusAdapterHooks {
  /** Kinds: `transport` (connection lost, reconnect failed, ack/dead-letter write failed), `close`. */
  report(kind: string, error: unknown, facts?: Omit<ErrorEvent, 'tier' | 'kind' | 'error'>): void;
}

/**
 * A bus transport, as a value (`memoryBus()`, `rabbitmqBus({ url })`). The bus runs its lifecycle:
 * `start` once before any publish or consume (again after a failed start, which must release
 * whatever it opened), `close` once at the end.
 */
export interface BusAdapter {
  readonly kind: string;
  /**
   * The adapter never leaves the process and hands the sender's envelope object to handlers: the
   * bus then skips serialization (`memoryBus({ zeroCopy: true })`). Default: false (bytes).
   */
  readonly zeroCopy?: boolean;
  /** Connects. Rejects when the transport cannot be reached, having released what it opened. */
  start(hooks: BusAdapterHooks): Promise<void>;
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
