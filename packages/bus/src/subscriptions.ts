/**
 * The bus's subscriptions: `bus.on` registers a consumer with the adapter and returns its handle
 * (core's SubscriptionHandle), and the bus's close drains and stops them all. A registration
 * still in progress when close begins is covered: close waits for it, and it ends with ClosedError
 * and its consumer cancelled, so no consumer outlives the bus.
 */
import {
  ClosedError,
  createId,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  InvalidOptionError,
  TimeoutError,
  validateEventPattern,
  type BusAdapter,
  type BusConsumer,
  type BusDelivery,
  type Envelope,
  type ErrorReporter,
  type HandleCloseOptions,
  type Journal,
  type LifecycleMachine,
  type MessageMap,
  type SchemaMap,
  type Serializer,
  type TracingMode,
} from '@events/core';
import { within } from './deadline.js';
import { GROUP, resolveRetry } from './options.js';
import { InFlight } from './in-flight.js';
import type { BusMetrics } from './metrics.js';
import { createDeliveryHandler, type ContextFactory } from './subscription.js';
import type { BusHandler, BusSubscription, EmitOptions, OnOptions, RetryOptions } from './types.js';

export interface SubscriptionsDeps {
  readonly adapter: BusAdapter;
  readonly lifecycle: LifecycleMachine;
  readonly start: () => Promise<void>;
  readonly reporter: ErrorReporter;
  readonly serializer: Serializer;
  readonly schemas?: SchemaMap<MessageMap>;
  readonly defaultGroup: string;
  readonly busRetry: Required<RetryOptions>;
  /** Default deadline of a registration. */
  readonly registerTimeoutMs: number;
  /** Where handle steps are recorded (BusOptions.journal). */
  readonly journal?: Journal;
  /** The bus's instruments (deliveries, handler durations, retries, dead letters). */
  readonly metrics?: BusMetrics;
  /** BusOptions.tracing. Default: `join`. */
  readonly tracing?: TracingMode;
  /** Emits an event caused by `parent` (ctx.emit). */
  readonly publishCaused: (parent: Envelope, event: { name: string; payload: unknown; opts: Omit<EmitOptions, 'causationId'> }) => Promise<Envelope>;
}

interface Live {
  readonly handle: BusSubscription;
  readonly consumer: BusConsumer;
  readonly inFlight: InFlight;
  readonly abort: AbortController;
  active: boolean;
}

export interface Subscriptions<E extends MessageMap> {
  on<P extends string>(pattern: P, handler: BusHandler<E, P>, options?: OnOptions<E, P>): Promise<BusSubscription>;
  /** Registrations in progress (an emit waits for them). */
  readonly registering: ReadonlySet<Promise<unknown>>;
  /** Resolves once no registration is in progress. */
  registered(): Promise<void>;
  readonly count: number;
  readonly inFlight: number;
  /** Stops every subscription: drains within `timeoutMs` unless `force`. True when all drained; else the adapter's forced close must drop the consumers. */
  closeAll(options: { force: boolean; timeoutMs: number }): Promise<boolean>;
}

export function createSubscriptions<E extends MessageMap>(deps: SubscriptionsDeps): Subscriptions<E> {
  const { adapter, lifecycle, reporter } = deps;
  const live = new Set<Live>();
  const registering = new Set<Promise<unknown>>();
  const inFlight = new InFlight();
  // Aborted once the bus's drain is over (at once when forced): every subscription's ctx.signal.
  const busAbort = new AbortController();

  async function registered(): Promise<void> {
    while (registering.size > 0) await Promise.allSettled([...registering]);
  }

  function contextsOf(sub: { group: string; pattern: string; signal: AbortSignal }): ContextFactory<E> {
    const { group, pattern, signal } = sub;
    return (parent, attempt, redelivered) => ({
      attempt,
      redelivered,
      group,
      pattern,
      signal,
      emit: (name, payload, opts = {}) => deps.publishCaused(parent, { name, payload, opts }) as never,
    });
  }

  /** Stops one subscription; `drain` lets its deliveries in flight finish within `timeoutMs`. */
  async function stop(sub: Live, options: HandleCloseOptions): Promise<boolean> {
    sub.active = false;
    live.delete(sub);
    const detail = { group: sub.handle.group, pattern: sub.handle.pattern };
    if (options.drain !== false) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      const drained = await drainWithin(sub.consumer.cancel({ drain: true }).then(() => sub.inFlight.idle()), timeoutMs);
      if (drained) return true;
      reporter.report('close', new TimeoutError(`draining subscription ${sub.handle.group}/${sub.handle.pattern} (its handlers were told through ctx.signal)`, timeoutMs), { detail });
    }
    sub.abort.abort(new ClosedError(`bus subscription ${sub.handle.group}/${sub.handle.pattern}`));
    await sub.consumer.cancel({ drain: false }).catch((error: unknown) => reporter.report('close', error, { detail }));
    return false;
  }

  async function on<P extends string>(pattern: P, handler: BusHandler<E, P>, opts: OnOptions<E, P> = {}): Promise<BusSubscription> {
    lifecycle.assertOpen('on');
    validateEventPattern(pattern);
    const group = opts.group ?? deps.defaultGroup;
    if (!GROUP.test(group)) throw new InvalidOptionError('group', `must match ${GROUP}, got ${JSON.stringify(group)}`);
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', `must be an integer >= 1, got ${concurrency}`);
    if (opts.buffer !== undefined && (!Number.isInteger(opts.buffer) || opts.buffer < 1)) throw new InvalidOptionError('buffer', `must be an integer >= 1, got ${opts.buffer}`);
    const retry = resolveRetry(opts.retry, deps.busRetry);
    const abort = new AbortController();
    // The bus's forced close (or drain timeout) aborts every subscription; closing one aborts only its own.
    const signal = AbortSignal.any([abort.signal, busAbort.signal]);
    const deliver = createDeliveryHandler<E>({
      pattern,
      group,
      system: deps.adapter.kind,
      handler: handler as never,
      ...(opts.partitionBy ? { partitionBy: opts.partitionBy as (e: Envelope) => string | number } : {}),
      retry,
      serializer: deps.serializer,
      ...(deps.schemas ? { schemas: deps.schemas as SchemaMap<E> } : {}),
      signal,
      reporter,
      makeContext: contextsOf({ group, pattern, signal }),
      ...(deps.journal ? { journal: deps.journal } : {}),
      ...(deps.metrics ? { metrics: deps.metrics.group(group) } : {}),
      ...(deps.tracing !== undefined ? { tracing: deps.tracing } : {}),
    });
    const subInFlight = new InFlight();
    // Shared by every delivery of this subscription: no closures per delivery.
    const settled = (): void => {
      inFlight.end();
      subInFlight.end();
    };
    const failed = (error: unknown): void => {
      settled();
      reporter.report('transport', error, { detail: { group, pattern } });
    };
    let givenUp = false;
    const track = (delivery: BusDelivery): Promise<void> => {
      // A registration given up on (timed out) takes nothing: unacked, the event goes back (RabbitMQ).
      if (givenUp) return Promise.resolve();
      const p = deliver(delivery);
      inFlight.start();
      subInFlight.start();
      p.then(settled, failed);
      return p;
    };
    const spec = { pattern, group, concurrency, ...(opts.buffer !== undefined ? { buffer: opts.buffer } : {}), ...(opts.transient ? { transient: true } : {}) };
    const timeoutMs = opts.timeoutMs ?? deps.registerTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidOptionError('timeoutMs', `must be a number of milliseconds > 0, got ${timeoutMs}`);
    const registration = deps.start().then(() => adapter.consume(spec, track));
    registering.add(registration);
    let consumer: BusConsumer;
    try {
      consumer = await within(registration, { timeoutMs, signal: undefined, what: `bus.on("${pattern}") of group ${group} waiting for its consumer to be registered (is the broker reachable?)` });
    } catch (error) {
      // Given up on: if the consumer comes after all, it must not start taking events.
      givenUp = true;
      registration.then((late) => late.cancel({ drain: false }), () => undefined).catch((e: unknown) => reporter.report('close', e, { detail: { group, pattern } }));
      throw error;
    } finally {
      registering.delete(registration);
    }
    if (lifecycle.phase === 'closing' || lifecycle.phase === 'closed') {
      // Close began while this consumer was being registered: it must not outlive the bus.
      await consumer.cancel({ drain: false }).catch((error: unknown) => reporter.report('close', error, { detail: { group, pattern } }));
      lifecycle.assertOpen(`on("${pattern}") registered after close began`);
    }
    let closing: Promise<void> | undefined;
    const sub: Live = {
      consumer,
      inFlight: subInFlight,
      abort,
      active: true,
      handle: {
        id: createId(),
        topic: pattern,
        pattern,
        group,
        get active() {
          return sub.active;
        },
        close: (closeOptions = {}) => (closing ??= stop(sub, closeOptions).then(() => undefined)),
      },
    };
    live.add(sub);
    return sub.handle;
  }

  return {
    on,
    registering,
    registered,
    get count() {
      return live.size;
    },
    get inFlight() {
      return inFlight.size;
    },
    async closeAll({ force, timeoutMs }) {
      const deadline = Date.now() + timeoutMs;
      // Registrations in progress finish first (each then sees the bus closing and cancels itself).
      await drainWithin(registered(), timeoutMs);
      const subs = [...live];
      let drained = false;
      if (!force) {
        const left = Math.max(1, deadline - Date.now());
        drained = await drainWithin(Promise.all(subs.map((s) => s.consumer.cancel({ drain: true }))).then(() => inFlight.idle()), left);
        if (!drained) reporter.report('close', new TimeoutError('bus drain (handlers still running were told through ctx.signal)', timeoutMs));
      }
      busAbort.abort(new ClosedError('bus'));
      for (const s of subs) {
        s.active = false;
        live.delete(s);
      }
      // Not drained: the adapter's forced close drops the consumers left (after refusing the
      // emits still waiting, which must not slip into a buffer that is going away).
      return drained;
    },
  };
}
