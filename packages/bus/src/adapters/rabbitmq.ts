/**
 * The RabbitMQ bus adapter (amqplib, promise API). At-least-once:
 *
 * - publish: persistent messages on a confirm channel; emit resolves on the broker's confirm
 *   (see rabbitmq-publisher.ts for the buffer held during a reconnect and its overflow policy);
 * - consume: one channel per subscription, prefetch = its concurrency, manual ack after the
 *   handler succeeded; dead letters are published to `<exchange>.dlx` (with the reason) and the
 *   original is acked once the dead letter is confirmed;
 * - reconnect: when the connection or any of its channels dies, the adapter reconnects with
 *   backoff, re-declares the topology, resumes every consumer, then writes the held publishes.
 *   Deliveries from a dead channel are never acked on a new one: their ack is dropped and the
 *   broker redelivers them (handlers must tolerate duplicates).
 *
 * Not promised: order across a reconnect (redelivered messages come back out of order), nor
 * order per partition key across several consumer processes of one group.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { backoffDelay, ClosedError, DEFAULT_CLOSE_TIMEOUT_MS, drainWithin, type CloseOptions, sleep, type BusAdapter, type BusAdapterStats, type BusConsumer, type BusConsumerSpec, type BusDelivery, type BusMessage, type BusPublishOptions } from '@events/core';
import type { RabbitMqBusOptions, RabbitMqConnectionEvent } from './rabbitmq-options.js';
import { RabbitDelivery, type DeliverySettler } from './rabbitmq-delivery.js';
import { Publisher } from './rabbitmq-publisher.js';
import { createTopology, deadLetterQueueName, declareExchanges, declareSubscription, declareTransientSubscription, queueName, transientQueueName, withHeartbeat, type Topology } from './rabbitmq-topology.js';

export type { RabbitMqBusOptions, RabbitMqConnectionEvent } from './rabbitmq-options.js';
export { deadLetterQueueName, queueName, type Topology } from './rabbitmq-topology.js';
export { deleteRabbitMqBusTopology, type DeleteRabbitMqBusTopologyOptions } from './rabbitmq-cleanup.js';

interface ConsumerState {
  readonly spec: BusConsumerSpec;
  readonly queue: string;
  readonly handler: (delivery: BusDelivery) => Promise<void>;
  /** Connection generation this consumer was last started on. */
  gen: number;
  channel: Channel | undefined;
  tag: string | undefined;
  cancelled: boolean;
  inFlight: number;
  ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  /** Shared by every delivery of this consumer: no closures per message. */
  readonly settled: () => void;
  readonly failed: (error: unknown) => void;
}


export interface RabbitMqBusAdapter extends BusAdapter {
  readonly topology: Topology;
  /** Every queue this adapter declared (subscription, dead-letter and transient queues), e.g. to delete them in tests. */
  declaredQueues(): string[];
}

class RabbitMqAdapter implements RabbitMqBusAdapter, DeliverySettler<ConsumerState> {
  readonly kind = 'rabbitmq';
  readonly topology: Topology;
  private readonly url: string;
  private readonly publisher: Publisher;
  private readonly consumers = new Set<ConsumerState>();
  private readonly queues = new Set<string>();
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly consumerChannels = new Set<Channel>();
  private readonly abort = new AbortController();
  private conn: ChannelModel | undefined;
  private pubChannel: ConfirmChannel | undefined;
  private gen = 0;
  private connected = false;
  private running = false;
  private closed = false;
  private reconnecting: Promise<void> | undefined;

  constructor(private readonly options: RabbitMqBusOptions) {
    this.topology = createTopology(options);
    this.url = withHeartbeat(options.url ?? 'amqp://guest:guest@127.0.0.1:5672', options.heartbeatSeconds ?? 10);
    this.publisher = new Publisher(this.topology.exchange, options.maxPendingPublishes ?? 1000);
  }

  async start(): Promise<void> {
    await this.connectOnce();
    this.running = true;
    this.emit({ type: 'up', reconnect: false });
  }

  declaredQueues(): string[] {
    return [...this.queues];
  }

  publish(message: BusMessage, options: BusPublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('rabbitmq bus adapter'));
    return this.publisher.publish(message, options);
  }

  async consume(spec: BusConsumerSpec, handler: (delivery: BusDelivery) => Promise<void>): Promise<BusConsumer> {
    if (this.closed) throw new ClosedError('rabbitmq bus adapter');
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined);
    const queue = spec.transient ? transientQueueName(this.topology, spec.group, spec.pattern) : queueName(this.topology, spec.group, spec.pattern);
    const settled = (): void => void (c.inFlight -= 1);
    const failed = (error: unknown): void => (settled(), this.report(error));
    const c: ConsumerState = { spec, queue, handler, gen: 0, channel: undefined, tag: undefined, cancelled: false, inFlight: 0, ready: { promise, resolve, reject }, settled, failed };
    this.consumers.add(c);
    if (this.connected && this.conn) {
      const gen = this.gen;
      try {
        await this.startConsumer(c, this.conn, gen);
      } catch (error) {
        // Refused by a live broker (e.g. a queue declared with other arguments): the caller must know.
        if (this.connected && gen === this.gen) {
          this.consumers.delete(c);
          throw error;
        }
        // The connection died meanwhile: the reconnect starts this consumer with the others.
      }
    }
    await c.ready.promise;
    return { cancel: () => this.cancelConsumer(c) };
  }

  stats(): BusAdapterStats {
    return {
      connected: this.connected,
      pendingPublishes: this.publisher.pending,
      consumers: [...this.consumers].map((c) => ({ pattern: c.spec.pattern, group: c.spec.group, buffered: 0, inFlight: c.inFlight })),
    };
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    // Events accepted by emit get their confirm before the connection goes.
    if (this.connected && !options.force) await drainWithin(this.publisher.settled(), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    this.publisher.failAll(new ClosedError('rabbitmq bus adapter'));
    for (const c of this.consumers) c.ready.reject(new ClosedError('rabbitmq bus adapter'));
    this.gen += 1;
    this.connected = false;
    const conn = this.conn;
    this.conn = undefined;
    // amqplib writes each channel's frames through its own buffer: closing a channel first is
    // what guarantees its last acks reach the broker before the connection goes.
    await Promise.all([...this.consumerChannels].map((ch) => ch.close().catch(() => undefined)));
    await conn?.close().catch(() => undefined);
  }

  private emit(event: RabbitMqConnectionEvent): void {
    this.options.onConnection?.(event);
  }

  private report(error: unknown): void {
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  private async connectOnce(): Promise<void> {
    const gen = (this.gen += 1);
    const conn = await amqp.connect(this.url, { timeout: 5000, clientProperties: { connection_name: `@events/bus ${this.topology.exchange}` } });
    conn.on('error', (e: Error) => this.report(e));
    conn.on('close', (e?: Error) => this.lost(gen, e ?? new Error('connection closed')));
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', (e: Error) => this.report(e));
      ch.on('close', () => this.lost(gen, new Error('publish channel closed')));
      await declareExchanges(ch, this.topology);
      // Resume every consumer before accepting traffic, including ones registered meanwhile.
      for (;;) {
        const todo = [...this.consumers].filter((c) => !c.cancelled && c.gen !== gen);
        if (todo.length === 0) break;
        for (const c of todo) await this.startConsumer(c, conn, gen);
      }
      if (gen !== this.gen || this.closed) throw new Error('connection lost while starting');
      this.conn = conn;
      this.pubChannel = ch;
      this.connected = true;
      this.publisher.attach(ch);
    } catch (error) {
      await conn.close().catch(() => undefined);
      throw error;
    }
  }

  private async startConsumer(c: ConsumerState, conn: ChannelModel, gen: number): Promise<void> {
    c.gen = gen;
    const ch = await conn.createChannel();
    this.consumerChannels.add(ch);
    ch.on('error', (e: Error) => this.report(e));
    ch.on('close', () => {
      this.closedChannels.add(ch);
      this.consumerChannels.delete(ch);
      if (c.channel === ch && !c.cancelled) this.lost(gen, new Error(`consumer channel of ${c.queue} closed`));
    });
    await ch.prefetch(c.spec.concurrency);
    if (c.spec.transient) {
      this.queues.add(c.queue);
      await declareTransientSubscription(ch, this.topology, { queue: c.queue, pattern: c.spec.pattern });
    } else {
      this.queues.add(c.queue).add(deadLetterQueueName(c.queue));
      await declareSubscription(ch, this.topology, { queue: c.queue, pattern: c.spec.pattern });
    }
    c.channel = ch;
    const { consumerTag } = await ch.consume(c.queue, (msg) => this.onMessage(c, ch, msg), { noAck: false });
    c.tag = consumerTag;
    if (gen !== this.gen) throw new Error('connection lost while starting a consumer');
    c.ready.resolve();
  }

  private onMessage(c: ConsumerState, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (the queue was deleted): recover as from a lost connection, which
      // re-declares the queue and resumes the consumer.
      if (!c.cancelled && c.channel === ch) this.lost(c.gen, new Error(`the broker cancelled the consumer of ${c.queue} (queue deleted?)`));
      return;
    }
    c.inFlight += 1;
    let handled: Promise<void>;
    try {
      handled = c.handler(new RabbitDelivery(this, { c, ch, msg }));
    } catch (error) {
      handled = Promise.reject(error);
    }
    handled.then(c.settled, c.failed);
  }

  /** Acks on the channel that delivered the message, and only while it lives. */
  ack(ch: Channel, msg: ConsumeMessage): void {
    // A delivery tag means nothing on another channel. A dropped ack means a redelivery, never a wrong ack.
    if (!this.closedChannels.has(ch)) ch.ack(msg);
  }

  async deadLetter(source: { c: ConsumerState; ch: Channel; msg: ConsumeMessage }, reason: string): Promise<void> {
    const { c, ch, msg } = source;
    if (c.spec.transient) {
      // An observer keeps no dead letters (onError has been told): settle it and move on.
      if (!this.closedChannels.has(ch)) ch.ack(msg);
      return;
    }
    const pub = this.pubChannel;
    if (this.closedChannels.has(ch) || !pub || !this.connected) return; // redelivered later
    const p = msg.properties;
    await new Promise<void>((resolve, reject) => {
      pub.publish(
        this.topology.deadLetterExchange,
        c.queue,
        msg.content,
        {
          persistent: true,
          contentType: p.contentType,
          messageId: p.messageId,
          type: p.type,
          timestamp: p.timestamp,
          correlationId: p.correlationId,
          headers: {
            ...p.headers,
            'x-dead-letter-reason': reason,
            'x-dead-letter-queue': c.queue,
            'x-original-exchange': msg.fields.exchange,
            'x-original-routing-key': msg.fields.routingKey,
          },
        },
        (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
    if (!this.closedChannels.has(ch)) ch.ack(msg);
  }

  private async cancelConsumer(c: ConsumerState): Promise<void> {
    if (c.cancelled) return;
    c.cancelled = true;
    this.consumers.delete(c);
    const ch = c.channel;
    if (!ch || !c.tag || this.closedChannels.has(ch)) return;
    await ch.cancel(c.tag).catch(() => undefined);
    // In-flight deliveries still ack on this channel; release it once they are done.
    void (async () => {
      while (c.inFlight > 0 && !this.closedChannels.has(ch)) await sleep(20);
      if (!this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
    })();
  }

  private lost(gen: number, error: Error): void {
    if (gen !== this.gen || this.closed || !this.running) return;
    this.gen += 1;
    this.connected = false;
    this.publisher.detach();
    this.pubChannel = undefined;
    for (const c of this.consumers) c.channel = undefined;
    const old = this.conn;
    this.conn = undefined;
    void old?.close().catch(() => undefined);
    this.emit({ type: 'down', error });
    this.reconnecting ??= this.reconnectLoop().finally(() => (this.reconnecting = undefined));
  }

  private async reconnectLoop(): Promise<void> {
    const backoff = { type: 'exponential' as const, delayMs: 100, maxDelayMs: 5000, jitter: 0.2, ...this.options.reconnect };
    for (let attempt = 1; !this.closed; attempt += 1) {
      await sleep(backoffDelay(backoff, attempt), this.abort.signal);
      if (this.closed) return;
      try {
        await this.connectOnce();
        this.emit({ type: 'up', reconnect: true });
        return;
      } catch (error) {
        this.report(error);
      }
    }
  }
}

/** Connects to RabbitMQ and declares the exchanges; rejects when the broker cannot be reached. */
export async function createRabbitMqBusAdapter(options: RabbitMqBusOptions = {}): Promise<RabbitMqBusAdapter> {
  const adapter = new RabbitMqAdapter(options);
  await adapter.start();
  return adapter;
}
