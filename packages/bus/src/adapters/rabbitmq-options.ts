/**
 * Options of the RabbitMQ bus adapter, apart from the adapter so the bus's types can name them
 * without importing amqplib.
 */
import type { BackoffOptions } from '@events/core';

export type RabbitMqConnectionEvent =
  | { readonly type: 'down'; readonly error?: Error }
  | { readonly type: 'up'; readonly reconnect: boolean };

export interface RabbitMqBusOptions {
  /** AMQP URL. Default: `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
  /** The topic exchange events are published to (routing key = event name). Default: `events`. */
  exchange?: string;
  /** Prefix of queue names: `<prefix>.<group>.<pattern>`. Default: the exchange name. */
  queuePrefix?: string;
  /** Type of the subscription and dead-letter queues. Default: `quorum`. */
  queueType?: 'quorum' | 'classic';
  /**
   * Quorum queues only: deliveries of one message before the broker dead-letters it (a message
   * that kills its consumer every time). Default: 20.
   */
  deliveryLimit?: number;
  /**
   * Publishes accepted by emit and not yet confirmed by the broker, including those held while
   * reconnecting. When full, emit waits or throws BackpressureError (the bus's `whenFull`). Default: 1000.
   */
  maxPendingPublishes?: number;
  /** Delay between reconnect attempts. Default: exponential from 100 ms up to 5 s, jitter 0.2. */
  reconnect?: BackoffOptions;
  /** AMQP heartbeat in seconds (how fast a silent dead connection is noticed). Default: 10. */
  heartbeatSeconds?: number;
  /** Connection lost / restored. Default: none. */
  onConnection?: (event: RabbitMqConnectionEvent) => void;
  /** Transport errors the adapter recovers from by itself (for logs). Default: none. */
  onError?: (error: Error) => void;
}
