/**
 * Options of the RabbitMQ bus adapter, apart from the adapter so the bus's types can name them
 * without importing amqplib.
 */
import type { BackoffOptions } from '@events/core';

export type RabbitMqConnectionEvent =
  | { readonly type: 'down'; readonly error?: Error }
  | { readonly type: 'up'; readonly reconnect: boolean };

export interface RabbitMqBusOptions {
  /** AMQP URL. Default: `amqp://guest:guest@127.0.0.1:5672`. Ignored when `urls` is given. */
  url?: string;
  /**
   * Nodes of a RabbitMQ cluster, tried in turn (a failed connect or a lost connection moves to
   * the next). Default: `[url]`.
   */
  urls?: readonly string[];
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
   * Quorum queues only: replicas of each subscription queue and of its dead-letter queue
   * (`x-quorum-initial-group-size`), placed by the broker on that many of the cluster's running
   * nodes when the queue is first declared. Every process declaring a queue must pass the same
   * value (RabbitMQ refuses a declare with other arguments). Default: unset, so the broker's
   * own default: a replica on every cluster node running at declare time (3 on a 3-node
   * cluster, 1 on a single node). A node that joins later gets no replica by itself
   * (`rabbitmq-queues grow`).
   */
  quorumInitialGroupSize?: number;
  /**
   * Publishes accepted by emit and not yet confirmed by the broker, including those held while
   * reconnecting. When full, emit waits for room (or throws BackpressureError with `whenFull:
   * 'throw'`). Default: 1000.
   */
  maxPendingPublishes?: number;
  /**
   * Emits waiting for room in that full buffer; the next one gets BackpressureError at once.
   * Default: 1000.
   */
  maxWaitingPublishes?: number;
  /** Delay between reconnect attempts. Default: exponential from 100 ms up to 5 s, jitter 0.2. */
  reconnect?: BackoffOptions;
  /** Longest wait for one connection attempt (TCP + AMQP handshake). Default: 5000 ms. */
  connectTimeoutMs?: number;
  /** AMQP heartbeat in seconds (how fast a silent dead connection is noticed). Default: 10. */
  heartbeatSeconds?: number;
  /**
   * Connection lost / restored: one `down` per outage (with its cause), one `up` when it ends.
   * Errors also reach the bus's `onError` (kind `transport`). Default: none.
   */
  onConnection?: (event: RabbitMqConnectionEvent) => void;
}
