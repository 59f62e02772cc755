/**
 * createBus: the one bus API over every adapter. Names, patterns, schemas, serialization, the
 * cycle guard and backpressure are checked here before an adapter sees anything, so a refused
 * event is never half sent.
 */
import {
  ClosedError,
  createEnvelope,
  CycleError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  InvalidOptionError,
  jsonSerializer,
  TimeoutError,
  validateBackoff,
  validateEventName,
  validateEventPattern,
  validatePayload,
  type AnyMessageMap,
  type BusAdapter,
  type BusConsumer,
  type BusMessage,
  type BusPublishOptions,
  type CloseOptions,
  type Envelope,
  type EnvelopeOptions,
  type LifecycleState,
  type MessageMap,
} from '@events/core';
import { InFlight } from './in-flight.js';
import { createDeliveryHandler, type ContextFactory } from './subscription.js';
import type { Bus, BusErrorEvent, BusOptions, BusStats, EmitOptions, OnOptions, RetryOptions, Subscription } from './types.js';
import { createMemoryBusAdapter } from './adapters/memory.js';

/** Envelope header carrying how many events caused this one (0 = emitted from outside a handler). */
export const CAUSATION_DEPTH_HEADER = 'x-causation-depth';

const GROUP = /^[A-Za-z0-9_-]{1,100}$/;
const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 3, backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 5000, jitter: 0.2 } };

function defaultOnError(event: BusErrorEvent): void {
  console.error(`[@events/bus] ${event.stage}`, event.subscription ?? '', event.envelope?.id ?? '', event.error);
}

function resolveRetry(retry: RetryOptions | false | undefined, fallback: Required<RetryOptions>): Required<RetryOptions> {
  if (retry === false) return { attempts: 1, backoff: fallback.backoff };
  const attempts = retry?.attempts ?? fallback.attempts;
  if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidOptionError('retry.attempts', `must be an integer >= 1, got ${attempts}`);
  const backoff = { ...fallback.backoff, ...retry?.backoff };
  validateBackoff(backoff);
  return { attempts, backoff };
}

async function loadAdapter<E extends MessageMap>(options: BusOptions<E>, report: (event: BusErrorEvent) => void): Promise<BusAdapter> {
  const adapter = options.adapter ?? 'memory';
  if (typeof adapter === 'object') return adapter;
  if (adapter === 'memory') return createMemoryBusAdapter(options.memory);
  if (adapter === 'rabbitmq') {
    // Loaded on demand: amqplib is only imported by applications that use RabbitMQ.
    const { createRabbitMqBusAdapter } = await import('./adapters/rabbitmq.js');
    const rabbitmq = options.rabbitmq ?? {};
    return createRabbitMqBusAdapter({
      ...rabbitmq,
      onError: (error) => {
        rabbitmq.onError?.(error);
        report({ stage: 'transport', error });
      },
    });
  }
  throw new InvalidOptionError('adapter', `must be "memory", "rabbitmq" or an adapter object, got ${JSON.stringify(adapter)}`);
}

export function createBus<E extends MessageMap = AnyMessageMap>(options: BusOptions<E> = {}): Bus<E> {
  const serializer = options.serializer ?? jsonSerializer;
  const report = options.onError ?? defaultOnError;
  const defaultGroup = options.group ?? 'default';
  const maxDepth = options.maxCausationDepth ?? 16;
  const whenFull = options.whenFull ?? 'wait';
  const busRetry = resolveRetry(options.retry, DEFAULT_RETRY);
  if (!GROUP.test(defaultGroup)) throw new InvalidOptionError('group', `must match ${GROUP}, got ${JSON.stringify(defaultGroup)}`);
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new InvalidOptionError('maxCausationDepth', `must be an integer >= 0, got ${maxDepth}`);

  let state: LifecycleState = 'open';
  let closing: Promise<void> | undefined;
  let waitingEmits = 0;
  const abort = new AbortController();
  const consumers = new Set<BusConsumer>();
  const inFlight = new InFlight();
  const adapterPromise = loadAdapter(options, report);
  // Surface a failed connection through ready()/emit/on, never as an unhandled rejection.
  adapterPromise.catch(() => undefined);
  let adapter: BusAdapter | undefined;
  void adapterPromise.then((a) => (adapter = a), () => undefined);
  // Subscriptions still being registered. An emit waits for them, so `bus.on(...); bus.emit(...)`
  // in one tick delivers to that subscription even when on() was not awaited.
  const registering = new Set<Promise<unknown>>();
  async function adapterAfterRegistrations(): Promise<BusAdapter> {
    const a = await adapterPromise;
    if (registering.size > 0) await Promise.allSettled([...registering]);
    return a;
  }

  // Names already found valid (validation splits and tests every segment); bounded, since names
  // are normally a small fixed set and anything beyond is simply checked every time.
  const validNames = new Set<string>();
  const waitWhenFull: BusPublishOptions = { whenFull: 'wait' };
  const throwWhenFull: BusPublishOptions = { whenFull: 'throw' };

  async function publish(name: string, payload: unknown, opts: EmitOptions & { depth: number }): Promise<Envelope> {
    const { depth } = opts;
    if (!validNames.has(name)) {
      validateEventName(name);
      if (validNames.size < 1000) validNames.add(name);
    }
    if (depth > maxDepth) throw new CycleError(name, depth, maxDepth);
    // No schema for this name: nothing to wait for (validatePayload would return the payload as is).
    const checked = options.schemas?.[name] ? await validatePayload(options.schemas, name, payload) : payload;
    const envelopeOptions: EnvelopeOptions = { headers: { ...opts.headers, [CAUSATION_DEPTH_HEADER]: String(depth) } };
    if (opts.correlationId !== undefined) envelopeOptions.correlationId = opts.correlationId;
    if (opts.causationId !== undefined) envelopeOptions.causationId = opts.causationId;
    const envelope = createEnvelope(name, checked, envelopeOptions);
    const data = serializer.encode(envelope); // throws SerializationError: nothing is sent
    const a = adapter !== undefined && registering.size === 0 ? adapter : await adapterAfterRegistrations();
    const message: { -readonly [K in keyof BusMessage]: BusMessage[K] } = { id: envelope.id, name, data, contentType: serializer.contentType, headers: envelope.headers };
    if (envelope.correlationId !== undefined) message.correlationId = envelope.correlationId;
    waitingEmits += 1;
    try {
      await a.publish(message, (opts.whenFull ?? whenFull) === 'throw' ? throwWhenFull : waitWhenFull);
    } finally {
      waitingEmits -= 1;
    }
    return envelope;
  }

  function depthOf(opts: EmitOptions | undefined): number {
    const raw = Number(opts?.headers?.[CAUSATION_DEPTH_HEADER] ?? 0);
    return Number.isInteger(raw) && raw >= 0 ? raw : 0;
  }

  /** The handler contexts of one subscription: one plain object per attempt, emit built in. */
  function contextsOf(sub: { group: string; pattern: string }): ContextFactory<E> {
    const { group, pattern } = sub;
    const signal = abort.signal;
    return (parent, attempt, redelivered) => ({
      attempt,
      redelivered,
      group,
      pattern,
      signal,
      async emit(name, payload, opts = {}) {
        // Handlers may still emit while the bus drains; only a closed bus refuses them.
        if (state === 'closed') throw new ClosedError('bus');
        const depth = depthOf({ headers: parent.headers }) + 1;
        const envelope = await publish(name, payload, { ...opts, correlationId: opts.correlationId ?? parent.correlationId ?? parent.id, causationId: parent.id, depth });
        return envelope as never;
      },
    });
  }

  const bus: Bus<E> = {
    emit(name, payload, opts = {}) {
      // Not async: publish's own promise is returned as is (one promise and tick less per emit).
      if (state !== 'open') return Promise.reject(new ClosedError('bus'));
      return publish(name, payload, { ...opts, depth: depthOf(opts) }) as never;
    },

    async on(pattern, handler, opts: OnOptions<E, typeof pattern> = {}) {
      if (state !== 'open') throw new ClosedError('bus');
      validateEventPattern(pattern);
      const group = opts.group ?? defaultGroup;
      if (!GROUP.test(group)) throw new InvalidOptionError('group', `must match ${GROUP}, got ${JSON.stringify(group)}`);
      const concurrency = opts.concurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', `must be an integer >= 1, got ${concurrency}`);
      if (opts.buffer !== undefined && (!Number.isInteger(opts.buffer) || opts.buffer < 1)) throw new InvalidOptionError('buffer', `must be an integer >= 1, got ${opts.buffer}`);
      const retry = resolveRetry(opts.retry, busRetry);
      const deliver = createDeliveryHandler<E>({
        pattern,
        group,
        handler: handler as never,
        ...(opts.partitionBy ? { partitionBy: opts.partitionBy as (e: Envelope) => string | number } : {}),
        retry,
        serializer,
        ...(options.schemas ? { schemas: options.schemas } : {}),
        signal: abort.signal,
        report,
        makeContext: contextsOf({ group, pattern }),
      });
      const subInFlight = new InFlight();
      // Shared by every delivery of this subscription: no closures per delivery.
      const settled = (): void => {
        inFlight.end();
        subInFlight.end();
      };
      const failed = (error: unknown): void => {
        settled();
        report({ stage: 'transport', error });
      };
      const track = (delivery: Parameters<typeof deliver>[0]): Promise<void> => {
        const p = deliver(delivery);
        inFlight.start();
        subInFlight.start();
        p.then(settled, failed);
        return p;
      };
      const spec = { pattern, group, concurrency, ...(opts.buffer !== undefined ? { buffer: opts.buffer } : {}), ...(opts.transient ? { transient: true } : {}) };
      const registration = adapterPromise.then((a) => a.consume(spec, track));
      registering.add(registration);
      let consumer: BusConsumer;
      try {
        consumer = await registration;
      } finally {
        registering.delete(registration);
      }
      consumers.add(consumer);
      const subscription: Subscription = {
        pattern,
        group,
        async cancel() {
          if (!consumers.delete(consumer)) return;
          await consumer.cancel({ drain: true });
          await subInFlight.idle();
        },
      };
      return subscription;
    },

    async ready() {
      await adapterPromise;
    },

    stats(): BusStats {
      const s = adapter?.stats() ?? { connected: false, pendingPublishes: 0, consumers: [] };
      return { ...s, waitingEmits };
    },

    close(closeOptions: CloseOptions = {}) {
      closing ??= (async () => {
        state = 'closing';
        const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
        const drain = !closeOptions.force;
        let drained = false;
        if (drain) {
          const cancels = [...consumers].map((c) => c.cancel({ drain }).catch((error: unknown) => report({ stage: 'close', error })));
          drained = await drainWithin(Promise.all(cancels).then(async () => {
            // Handlers may be chained behind others (partitions): wait until none is left.
            await inFlight.idle();
          }), timeoutMs);
          if (!drained) report({ stage: 'close', error: new TimeoutError('bus drain', timeoutMs) });
        }
        // Forced (or drain timed out): the adapter drops its consumers; RabbitMQ redelivers what was unacked.
        consumers.clear();
        abort.abort();
        state = 'closed';
        const a = await adapterPromise.catch(() => undefined);
        await a?.close({ force: !drained, timeoutMs });
      })();
      return closing;
    },
  };
  return bus;
}
