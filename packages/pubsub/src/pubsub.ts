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
  type Envelope,
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
  assertSerializable,
  createEnvelope,
  createId,
  drainWithin,
  jsonSerializer,
  validateChannelName,
  validatePayload,
} from '@events/core';
import { Dispatcher, Listeners, type Report } from './dispatch.js';
import { assertHeaders, deepFreeze, jsonCopy } from './in-process.js';
import { ENVELOPE_ID, type InternalBroadcastOptions } from './internal.js';
import { Interest } from './interest.js';
import { Receiver } from './receive.js';
import { Registry } from './registry.js';
import { RequestReply } from './request-reply.js';
import { Subscriptions } from './subscriptions.js';
import { type BroadcastRecord, PubSubTelemetry } from './telemetry.js';
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
  StreamPosition,
  SubscribeOptions,
  Subscription,
  TopicOf,
  Topics,
} from './types.js';
import { GapDetector, Namespace, NODE_HEADER, SEQ_HEADER, SequenceCounter } from './wire.js';

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
  /** `false`: no spans, no trace headers (see PubSubOptions). Default: true. */
  tracing?: boolean;
}

const NO_BYTES = Buffer.alloc(0);
/** Fulfilled promises of small receiver counts, shared: an in-process broadcast allocates none. */
const SETTLED: ReadonlyArray<Promise<number>> = Array.from({ length: 65 }, (_, n) => Promise.resolve(n));
const settled = (count: number): Promise<number> => SETTLED[count] ?? Promise.resolve(count);
/**
 * `{ ...options, local }`, written so V8 stays fast: in Node 20 a key added after a spread
 * (`{ ...a, k }`, or a store of a new key into `{ ...a }`) takes a slow path, 1 to 2 µs a call
 * (measured), where `{ k, ...a }` followed by a store to `k` costs a tenth of it. The spread keeps
 * the symbol-keyed internal options and makes data properties (`__proto__` included).
 */
function sendOptions(options: BroadcastOptions, local: boolean): SendOptions {
  const copy: SendOptions = { local, ...options };
  copy.local = local;
  return copy;
}

/** The options of a `broadcast` that names none: shared, never written. */
const REMOTE: SendOptions = Object.freeze({ local: false });

interface SendOptions extends BroadcastOptions {
  local: boolean;
  exclude?: string;
  /** The platform's own messages (presence): no span, no journal step. */
  untraced?: boolean;
}

export class PubSubImpl<M extends MessageMap> implements PubSub<M> {
  readonly nodeId: string;
  readonly kind: string;
  readonly namespace: string;
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
    this.telemetry = new PubSubTelemetry(options.adapter.kind, options.journal, options.tracing !== false);
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
      ...(options.history ? { history: options.history } : {}),
      ...(options.historyReplay ? { historyReplay: options.historyReplay } : {}),
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
        publish: (channel, payload) => this.emit(channel, payload, { local: false, untraced: true }).catch((err: unknown) => this.report('presence', err, { name: channel })),
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
      if (this.sending && !this.schemas?.[channel as NameOf<M>]) return this.emit(channel, message, options);
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
    const inProcess = this.adapter.inProcess;
    // Refuse before a sequence number is spent, so a bad payload never shows up as a gap. A
    // zero-copy adapter carries any value, as the bus's does.
    if (inProcess?.zeroCopy !== true) assertSerializable(payload);
    if (inProcess !== undefined && options.headers !== undefined) assertHeaders(options.headers);
    // Set first and again after the caller's headers (which cannot replace it): see sendOptions.
    const headers: Record<string, string> = { [NODE_HEADER]: this.nodeId, ...options.headers };
    headers[NODE_HEADER] = this.nodeId;
    if (!options.local) headers[SEQ_HEADER] = String(this.sequence.next(channel));
    // Request/reply names the id in advance (internal.ts ENVELOPE_ID).
    const id = (options as InternalBroadcastOptions)[ENVELOPE_ID] ?? createId();
    // The producer span (its context written into `headers`) and journal step: undefined, and
    // nothing allocated, without an OpenTelemetry SDK and a journal (telemetry.ts).
    const traced = options.untraced ? undefined : this.telemetry.begin({ channel, id, correlationId: options.correlationId, payload }, headers);
    const envelope = createEnvelope(
      channel,
      payload,
      options.correlationId === undefined && options.causationId === undefined ? { id, headers } : { id, headers, correlationId: options.correlationId, causationId: options.causationId },
    );
    if (inProcess !== undefined && (inProcess.zeroCopy || this.serializer === jsonSerializer) && (options.local || !this.history.windowFor(channel))) {
      return this.emitInProcess(envelope, options, traced);
    }
    let data: Buffer;
    try {
      data = this.serializer.encode(envelope);
    } catch (err) {
      this.telemetry.failed(traced, envelope, err);
      throw err;
    }
    const stored = options.local ? undefined : this.history.windowFor(channel);
    if (stored) return this.emitWithHistory(envelope, data, { stored, exclude: options.exclude, traced });
    const received = this.dispatchLocal(envelope, data, options);
    if (options.local) {
      this.telemetry.sent(traced, envelope, received);
      return Promise.resolve(received);
    }
    let published: Promise<number>;
    try {
      published = this.adapter.publish(this.ns.wire(channel), data);
    } catch (err) {
      published = Promise.reject(err as Error);
    }
    return published.then(
      (remote) => {
        this.telemetry.sent(traced, envelope, received + remote);
        return received + remote;
      },
      (err: unknown) => {
        // At-most-once: the remote part is lost; the count says who really got it.
        this.report('publish', err, { name: channel, id: envelope.id });
        this.telemetry.failed(traced, envelope, err);
        return received;
      },
    );
  }

  /**
   * In process (memoryPubSub): local handlers, then the other nodes of the hub, all within this
   * call. Bytes are made only when another node listens, zero-copy makes none (and freezes the
   * envelope first when asked): the count is known at once, so nothing waits on the adapter.
   */
  private emitInProcess(envelope: Envelope, options: SendOptions, traced: BroadcastRecord | undefined): Promise<number> {
    const inProcess = this.adapter.inProcess!;
    if (inProcess.freeze) deepFreeze(envelope);
    const received = this.dispatchLocal(envelope, undefined, options);
    let count = received;
    if (!options.local) {
      const wire = this.ns.wire(envelope.name);
      try {
        if (inProcess.receivers(wire) > 0) count += inProcess.send(wire, inProcess.zeroCopy ? { data: NO_BYTES, envelope } : { data: this.serializer.encode(envelope) });
      } catch (err) {
        // At-most-once, as in emit: the remote part is lost; the count says who really got it.
        this.report('publish', err, { name: envelope.name, id: envelope.id });
        this.telemetry.failed(traced, envelope, err);
        return settled(received);
      }
    }
    this.telemetry.sent(traced, envelope, count);
    return settled(count);
  }

  /**
   * On a channel with history the message is stored and published in one atomic step, and local
   * handlers get it once that step gave it its offset. When the step fails nobody gets it: a
   * message is never live without being in history.
   */
  private emitWithHistory(
    envelope: Envelope,
    data: Buffer,
    { stored, exclude, traced }: { stored: NonNullable<ReturnType<HistorySubscriptions['windowFor']>>; exclude: string | undefined; traced: BroadcastRecord | undefined },
  ): Promise<number> {
    const channel = envelope.name;
    let stepped: Promise<{ receivers: number; position: StreamPosition }>;
    try {
      stepped = stored.history.publishWithHistory(this.ns.wire(channel), data, stored.window);
    } catch (err) {
      stepped = Promise.reject(err as Error);
    }
    return stepped.then(
      ({ receivers, position }) => {
        const count = this.dispatchLocal(envelope, data, { exclude, position }) + receivers;
        this.telemetry.sent(traced, envelope, count);
        return count;
      },
      (err: unknown) => {
        this.report('publish', err, { name: channel, id: envelope.id });
        this.telemetry.failed(traced, envelope, err);
        return 0;
      },
    );
  }

  /**
   * Local handlers get a decoded copy of what was sent, so they see exactly what a remote node
   * would, and one handler mutating its message never reaches the sender. Decoded at most once per
   * message (the handlers of one node share that copy, as on a remote node), and not at all when
   * nothing here matches or every match only reads the sender's envelope (LocalSubscription.shared).
   * Without `data` (in process) the copy is a JSON round trip of the payload (in-process.ts), or
   * with zero-copy the sender's envelope itself.
   */
  private dispatchLocal(envelope: Envelope, data: Buffer | undefined, { exclude, position }: { exclude?: string | undefined; position?: StreamPosition }): number {
    const channel = envelope.name;
    const exact = this.registry.exactFor(channel);
    const globs = this.registry.patternsMatching(channel);
    if (exact === undefined && globs === undefined) return 0;
    let copy: Envelope | undefined;
    if ((exact?.copying ?? 0) > 0 || globs?.some(([, subs]) => subs.copying > 0)) {
      copy = data !== undefined ? this.serializer.decode(data) : this.adapter.inProcess?.zeroCopy === true ? envelope : jsonCopy(envelope);
    }
    let count = 0;
    if (exact) count += this.dispatcher.deliver(exact.list(), { envelope: copy ?? envelope, shared: envelope, pattern: undefined, exclude, position });
    if (globs) {
      for (const [topic, subs] of globs) {
        count += this.dispatcher.deliver(subs.list(), { envelope: copy ?? envelope, shared: envelope, pattern: topic, exclude, position });
      }
    }
    return count;
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
