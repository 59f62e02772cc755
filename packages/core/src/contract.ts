/**
 * The one contract every tier, the websocket gateway, the client and the platform implement:
 * the same lifecycle (`start`, `ready`, `close`), one error-event shape through one hook, one
 * subscription handle for `pubsub.subscribe`, `bus.on` and `queue.process`, and one set of health
 * facts. `docs/contract.md` has the table of members by tier.
 */
import type { CloseOptions } from './lifecycle.js';

/** Which part of the platform raised an error event. */
export type Tier = 'pubsub' | 'bus' | 'queue' | 'gateway' | 'client' | 'platform' | 'dashboard';

/**
 * One error event, whatever raised it. `kind` says what failed (`handler`, `decode`, `transport`,
 * `retry`, `dead-letter`, `listener`, `request`, `close`, ...; each tier documents its own), `name`
 * the event, job or channel concerned and `id` the envelope or job id, when there is one.
 */
export interface ErrorEvent {
  readonly tier: Tier;
  readonly kind: string;
  readonly error: Error;
  readonly name?: string;
  readonly id?: string;
  /** Tier-specific facts (a consumer group, an attempt number, a client's address). Strings and numbers only. */
  readonly detail?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** The one error hook: receives every error that has no caller to reject. It must not throw. */
export type ErrorHook = (event: ErrorEvent) => void;

/** Where a component is in its life. `failed`: the last start failed; `start()` may be called again. */
export type LifecyclePhase = 'idle' | 'starting' | 'ready' | 'failed' | 'closing' | 'closed';

/** Facts an operator (a dashboard, `/healthz`) reads; cheap to call, never does I/O. */
export interface Health {
  readonly phase: LifecyclePhase;
  /** True while the transport is connected (memory adapters: while started and not closed). */
  readonly connected: boolean;
  /** The most recent error reported through the error hook, if any. */
  readonly lastError?: { readonly kind: string; readonly message: string; readonly at: Date };
  /** Component counters (`subscriptions`, `inFlight`, `waitingEmits`, `clients`, ...), each documented by its tier. */
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * The lifecycle every component implements.
 * - `start()` connects; concurrent calls share one attempt; after a failure it releases everything
 *   it opened and may be called again. Components also start on first use.
 * - `ready()` resolves once started (starting if needed); rejects with the start error.
 * - `close()` stops intake at once, drains within `timeoutMs`, then releases connections. It is
 *   idempotent: every call returns the same promise, settled only when the first close is done.
 *   Registration after `close()` began is refused with ClosedError.
 */
export interface Lifecycle {
  start(): Promise<void>;
  ready(): Promise<void>;
  close(options?: CloseOptions): Promise<void>;
  health(): Health;
}

/** Options of closing one subscription handle. */
export interface HandleCloseOptions {
  /** Let deliveries or jobs in flight finish first. Default: true. */
  drain?: boolean;
  /** Longest wait for the drain. Default: 10 000 ms. */
  timeoutMs?: number;
}

/**
 * What `pubsub.subscribe`, `bus.on` and `queue.process` return: one subscription, stoppable alone.
 * `close()` is idempotent and returns the same promise on every call.
 */
export interface SubscriptionHandle {
  /** Unique id of this subscription. */
  readonly id: string;
  /** The channel/pattern, event pattern or job name subscribed to. */
  readonly topic: string;
  /** False once `close()` was called (or the owning component closed). */
  readonly active: boolean;
  close(options?: HandleCloseOptions): Promise<void>;
}

/**
 * The rule for a message from a foreign producer (another language, a script, a plain BullMQ or
 * amqplib client), the same in every tier: a body that is a JSON object with a string `id`, the
 * transport's name and a `payload` member is an envelope and is read as one; any other valid JSON
 * body is a bare payload, wrapped in a new envelope (id from the transport's message id when it has
 * one, else a fresh UUIDv7; name from the transport's routing key, channel or job name). A body
 * that is not JSON goes to the error hook (and the tier's dead-letter place, where it has one).
 * An envelope whose `name` differs from the transport's name, or whose headers are not all
 * strings, is refused in the same way: the transport's name is what routed it.
 */
export type ForeignMessageRule = 'envelope-or-bare-payload';
