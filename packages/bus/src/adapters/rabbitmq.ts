/**
 * The RabbitMQ bus adapter (amqplib, promise API), made by `rabbitmqBus({ url })`. At-least-once:
 *
 * - publish: persistent messages on a confirm channel; emit resolves on the broker's confirm
 *   (see rabbitmq-publisher.ts for the bounded buffer held during a reconnect and the deadlines);
 * - consume: one channel per subscription, prefetch = its concurrency, manual ack after the
 *   handler succeeded; dead letters are published to `<exchange>.dlx` (with the reason) and the
 *   original is acked once the dead letter is confirmed (if that publish fails, the message is
 *   rejected so the broker dead-letters it itself);
 * - reconnect: when the connection or any of its channels dies, the adapter reconnects with
 *   backoff (to the next of `urls`), re-declares the topology, resumes every consumer, then writes
 *   the held publishes. One `down` per outage, with its real cause. Deliveries from a dead channel
 *   are never acked on a new one: their ack is dropped and the broker redelivers them.
 *
 * Not promised: order across a reconnect (redelivered messages come back out of order), nor
 * order per partition key across several consumer processes of one group.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { backoffDelay, ClosedError, DEFAULT_CLOSE_TIMEOUT_MS, drainWithin, InvalidOptionError, redactUrl, sleep, toError, type BusAdapter, type BusAdapterHooks, type BusAdapterStats, type BusConsumer, type BusConsumerSpec, type BusDelivery, type BusMessage, type BusPublishOptions, type CloseOptions } from '@events/core';
import type { RabbitMqBusOptions, RabbitMqConnectionEvent } from './rabbitmq-options.js';
import { RabbitDelivery, type DeliverySettler } from './rabbitmq-delivery.js';
import { FrameCork } from './rabbitmq-cork.js';
import { Publisher } from './rabbitmq-publisher.js';
import { createTopology, deadLetterQueueName, declareExchanges, declareSubscription, declareTransientSubscription, queueName, transientQueueName, withHeartbeat, type Topology } from './rabbitmq-topology.js';
import { connectionLost, publishDeadLetter } from './rabbitmq-causes.js';
import { createConsumerState, stopConsumer, type ConsumerState } from './rabbitmq-consumer.js';

export type { RabbitMqBusOptions, RabbitMqConnectionEvent } from './rabbitmq-options.js';
export { deadLetterQueueName, queueName, type Topology } from './rabbitmq-topology.js';
export { deleteRabbitMqBusTopology, type DeleteRabbitMqBusTopologyOptions } from './rabbitmq-cleanup.js';

export interface RabbitMqBusAdapter extends BusAdapter {
  readonly topology: Topology;
  /** Every queue this adapter declared (subscription, dead-letter and transient queues), e.g. to delete them in tests. */
  declaredQueues(): string[];
}

const noHooks: BusAdapterHooks = { report: () => undefined };

class RabbitMqAdapter implements RabbitMqBusAdapter, DeliverySettler<ConsumerState> {
  readonly kind = 'rabbitmq';
  readonly topology: Topology;
  private readonly urls: string[];
  /** The same URLs as given, password hidden, for messages. */
  private readonly shown: string[];
  private urlIndex = 0;
  private readonly publisher: Publisher;
  /** Publishes and acks of one turn leave in one socket write (rabbitmq-cork.ts). */
  private readonly cork = new FrameCork();
  private readonly consumers = new Set<ConsumerState>();
  private readonly queues = new Set<string>();
  private readonly closedChannels = new WeakSet<Channel>();
  /** Publish channels replaced on purpose: their close is not an outage. */
  private readonly retiredChannels = new WeakSet<Channel>();
  private replacing = false;
  private readonly consumerChannels = new Set<Channel>();
  private readonly abort = new AbortController();
  private hooks: BusAdapterHooks = noHooks;
  private conn: ChannelModel | undefined;
  private pubChannel: ConfirmChannel | undefined;
  private gen = 0;
  private connected = false;
  private running = false;
  private closed = false;
  private reconnecting: Promise<void> | undefined;

  constructor(private readonly options: RabbitMqBusOptions) {
    this.topology = createTopology(options);
    const urls = options.urls ?? [options.url ?? 'amqp://guest:guest@127.0.0.1:5672'];
    if (urls.length === 0) throw new InvalidOptionError('urls', 'must name at least one AMQP URL');
    this.urls = urls.map((u) => withHeartbeat(u, options.heartbeatSeconds ?? 10));
    this.shown = urls.map((u) => redactUrl(u));
    this.publisher = new Publisher({
      exchange: this.topology.exchange,
      max: options.maxPendingPublishes ?? 1000,
      maxWaiting: options.maxWaitingPublishes ?? 1000,
      broker: `RabbitMQ ${this.shown.join(', ')}`,
      onNackStreak: (ch) => void this.replacePublishChannel(ch),
      wrote: (ch) => this.cork.hold(ch),
    });
  }

  /** Where the adapter connects (or last connected), password hidden. */
  private get broker(): string {
    return `RabbitMQ ${this.shown[this.urlIndex]!}`;
  }

  async start(hooks: BusAdapterHooks): Promise<void> {
    if (this.closed) throw new ClosedError('rabbitmq bus adapter');
    this.hooks = hooks;
    // A cluster: try each node once before giving up (connectOnce moves to the next on failure).
    const failures: string[] = [];
    for (let tried = 0; ; tried += 1) {
      try {
        await this.connectOnce();
        break;
      } catch (error) {
        failures.push(toError(error).message);
        if (tried + 1 >= this.urls.length || this.closed) throw new Error(failures.join('; '), { cause: error });
      }
    }
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
    const queue = spec.transient ? transientQueueName(this.topology, spec.group, spec.pattern) : queueName(this.topology, spec.group, spec.pattern);
    const c = createConsumerState({ spec, queue, handler, report: (error) => this.hooks.report('transport', error, { detail: { group: spec.group, pattern: spec.pattern } }) });
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
    return { cancel: (options) => this.cancelConsumer(c, options?.drain ?? true) };
  }

  stats(): BusAdapterStats {
    return {
      connected: this.connected,
      pendingPublishes: this.publisher.pending,
      waitingPublishes: this.publisher.waitingCount,
      consumers: [...this.consumers].map((c) => ({ pattern: c.spec.pattern, group: c.spec.group, buffered: 0, inFlight: c.inFlight.size, prefetch: c.spec.concurrency })),
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
    try {
      this.options.onConnection?.(event);
    } catch (error) {
      this.hooks.report('listener', error, { detail: { broker: this.broker } });
    }
  }

  private async connectOnce(): Promise<void> {
    const gen = (this.gen += 1);
    const url = this.urls[this.urlIndex]!;
    const shown = this.shown[this.urlIndex]!;
    let conn: ChannelModel;
    try {
      conn = await amqp.connect(url, { timeout: this.options.connectTimeoutMs ?? 5000, clientProperties: { connection_name: `@events/bus ${this.topology.exchange}` } });
    } catch (error) {
      this.urlIndex = (this.urlIndex + 1) % this.urls.length; // a cluster: try the next node next time
      throw new Error(`cannot connect to RabbitMQ ${shown}: ${toError(error).message}`, { cause: error });
    }
    // Errors reach us again as the connection's close (with the same cause): reported once, there.
    conn.on('error', () => undefined);
    conn.on('close', (e?: Error) => this.lost(gen, connectionLost(this.broker, e)));
    try {
      const ch = await this.openPublishChannel(conn, gen);
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
      this.gen += 1; // this attempt's connection is abandoned: its close is no outage of ours
      await conn.close().catch(() => undefined);
      throw error;
    }
  }

  private async openPublishChannel(conn: ChannelModel, gen: number): Promise<ConfirmChannel> {
    const ch = await conn.createConfirmChannel();
    let chError: Error | undefined;
    ch.on('error', (e: Error) => (chError = e));
    // A connection that dies closes its channels first, then itself in the same tick: wait a
    // turn so the connection's own cause is the one reported. A channel we retired is no outage.
    ch.on('close', () => {
      if (!this.retiredChannels.has(ch)) setImmediate(() => this.lost(gen, new Error(`the publish channel to ${this.broker} was closed${chError ? `: ${chError.message}` : ''}`, { cause: chError })));
    });
    return ch;
  }

  /**
   * The publish channel nacks every publish (RabbitMQ 3.10 keeps nacking on a channel whose first
   * publish to a quorum queue met no leader): move the publisher to a new channel on the same
   * connection and close the old one. Unconfirmed events are written again on the new channel.
   */
  private async replacePublishChannel(old: ConfirmChannel): Promise<void> {
    const conn = this.conn;
    const gen = this.gen;
    if (!conn || !this.connected || this.pubChannel !== old || this.replacing) return;
    this.replacing = true;
    try {
      const ch = await this.openPublishChannel(conn, gen);
      if (gen !== this.gen || this.closed) {
        this.retiredChannels.add(ch);
        await ch.close().catch(() => undefined);
        return;
      }
      this.retiredChannels.add(old);
      this.publisher.detach();
      this.pubChannel = ch;
      this.publisher.attach(ch);
      this.hooks.report('transport', new Error(`the publish channel to ${this.broker} nacked publishes in a row; moved to a new channel`), { detail: { broker: this.broker } });
      await old.close().catch(() => undefined);
    } catch (error) {
      // The connection is going: its close starts the reconnect.
      this.hooks.report('transport', new Error(`opening a new publish channel to ${this.broker} failed: ${toError(error).message}`, { cause: error }), { detail: { broker: this.broker } });
    } finally {
      this.replacing = false;
    }
  }

  private async startConsumer(c: ConsumerState, conn: ChannelModel, gen: number): Promise<void> {
    c.gen = gen;
    const ch = await conn.createChannel();
    this.consumerChannels.add(ch);
    let chError: Error | undefined;
    ch.on('error', (e: Error) => (chError = e));
    ch.on('close', () => {
      this.closedChannels.add(ch);
      this.consumerChannels.delete(ch);
      if (c.channel === ch && !c.cancelled) setImmediate(() => this.lost(gen, new Error(`the consumer channel of ${c.queue} on ${this.broker} was closed${chError ? `: ${chError.message}` : ''}`, { cause: chError })));
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
      if (!c.cancelled && c.channel === ch) this.lost(c.gen, new Error(`${this.broker} cancelled the consumer of ${c.queue} (queue deleted?)`));
      return;
    }
    c.inFlight.start();
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
    if (this.closedChannels.has(ch)) return;
    ch.ack(msg);
    this.cork.hold(ch);
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
    try {
      await publishDeadLetter(pub, { exchange: this.topology.deadLetterExchange, queue: c.queue, msg, reason });
    } catch (error) {
      // Our dead letter could not be written (headers amqplib cannot encode, a nack): let the
      // broker dead-letter the message itself (the queue's own dead-letter exchange), never leave
      // it unacked where it would hold a prefetch slot for ever.
      if (!this.closedChannels.has(ch)) ch.nack(msg, false, false);
      throw new Error(`writing the dead letter of ${c.queue} to ${this.broker} failed; the broker dead-letters it without our reason header: ${toError(error).message}`, { cause: error });
    }
    if (!this.closedChannels.has(ch)) ch.ack(msg);
  }

  private async cancelConsumer(c: ConsumerState, drain: boolean): Promise<void> {
    if (!c.cancelled) this.consumers.delete(c);
    await stopConsumer(c, { drain, isClosed: (ch) => this.closedChannels.has(ch) });
  }

  private lost(gen: number, error: Error): void {
    if (gen !== this.gen || this.closed || !this.running) return;
    this.gen += 1;
    const wasUp = this.connected;
    this.connected = false;
    this.publisher.detach();
    this.pubChannel = undefined;
    for (const c of this.consumers) c.channel = undefined;
    const old = this.conn;
    this.conn = undefined;
    void old?.close().catch(() => undefined);
    if (wasUp) {
      // One down per outage: a failed reconnect attempt is reported as such, not as a new outage.
      this.hooks.report('transport', error, { detail: { broker: this.broker } });
      this.emit({ type: 'down', error });
    }
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
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
        this.hooks.report('transport', new Error(`reconnect attempt ${attempt} to ${this.broker} failed: ${toError(error).message}`, { cause: error }), { detail: { broker: this.broker, attempt } });
      }
    }
  }
}

/**
 * The RabbitMQ adapter, as a value for `createBus({ adapter: rabbitmqBus({ url, exchange }) })`.
 * Nothing connects until the bus starts (on `start()`, `ready()` or first use).
 */
export function rabbitmqBus(options: RabbitMqBusOptions = {}): RabbitMqBusAdapter {
  return new RabbitMqAdapter(options);
}
