/**
 * The PubSub tier above the adapter seam, written once for every adapter.
 *
 * Promise: at-most-once, fire-and-forget. `broadcast` hands the message to local handlers at once
 * and to the transport, and never waits for any handler. Nothing is persisted: a message sent while
 * a node is disconnected is lost for that node, and it is told so (a `resubscribed` event with the
 * outage window, and a `gap` event when a publisher's sequence numbers jump).
 */
import {
  type CloseOptions,
  createErrorReporter,
  createLifecycle,
  DEFAULT_CLOSE_TIMEOUT_MS,
  type ErrorHook,
  type ErrorReporter,
  type Health,
  type Journal,
  type LifecycleMachine,
  type MessageMap,
  type NameOf,
  type PubSubAdapter,
  type PubSubConnectionEvent,
  type SchemaMap,
  type Serializer,
  createId,
  drainWithin,
  validateChannelName,
  validatePayload,
  type TracingMode,
} from '@events/core';
import { Dispatcher, Listeners, type Report } from './dispatch.js';
import { Interest } from './interest.js';
import { Receiver } from './receive.js';
import { Registry } from './registry.js';
import { RequestReply } from './request-reply.js';
import { Subscriptions } from './subscriptions.js';
import { PubSubTelemetry } from './telemetry.js';
import { REMOTE, SendPath, sendOptions, type SendOptions } from './send-path.js';
import type { HistoryOptions, HistoryReplayOptions } from './history.js';
import { HistorySubscriptions } from './history-subscribe.js';
import { Presence, resolvePresenceOptions } from './presence.js';
import type {
  BroadcastOptions,
  MessageHandler,
  PresenceEvent,
  PresenceHandle,
  PresenceInfo,
  PresenceListOptions,
  PresenceOptions,
  PresenceSnapshot,
  PubSub,
  PubSubEvents,
  ReplyHandler,
  RequestOptions,
  ResubscribedEvent,
  SubscribeOptions,
  Subscription,
  TopicOf,
  Topics,
} from './types.js';
import { GapDetector, Namespace, SequenceCounter } from './wire.js';

export interface PubSubCoreOptions<M extends MessageMap> {
  adapter: PubSubAdapter;
  /** See PubSubOptions (create-pubsub.ts) for every option and its default. */
  onError?: ErrorHook;
  namespace: string;
  requestTimeoutMs: number;
  maxPendingRequests: number;
  /** Default: core's jsonSerializer. */
  serializer: Serializer;
  /** Standard Schema per channel, checked on broadcast. Default: none. */
  schemas?: SchemaMap<M>;
  /** Default: a fresh UUIDv7 per instance. */
  nodeId?: string;
  /** Channels that keep history, and the bounds of a resume (see PubSubOptions). Default: none. */
  history?: HistoryOptions;
  historyReplay?: HistoryReplayOptions;
  /** Default: see PresenceOptions. */
  presence?: PresenceOptions;
  /** Where `broadcast` steps are recorded (see PubSubOptions). Default: none. */
  journal?: Journal;
  /** How messages are traced (see PubSubOptions). Default: `join`. */
  tracing?: TracingMode;
}

export class PubSubImpl<M extends MessageMap> implements PubSub<M> {
  readonly nodeId: string;
  readonly kind: string;
  readonly namespace: string;
  readonly tracing: TracingMode;
  private readonly adapter: PubSubAdapter;
  private readonly serializer: Serializer;
  private readonly schemas: SchemaMap<M> | undefined;
  private readonly reporter: ErrorReporter;
  /** @internal used by request/reply and dispatch */
  readonly report: Report;
  private readonly ns: Namespace;
  private readonly registry = new Registry();
  private readonly interest: Interest;
  private readonly sequence = new SequenceCounter();
  private readonly gaps = new GapDetector();
  private readonly listeners: Listeners<PubSubEvents>;
  private readonly dispatcher: Dispatcher;
  private readonly requests: RequestReply;
  private readonly receiver: Receiver;
  private readonly subs: Subscriptions;
  private readonly history: HistorySubscriptions;
  private readonly life: LifecycleMachine;
  private readonly presenceLayer: Presence;
  /** @internal where broadcast steps go (telemetry.ts); undefined records nothing. */
  readonly journal: Journal | undefined;
  private readonly telemetry: PubSubTelemetry;
  private readonly sender: SendPath;
  /** The adapter's start has resolved and close has not begun: `send` may skip awaiting it. */
  private sending = false;
  /** The channel name `send` validated last. */
  private checkedChannel: string | undefined;
  /** False between a transport `down` and the following `resubscribed`. */
  private connected = false;

  constructor(options: PubSubCoreOptions<M>) {
    this.adapter = options.adapter;
    this.kind = options.adapter.kind;
    this.serializer = options.serializer;
    this.schemas = options.schemas;
    this.journal = options.journal;
    this.tracing = options.tracing ?? 'join';
    this.telemetry = new PubSubTelemetry(options.adapter.kind, options.journal, this.tracing);
    this.ns = new Namespace(options.namespace);
    this.namespace = this.ns.name;
    this.reporter = createErrorReporter('pubsub', options.onError);
    this.report = (kind, error, facts) => this.reporter.report(kind, error, facts);
    this.listeners = new Listeners<PubSubEvents>(this.report);
    this.dispatcher = new Dispatcher(this.report, this.telemetry);
    this.nodeId = options.nodeId ?? createId();
    this.interest = new Interest(this.adapter);
    this.history = new HistorySubscriptions({
      adapter: this.adapter,
      ns: this.ns,
      serializer: this.serializer,
      dispatcher: this.dispatcher,
      report: this.report,
      unrecovered: () => this.telemetry.gap('unrecovered'),
      ...(options.history ? { history: options.history } : {}),
      ...(options.historyReplay ? { historyReplay: options.historyReplay } : {}),
    });
    this.sender = new SendPath({
      nodeId: this.nodeId,
      adapter: this.adapter,
      serializer: this.serializer,
      ns: this.ns,
      registry: this.registry,
      dispatcher: this.dispatcher,
      sequence: this.sequence,
      history: this.history,
      telemetry: this.telemetry,
      report: this.report,
    });
    this.receiver = new Receiver({
      ns: this.ns,
      nodeId: this.nodeId,
      serializer: this.serializer,
      registry: this.registry,
      gaps: this.gaps,
      dispatcher: this.dispatcher,
      listeners: this.listeners,
      report: this.report,
      telemetry: this.telemetry,
      open: () => this.sending,
    });
    this.requests = new RequestReply(this, { timeoutMs: options.requestTimeoutMs, maxPending: options.maxPendingRequests });
    this.life = createLifecycle({
      what: 'pubsub',
      open: async () => {
        await this.adapter.start({
          message: (m) => this.receiver.receive(m),
          connection: (e) => this.onConnection(e),
          error: (error) => this.report('transport', error),
        });
        if (!this.life.closing.aborted) {
          this.sending = true;
          this.connected = true;
        }
      },
      release: () => this.adapter.close({ force: true }),
      shutdown: (o) => this.shutdown(o),
    });
    // After the lifecycle: a subscribe confirmed once close began is undone.
    this.subs = new Subscriptions({ registry: this.registry, interest: this.interest, gaps: this.gaps, ns: this.ns, report: this.report, closing: this.life.closing });
    this.presenceLayer = new Presence(
      {
        nodeId: this.nodeId,
        kind: this.kind,
        store: this.adapter.presence,
        report: this.report,
        wire: (channel) => this.ns.wire(channel),
        // Not through broadcast(): a leave must still go out while close() runs.
        publish: (channel, payload) => this.sender.emit(channel, payload, { local: false, untraced: true }).catch((err: unknown) => this.report('presence', err, { name: channel })),
        subscribe: (channel, handler) => this.subscribe(channel, (payload, meta) => handler(payload, meta.channel)),
        topics: () => this.registry.counts().keys(),
        ready: () => this.start(),
      },
      resolvePresenceOptions(options.presence),
    );
  }

  start(): Promise<void> {
    return this.life.start();
  }

  ready(): Promise<void> {
    return this.life.start();
  }

  health(): Health {
    const size = this.registry.size();
    const lastError = this.reporter.lastError;
    return {
      phase: this.life.phase,
      connected: this.life.phase === 'ready' && this.connected,
      ...(lastError ? { lastError } : {}),
      counts: { subscriptions: size.handlers, topics: size.topics, pendingRequests: this.requests.size, repliesDropped: this.requests.repliesDropped, inFlight: this.dispatcher.size },
    };
  }

  broadcast<K extends NameOf<M>>(channel: K, message: M[K], options?: BroadcastOptions): Promise<number> {
    return this.send(channel, message, options === undefined ? REMOTE : sendOptions(options, false));
  }

  broadcastFrom<K extends NameOf<M>>(from: Subscription | string, channel: K, message: M[K]): Promise<number> {
    return this.send(channel, message, { local: false, exclude: typeof from === 'string' ? from : from.id });
  }

  localBroadcast<K extends NameOf<M>>(channel: K, message: M[K], options: BroadcastOptions = {}): Promise<number> {
    return this.send(channel, message, sendOptions(options, true));
  }

  async subscribe<const T extends Topics>(topics: T, handler: MessageHandler<M, TopicOf<T>>, options: SubscribeOptions = {}): Promise<Subscription> {
    this.life.assertOpen('subscribe');
    // A channel with history (or a `since`) resumes: see history-subscribe.ts.
    const plan = this.history.plan(topics as string | readonly string[], handler, options);
    const prepared = this.subs.prepare(topics as string | readonly string[], plan?.handler ?? handler, plan?.options ?? options);
    await this.start();
    this.life.assertOpen('subscribe');
    const handle = await this.subs.activate(prepared);
    return plan ? plan.open(handle, prepared.entries[0]!.sub) : handle;
  }

  unsubscribe(topic: string, handler?: (...args: never[]) => unknown): Promise<void> {
    return this.subs.remove(topic, handler);
  }

  request<K extends NameOf<M>, R = unknown>(channel: K, message: M[K], options: RequestOptions = {}): Promise<R> {
    return this.requests.request(channel, message, options) as Promise<R>;
  }

  reply<const T extends Topics>(topics: T, handler: ReplyHandler<M, TopicOf<T>>): Promise<Subscription> {
    try {
      this.life.assertOpen('reply');
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.requests.reply(topics, handler as unknown as ReplyHandler<MessageMap, string>);
  }

  on<E extends keyof PubSubEvents>(event: E, listener: PubSubEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  subscriptions(): Map<string, number> {
    return this.registry.counts();
  }

  presence<K extends NameOf<M>>(channel: K, options?: PresenceListOptions): Promise<PresenceSnapshot> {
    return this.whileOpen('presence', () => this.presenceLayer.list(channel, options));
  }

  join<K extends NameOf<M>>(channel: K, member?: PresenceInfo): Promise<PresenceHandle> {
    return this.whileOpen('join', () => this.presenceLayer.join(channel, member));
  }

  onPresence<K extends NameOf<M>>(channel: K, listener: (event: PresenceEvent) => void): Promise<Subscription> {
    return this.whileOpen('onPresence', () => this.presenceLayer.events(channel, listener));
  }

  private async whileOpen<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.life.assertOpen(what);
    return fn();
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.sending = false;
    return this.life.close(options);
  }

  /** Runs once, after any start in progress settled (see createLifecycle). */
  private async shutdown(options: CloseOptions): Promise<void> {
    this.sending = false;
    this.requests.closeAll();
    // Members leave while the adapter is still up, so their leave events go out.
    if (options.force) this.presenceLayer.stop();
    else await drainWithin(this.presenceLayer.close(), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    if (!options.force) await drainWithin(this.dispatcher.idle(), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    // The adapter drops every transport subscription with its connections: no UNSUBSCRIBE each.
    for (const sub of this.registry.all()) this.registry.remove(sub);
    try {
      await this.adapter.close(options);
    } catch (err) {
      this.report('close', err);
    }
  }

  /**
   * Without a schema for the channel and with the adapter started, everything up to the hand-off
   * to the adapter runs synchronously: no promise hop per message. Errors still come back as a
   * rejected promise, never as a synchronous throw.
   */
  private send(channel: string, message: unknown, options: SendOptions): Promise<number> {
    try {
      this.life.assertOpen('broadcast');
      // A stream of messages on one channel checks its name once.
      if (channel !== this.checkedChannel) {
        validateChannelName(channel);
        this.checkedChannel = channel;
      }
      if (this.sending && !this.schemas?.[channel as NameOf<M>]) return this.sender.emit(channel, message, options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.sendAfterChecks(channel, message, options);
  }

  private async sendAfterChecks(channel: string, message: unknown, options: SendOptions): Promise<number> {
    const payload = await validatePayload(this.schemas, channel as NameOf<M>, message);
    await this.start();
    return this.sender.emit(channel, payload, options);
  }

  private onConnection(event: PubSubConnectionEvent): void {
    if (event.type === 'down') {
      this.connected = false;
      this.listeners.emit('down', { at: new Date(event.at), ...(event.error ? { error: event.error } : {}) });
      return;
    }
    this.connected = true;
    this.telemetry.gap('outage');
    const resubscribed: ResubscribedEvent = { downAt: new Date(event.downAt), upAt: new Date(event.upAt), outageMs: event.upAt - event.downAt };
    this.listeners.emit('resubscribed', resubscribed);
    this.history.resubscribed();
    const seen = new Set<string>();
    for (const sub of this.registry.all()) {
      if (seen.has(sub.id)) continue;
      seen.add(sub.id);
      this.listeners.safely(() => sub.options.onResubscribed?.(resubscribed));
    }
  }
}
