/**
 * The public types of the bus: one API whatever the adapter.
 */
import type {
  AnyMessageMap,
  BackoffOptions,
  BusAdapter,
  BusAdapterStats,
  Envelope,
  ErrorHook,
  EventsMatching,
  Headers,
  Journal,
  Lifecycle,
  MessageMap,
  NameOf,
  SchemaMap,
  Serializer,
  SubscriptionHandle,
  TracingMode,
} from '@events/core';

/** The envelopes a pattern can deliver, as a union discriminated by `name`. */
export type EnvelopeMatching<E extends MessageMap, P extends string> = {
  [K in EventsMatching<E, P>]: Envelope<E[K], K>;
}[EventsMatching<E, P>];

export interface EmitOptions {
  /** Id shared by every event of one flow. Default: none (ctx.emit: the parent's). */
  correlationId?: string;
  /** Id of the event that caused this one. Default: none (ctx.emit: the parent's id). */
  causationId?: string;
  /** String headers carried with the event (and as AMQP headers). Default: `{}`. */
  headers?: Headers;
  /** Overrides the bus's `whenFull` for this call. */
  whenFull?: 'wait' | 'throw';
  /**
   * Deadline of this emit: starting the bus if needed, room in a full buffer, then acceptance
   * (memory: buffered; RabbitMQ: confirmed). Past it emit rejects with TimeoutError. Default: the
   * bus's `emitTimeoutMs` (30 000 ms).
   */
  timeoutMs?: number;
  /** Ends the emit's wait early: it rejects with the signal's reason (an event not yet written is dropped). Default: none. */
  signal?: AbortSignal;
}

export interface RetryOptions {
  /** Total handler attempts, the first included (1 = no retry). Default: 3. */
  attempts?: number;
  /** Delay between attempts. Default: exponential from 100 ms, at most 5 s, jitter 0.2. */
  backoff?: BackoffOptions;
}

export interface OnOptions<E extends MessageMap, P extends string> {
  /** Consumer group: every group gets every event once; handlers of one group share it. Default: the bus's `group`. */
  group?: string;
  /** Handler invocations in flight at once (RabbitMQ: prefetch). Default: 1. */
  concurrency?: number;
  /** Events with the same key run one at a time, in arrival order; other keys run in parallel. Default: none. */
  partitionBy?: (envelope: EnvelopeMatching<E, P>) => string | number;
  /** Retry schedule for a failing handler; `false` = one attempt. Default: the bus's `retry`. */
  retry?: RetryOptions | false;
  /** Memory adapter: events buffered for this subscription before `emit` pushes back. Default: the adapter's `bufferSize`. */
  buffer?: number;
  /**
   * Deadline of the registration (starting the bus, declaring the queue; RabbitMQ: waiting for a
   * reconnect). Past it `on` rejects with TimeoutError and the consumer is removed (it takes
   * nothing, even if the broker comes back later). Default: 30 000 ms.
   */
  timeoutMs?: number;
  /**
   * An observer's subscription (a dashboard, a debugging tap) instead of a durable one: it gets
   * every matching event and shares with no one (`group` is only a label), it exists only while
   * subscribed (RabbitMQ: an exclusive, auto-deleted, non-durable queue, so nothing is left on the
   * broker and nothing piles up while the observer is gone), events published while it is
   * disconnected are lost to it, and failures that exhaust retries are reported to `onError` but
   * not dead-lettered. Default: false.
   */
  transient?: boolean;
}

export interface HandlerContext<E extends MessageMap> {
  /** Emits an event caused by the one being handled: causation, correlation and depth are carried. */
  emit<K extends NameOf<E>>(name: K, payload: E[K], options?: Omit<EmitOptions, 'causationId'>): Promise<Envelope<E[K], K>>;
  /** 1 on the first attempt in this process. */
  readonly attempt: number;
  /** True when the transport delivered this event before (another consumer may have run it). */
  readonly redelivered: boolean;
  readonly group: string;
  readonly pattern: string;
  /** Aborted when this subscription or the bus is force-closed, or its drain timed out. */
  readonly signal: AbortSignal;
}

export type BusHandler<E extends MessageMap, P extends string> = (
  envelope: EnvelopeMatching<E, P>,
  ctx: HandlerContext<E>,
) => void | Promise<void>;

/**
 * What `bus.on` returns: one subscription, stoppable alone. `close()` stops its deliveries, lets
 * the handlers in flight finish (`drain`, default true) within `timeoutMs` (default 10 000 ms),
 * then aborts their `ctx.signal`; every call returns the same promise.
 */
export interface BusSubscription extends SubscriptionHandle {
  /** The event pattern (also `topic`). */
  readonly pattern: string;
  readonly group: string;
}

/**
 * Kinds of the bus's error events (`ErrorEvent` with tier `bus`; `name` = event name or routing
 * key, `id` = envelope or message id, `detail` = `group`, `pattern`, `attempt`, `broker`):
 * - `retry`: a handler attempt failed and will be retried;
 * - `dead-letter`: retries exhausted or the failure is permanent: the event went to the dead letters;
 * - `decode`: a message could not be read (not JSON, a name that differs from its routing key,
 *   headers that are not strings): dead-lettered;
 * - `transport`: the connection was lost (once per outage, with its cause), a reconnect attempt
 *   failed, an ack or a dead-letter write failed;
 * - `close`: a drain timed out or a consumer could not be cancelled;
 * - `listener`: an `onConnection` listener threw.
 */
export type BusErrorKind = 'retry' | 'dead-letter' | 'decode' | 'transport' | 'close' | 'listener';

export interface BusOptions<E extends MessageMap = AnyMessageMap> {
  /**
   * The transport, as a value: `memoryBus({ bufferSize })` from `@events/bus/memory` or
   * `rabbitmqBus({ url, exchange })` from `@events/bus/rabbitmq`. Default: `memoryBus()`.
   */
  adapter?: BusAdapter;
  /** Default: JSON (core's jsonSerializer). */
  serializer?: Serializer;
  /** Standard Schema per event name, checked at emit and on receipt. Default: none. */
  schemas?: SchemaMap<E>;
  /** Receives every error that has no caller to reject (kinds: BusErrorKind). Default: core's rate-limited console hook. */
  onError?: ErrorHook;
  /** Group of subscriptions that name none. Default: `default`. */
  group?: string;
  /** Default retry schedule of subscriptions. Default: 3 attempts, exponential from 100 ms. */
  retry?: RetryOptions;
  /** Longest causation chain (events emitted by handlers of events...) before CycleError. Default: 16. */
  maxCausationDepth?: number;
  /** When buffers are full, `emit` waits (`wait`) or throws BackpressureError (`throw`). Default: `wait`. */
  whenFull?: 'wait' | 'throw';
  /** Default deadline of every emit (see EmitOptions.timeoutMs). Default: 30 000 ms. */
  emitTimeoutMs?: number;
  /**
   * Where the bus records each step of a message's path for the journey view (core's Journal):
   * an `emit` step when the adapter accepted or refused an event, a `handle` step per handler
   * attempt per consumer group. Recording never throws into the bus and never waits. Default: none.
   */
  journal?: Journal;
  /**
   * How this tier traces its messages with an OpenTelemetry SDK registered (core's TracingMode;
   * docs/tracing.md): `join` (default) traces a message sent inside a trace and nothing else,
   * `always` also starts a trace for a message sent outside any, `off` starts no span and writes or
   * reads no trace header. Metrics and the journal go on under every mode (steps without `traceId`
   * when not traced).
   */
  tracing?: TracingMode;
}

export interface BusStats extends BusAdapterStats {
  /** `emit` calls waiting for buffer room (the adapter's `waitingPublishes`). */
  readonly waitingEmits: number;
}

/**
 * The bus. Its lifecycle (start, ready, close, health) is core's `Lifecycle`: it starts on first
 * use, a failed start can be retried, close is idempotent, and `emit`/`on` after close began
 * reject with ClosedError.
 */
export interface Bus<E extends MessageMap = AnyMessageMap> extends Lifecycle {
  /** Resolves when the event is accepted (memory: buffered; RabbitMQ: confirmed by the broker). */
  emit<K extends NameOf<E>>(name: K, payload: E[K], options?: EmitOptions): Promise<Envelope<E[K], K>>;
  /** Resolves when the subscription is registered: events emitted afterwards reach it. */
  on<P extends string>(pattern: P, handler: BusHandler<E, P>, options?: OnOptions<E, P>): Promise<BusSubscription>;
  /** Per-consumer detail (buffers, in flight, prefetch) for dashboards and tests. */
  stats(): BusStats;
}
