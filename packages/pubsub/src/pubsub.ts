/**
 * The PubSub tier above the adapter seam, written once for every adapter.
 *
 * Promise: at-most-once, fire-and-forget. `broadcast` hands the message to local handlers at once
 * and to the transport, and never waits for any handler. Nothing is persisted: a message sent while
 * a node is disconnected is lost for that node, and it is told so (a `resubscribed` event with the
 * outage window, and a `gap` event when a publisher's sequence numbers jump).
 */
import {
  ClosedError,
  type CloseOptions,
  DEFAULT_CLOSE_TIMEOUT_MS,
  type Envelope,
  type MessageMap,
  type NameOf,
  type PubSubAdapter,
  type PubSubAdapterMessage,
  type PubSubConnectionEvent,
  type SchemaMap,
  type Serializer,
  assertSerializable,
  compileChannelPattern,
  createEnvelope,
  createId,
  drainWithin,
  InvalidOptionError,
  isChannelPattern,
  validateChannelName,
  validatePayload,
} from '@events/core';
import { Dispatcher, Listeners } from './dispatch.js';
import { type InternalSubscribeOptions, SHARE_ENVELOPE } from './internal.js';
import { Interest } from './interest.js';
import { type AnyHandler, type LocalSubscription, Registry, type TopicSubs } from './registry.js';
import { RequestReply } from './request-reply.js';
import type {
  BroadcastOptions,
  ErrorHook,
  GapEvent,
  MessageHandler,
  PubSub,
  PubSubErrorContext,
  PubSubEvents,
  ReplyHandler,
  RequestOptions,
  ResubscribedEvent,
  SubscribeOptions,
  Subscription,
  TopicOf,
  Topics,
} from './types.js';
import { GapDetector, NODE_HEADER, SEQ_HEADER, SequenceCounter } from './wire.js';

export interface PubSubCoreOptions<M extends MessageMap> {
  adapter: PubSubAdapter;
  /** Receives handler failures, undecodable messages and transport errors. Default: console.error. */
  onError?: ErrorHook;
  /** Default: core's jsonSerializer. */
  serializer: Serializer;
  /** Standard Schema per channel, checked on broadcast. Default: none. */
  schemas?: SchemaMap<M>;
  /** Default: a fresh UUIDv7 per instance. */
  nodeId?: string;
}

interface SendOptions extends BroadcastOptions {
  local: boolean;
  exclude?: string;
}

const defaultOnError: ErrorHook = (error, context) => {
  console.error(`[@events/pubsub] ${context.kind} error${context.channel ? ` on "${context.channel}"` : ''}:`, error);
};

export class PubSubImpl<M extends MessageMap> implements PubSub<M> {
  readonly nodeId: string;
  readonly kind: string;
  private readonly adapter: PubSubAdapter;
  private readonly serializer: Serializer;
  private readonly schemas: SchemaMap<M> | undefined;
  private readonly onError: ErrorHook;
  private readonly registry = new Registry();
  private readonly interest: Interest;
  private readonly sequence = new SequenceCounter();
  private readonly gaps = new GapDetector();
  private readonly listeners = new Listeners<PubSubEvents>((e, c) => this.report(e, c));
  private readonly dispatcher = new Dispatcher((e, c) => this.report(e, c));
  private readonly requests = new RequestReply(this);
  private started: Promise<void> | undefined;
  /** The adapter's start has resolved: `send` may skip awaiting it. */
  private ready = false;
  private state: 'open' | 'closing' | 'closed' = 'open';

  constructor(options: PubSubCoreOptions<M>) {
    this.adapter = options.adapter;
    this.kind = options.adapter.kind;
    this.serializer = options.serializer;
    this.schemas = options.schemas;
    this.onError = options.onError ?? defaultOnError;
    this.nodeId = options.nodeId ?? createId();
    this.interest = new Interest(this.adapter);
  }

  start(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new ClosedError('pubsub'));
    this.started ??= this.adapter
      .start({
        message: (m) => this.onRemote(m),
        connection: (e) => this.onConnection(e),
        error: (error) => this.report(error, { kind: 'transport' }),
      })
      .then(
        () => {
          if (this.state === 'open') this.ready = true;
        },
        (err: unknown) => {
          this.started = undefined;
          throw err;
        },
      );
    return this.started;
  }

  broadcast<K extends NameOf<M>>(channel: K, message: M[K], options: BroadcastOptions = {}): Promise<number> {
    return this.send(channel, message, { ...options, local: false });
  }

  broadcastFrom<K extends NameOf<M>>(from: Subscription | string, channel: K, message: M[K]): Promise<number> {
    return this.send(channel, message, { local: false, exclude: typeof from === 'string' ? from : from.id });
  }

  localBroadcast<K extends NameOf<M>>(channel: K, message: M[K], options: BroadcastOptions = {}): Promise<number> {
    return this.send(channel, message, { ...options, local: true });
  }

  async subscribe<const T extends Topics>(topics: T, handler: MessageHandler<M, TopicOf<T>>, options: SubscribeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    const list: readonly string[] = typeof topics === 'string' ? [topics] : (topics as readonly string[]);
    if (list.length === 0) throw new InvalidOptionError('topics', 'subscribe to at least one channel or pattern');
    if (typeof handler !== 'function') throw new InvalidOptionError('handler', 'must be a function');
    const id = createId();
    const entries = list.map((topic) => {
      const pattern = typeof topic === 'string' && isChannelPattern(topic);
      // Both validators throw on a malformed name or glob, before anything is registered.
      const match = pattern ? compileChannelPattern(topic) : undefined;
      if (!pattern) validateChannelName(topic);
      const shared = (options as InternalSubscribeOptions)[SHARE_ENVELOPE] === true;
      const sub: LocalSubscription = { id, topic, kind: pattern ? 'pattern' : 'channel', handler: handler as AnyHandler, options, shared };
      return { sub, match };
    });
    await this.start();
    for (const { sub, match } of entries) this.registry.add(sub, match);
    const results = await Promise.allSettled(entries.map(({ sub }) => this.interest.acquire(sub.topic, sub.kind)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      entries.forEach(({ sub }, i) => {
        this.registry.remove(sub);
        if (results[i]!.status === 'fulfilled') void this.interest.release(sub.topic, sub.kind).catch(() => undefined);
      });
      throw failed.reason;
    }
    let done: Promise<void> | undefined;
    const unsubscribe = (): Promise<void> => (done ??= this.removeAll(entries.map((e) => e.sub)));
    return Object.assign(unsubscribe, { id, topics: [...list] });
  }

  async unsubscribe(topic: string, handler?: (...args: never[]) => unknown): Promise<void> {
    const kind = isChannelPattern(topic) ? 'pattern' : 'channel';
    const subs = [...(this.registry.forTopic(topic, kind)?.list() ?? [])].filter((s) => handler === undefined || s.handler === handler);
    await this.removeAll(subs);
  }

  request<K extends NameOf<M>, R = unknown>(channel: K, message: M[K], options: RequestOptions = {}): Promise<R> {
    return this.requests.request(channel, message, options) as Promise<R>;
  }

  reply<const T extends Topics>(topics: T, handler: ReplyHandler<M, TopicOf<T>>): Promise<Subscription> {
    return this.requests.reply(topics, handler as unknown as ReplyHandler<MessageMap, string>);
  }

  on<E extends keyof PubSubEvents>(event: E, listener: PubSubEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  subscriptions(): Map<string, number> {
    return this.registry.counts();
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.ready = false;
    this.requests.closeAll();
    if (!options.force) await drainWithin(this.dispatcher.idle(), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    for (const sub of this.registry.all()) this.registry.remove(sub);
    try {
      if (this.started) await this.started.catch(() => undefined);
      await this.adapter.close();
    } finally {
      this.state = 'closed';
    }
  }

  /** @internal used by request/reply */
  report(error: unknown, context: PubSubErrorContext): void {
    const err = error instanceof Error ? error : new Error(String(error));
    try {
      this.onError(err, context);
    } catch {
      // An error hook that throws must not take delivery down with it.
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ClosedError('pubsub');
  }

  /**
   * Without a schema for the channel and with the adapter started, everything up to the hand-off
   * to the adapter runs synchronously: no promise hop per message. Errors still come back as a
   * rejected promise, never as a synchronous throw.
   */
  private send(channel: string, message: unknown, options: SendOptions): Promise<number> {
    try {
      this.assertOpen();
      validateChannelName(channel);
      if (this.ready && !this.schemas?.[channel as NameOf<M>]) return this.emit(channel, message, options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.sendAfterChecks(channel, message, options);
  }

  private async sendAfterChecks(channel: string, message: unknown, options: SendOptions): Promise<number> {
    const payload = await validatePayload(this.schemas, channel as NameOf<M>, message);
    await this.start();
    return this.emit(channel, payload, options);
  }

  /** Stamps, encodes and delivers locally (synchronously), then hands the bytes to the adapter. */
  private emit(channel: string, payload: unknown, options: SendOptions): Promise<number> {
    // Refuse before a sequence number is spent, so a bad payload never shows up as a gap.
    assertSerializable(payload);
    const headers: Record<string, string> = { ...options.headers, [NODE_HEADER]: this.nodeId };
    if (!options.local) headers[SEQ_HEADER] = String(this.sequence.next(channel));
    const envelope = createEnvelope(channel, payload, {
      headers,
      ...(options.correlationId !== undefined ? { correlationId: options.correlationId } : {}),
    });
    const data = this.serializer.encode(envelope);
    const received = this.dispatchLocal(envelope, data, options.exclude);
    if (options.local) return Promise.resolve(received);
    let published: Promise<number>;
    try {
      published = this.adapter.publish(channel, data);
    } catch (err) {
      published = Promise.reject(err as Error);
    }
    return published.then(
      (remote) => received + remote,
      (err: unknown) => {
        // At-most-once: the remote part is lost; the count says who really got it.
        this.report(err, { kind: 'publish', channel });
        return received;
      },
    );
  }

  /**
   * Local handlers get a decoded copy of what was sent, so they see exactly what a remote node
   * would, and one handler mutating its message never reaches the sender. Decoded at most once per
   * message (the handlers of one node share that copy, as on a remote node), and not at all when
   * nothing here matches or every match only reads the sender's envelope (LocalSubscription.shared).
   */
  private dispatchLocal(envelope: Envelope, data: Buffer, exclude: string | undefined): number {
    const channel = envelope.name;
    const exact = this.registry.exactFor(channel);
    const globs = this.registry.patternsMatching(channel);
    if (exact === undefined && globs === undefined) return 0;
    let copy: Envelope | undefined;
    if ((exact?.copying ?? 0) > 0 || globs?.some(([, subs]) => subs.copying > 0)) copy = this.serializer.decode(data);
    let count = 0;
    if (exact) count += this.dispatcher.deliver(exact.list(), { envelope: copy ?? envelope, shared: envelope, pattern: undefined, exclude });
    if (globs) {
      for (const [topic, subs] of globs) {
        count += this.dispatcher.deliver(subs.list(), { envelope: copy ?? envelope, shared: envelope, pattern: topic, exclude });
      }
    }
    return count;
  }

  private onRemote(message: PubSubAdapterMessage): void {
    if (this.state !== 'open') return;
    let envelope: Envelope;
    try {
      envelope = this.serializer.decode(message.data);
    } catch (err) {
      this.report(err, { kind: 'decode', channel: message.channel });
      return;
    }
    const node = envelope.headers[NODE_HEADER];
    if (node === this.nodeId) return;
    const topic = message.pattern ?? message.channel;
    const subs = this.registry.forTopic(topic, message.pattern === undefined ? 'channel' : 'pattern');
    if (!subs || subs.set.size === 0) return;
    // Trust the transport's channel over the envelope's name: that is where it was published.
    if (envelope.name !== message.channel) envelope = { ...envelope, name: message.channel };
    const seq = Number(envelope.headers[SEQ_HEADER]);
    if (node !== undefined && Number.isSafeInteger(seq) && seq > 0) {
      const gap = this.gaps.check({ topic, node, channel: message.channel }, seq);
      if (gap) this.emitGap({ ...gap, channel: message.channel, topic, node }, subs);
    }
    this.dispatcher.deliver(subs.list(), { envelope, pattern: message.pattern });
  }

  private emitGap(event: GapEvent, subs: TopicSubs): void {
    this.listeners.emit('gap', event);
    for (const sub of subs.list()) this.listeners.safely(() => sub.options.onGap?.(event));
  }

  private onConnection(event: PubSubConnectionEvent): void {
    if (event.type === 'down') {
      this.listeners.emit('down', { at: new Date(event.at), ...(event.error ? { error: event.error } : {}) });
      return;
    }
    const resubscribed: ResubscribedEvent = { downAt: new Date(event.downAt), upAt: new Date(event.upAt), outageMs: event.upAt - event.downAt };
    this.listeners.emit('resubscribed', resubscribed);
    const seen = new Set<string>();
    for (const sub of this.registry.all()) {
      if (seen.has(sub.id)) continue;
      seen.add(sub.id);
      this.listeners.safely(() => sub.options.onResubscribed?.(resubscribed));
    }
  }

  private async removeAll(subs: readonly LocalSubscription[]): Promise<void> {
    const releases: Promise<void>[] = [];
    for (const sub of subs) {
      if (!this.registry.remove(sub)) continue;
      if (!this.registry.forTopic(sub.topic, sub.kind)) this.gaps.forget(sub.topic);
      releases.push(this.interest.release(sub.topic, sub.kind));
    }
    if (this.state === 'open') await Promise.all(releases);
  }
}
