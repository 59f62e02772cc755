/**
 * The public types of the bus: one API whatever the adapter.
 */
import type {
  AnyMessageMap,
  BackoffOptions,
  BusAdapter,
  BusAdapterStats,
  CloseOptions,
  Envelope,
  EventsMatching,
  Headers,
  MessageMap,
  NameOf,
  SchemaMap,
  Serializer,
} from '@events/core';
import type { MemoryBusOptions } from './adapters/memory.js';
import type { RabbitMqBusOptions } from './adapters/rabbitmq-options.js';

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
  /** Aborted when the bus is force-closed or its drain times out. */
  readonly signal: AbortSignal;
}

export type BusHandler<E extends MessageMap, P extends string> = (
  envelope: EnvelopeMatching<E, P>,
  ctx: HandlerContext<E>,
) => void | Promise<void>;

export interface Subscription {
  readonly pattern: string;
  readonly group: string;
  /** Stops this subscription and waits for its in-flight handlers. */
  cancel(): Promise<void>;
}

export interface BusErrorEvent {
  /**
   * `retry`: a handler attempt failed and will be retried; `dead-letter`: retries exhausted or the
   * failure is permanent, the event went to the dead letters; `decode`: a message could not be
   * decoded (dead-lettered); `transport`: the adapter lost or failed its connection; `close`: the drain timed out.
   */
  readonly stage: 'retry' | 'dead-letter' | 'decode' | 'transport' | 'close';
  readonly error: unknown;
  readonly envelope?: Envelope;
  readonly subscription?: { readonly pattern: string; readonly group: string };
  readonly attempt?: number;
}

export interface BusOptions<E extends MessageMap = AnyMessageMap> {
  /** Transport: `memory`, `rabbitmq` (amqplib loaded on demand) or an adapter object. Default: `memory`. */
  adapter?: 'memory' | 'rabbitmq' | BusAdapter;
  /** Options of the memory adapter. Default: `{}`. */
  memory?: MemoryBusOptions;
  /** Options of the RabbitMQ adapter. Default: `{}` (amqp://guest:guest@127.0.0.1:5672, exchange `events`). */
  rabbitmq?: RabbitMqBusOptions;
  /** Default: JSON (core's jsonSerializer). */
  serializer?: Serializer;
  /** Standard Schema per event name, checked at emit and on receipt. Default: none. */
  schemas?: SchemaMap<E>;
  /** Receives every handler failure, dead letter, decode and transport error. Default: console.error. */
  onError?: (event: BusErrorEvent) => void;
  /** Group of subscriptions that name none. Default: `default`. */
  group?: string;
  /** Default retry schedule of subscriptions. Default: 3 attempts, exponential from 100 ms. */
  retry?: RetryOptions;
  /** Longest causation chain (events emitted by handlers of events...) before CycleError. Default: 16. */
  maxCausationDepth?: number;
  /** When buffers are full, `emit` waits (`wait`) or throws BackpressureError (`throw`). Default: `wait`. */
  whenFull?: 'wait' | 'throw';
}

export interface BusStats extends BusAdapterStats {
  /** `emit` calls waiting for buffer room. */
  readonly waitingEmits: number;
}

export interface Bus<E extends MessageMap = AnyMessageMap> {
  /** Resolves when the event is accepted (memory: buffered; RabbitMQ: confirmed by the broker). */
  emit<K extends NameOf<E>>(name: K, payload: E[K], options?: EmitOptions): Promise<Envelope<E[K], K>>;
  /** Resolves when the subscription is registered: events emitted afterwards reach it. */
  on<P extends string>(pattern: P, handler: BusHandler<E, P>, options?: OnOptions<E, P>): Promise<Subscription>;
  /** Resolves when the adapter is connected (RabbitMQ) ; rejects when it cannot be. */
  ready(): Promise<void>;
  stats(): BusStats;
  /** Stops intake, drains in-flight handlers within `timeoutMs`, releases the transport. */
  close(options?: CloseOptions): Promise<void>;
}
