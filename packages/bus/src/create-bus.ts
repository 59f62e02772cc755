/**
 * createBus: the one bus API over every adapter. Names, patterns, schemas, serialization, the
 * cycle guard and backpressure are checked here before an adapter sees anything, so a refused
 * event is never half sent. The lifecycle is core's state machine (createLifecycle); the
 * subscriptions and their handles live in subscriptions.ts.
 */
import {
  BackpressureError,
  createEnvelope,
  createErrorReporter,
  createId,
  createLifecycle,
  CycleError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  drainWithin,
  endSpan,
  InvalidOptionError,
  journeyKeys,
  jsonSerializer,
  NO_SPAN,
  producerContext,
  startProducerSpan,
  tracingModeOption,
  TimeoutError,
  validateEventName,
  validatePayload,
  type AnyMessageMap,
  type BusAdapter,
  type BusMessage,
  type BusPublishOptions,
  type CloseOptions,
  type Envelope,
  type EnvelopeOptions,
  type Failure,
  type Headers,
  type Journal,
  type MessageMap,
  type Span,
} from '@events/core';
import { memoryBus } from './adapters/memory.js';
import { within } from './deadline.js';
import { recordEmit } from './journal.js';
import { createBusMetrics } from './metrics.js';
import { DEFAULT_RETRY, GROUP, resolveRetry } from './options.js';
import { createSubscriptions } from './subscriptions.js';
import type { Bus, BusOptions, BusStats, EmitOptions } from './types.js';

/** Envelope header carrying how many events caused this one (0 = emitted from outside a handler). */
export const CAUSATION_DEPTH_HEADER = 'x-causation-depth';

/** Default deadline of an emit. */
export const DEFAULT_EMIT_TIMEOUT_MS = 30_000;

/** Default deadline of `on()`'s registration. */
export const DEFAULT_REGISTER_TIMEOUT_MS = 30_000;

/** Emits waiting at once for the bus to start or for subscriptions being registered. */
export const MAX_EMITS_WAITING_TO_START = 1000;

function checkTimeout(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidOptionError(option, `must be a number of milliseconds > 0, got ${value}`);
  return value;
}

const NO_BYTES = Buffer.alloc(0);

export function createBus<E extends MessageMap = AnyMessageMap>(options: BusOptions<E> = {}): Bus<E> {
  const serializer = options.serializer ?? jsonSerializer;
  const reporter = createErrorReporter('bus', options.onError);
  const defaultGroup = options.group ?? 'default';
  const maxDepth = options.maxCausationDepth ?? 16;
  const whenFull = options.whenFull ?? 'wait';
  const emitTimeoutMs = checkTimeout('emitTimeoutMs', options.emitTimeoutMs ?? DEFAULT_EMIT_TIMEOUT_MS);
  const busRetry = resolveRetry(options.retry, DEFAULT_RETRY);
  if (!GROUP.test(defaultGroup)) throw new InvalidOptionError('group', `must match ${GROUP}, got ${JSON.stringify(defaultGroup)}`);
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new InvalidOptionError('maxCausationDepth', `must be an integer >= 0, got ${maxDepth}`);
  const adapter: BusAdapter = options.adapter ?? memoryBus();
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.publish !== 'function' || typeof adapter.start !== 'function') {
    throw new InvalidOptionError('adapter', `must be an adapter value such as memoryBus() from @events/bus/memory or rabbitmqBus({ url }) from @events/bus/rabbitmq, got ${JSON.stringify(adapter)}`);
  }

  const tracing = tracingModeOption(options.tracing);
  const zeroCopy = adapter.zeroCopy === true;
  const journal: Journal | undefined = options.journal;
  const metrics = createBusMetrics({ system: adapter.kind, consumers: () => adapter.stats().consumers });

  const lifecycle = createLifecycle({
    what: 'bus',
    open: () => adapter.start({ report: (kind, error, facts) => reporter.report(kind, error, facts) }),
    shutdown: (closeOptions) => shutdown(closeOptions),
  });
  const start = (): Promise<void> => lifecycle.start();

  // Emits waiting for the start or for registrations: capped like every other line of waiters.
  let waitingToStart = 0;
  async function before(work: () => Promise<void>, spec: { timeoutMs: number; signal: AbortSignal | undefined; what: string }): Promise<void> {
    if (waitingToStart >= MAX_EMITS_WAITING_TO_START) {
      throw new BackpressureError(`${spec.what}: ${MAX_EMITS_WAITING_TO_START} emits already wait (retry later, or await bus.start() first)`);
    }
    waitingToStart += 1;
    try {
      await within(work(), spec);
    } finally {
      waitingToStart -= 1;
    }
  }

  // Names already found valid (validation splits and tests every segment); bounded, since names
  // are normally a small fixed set and anything beyond is simply checked every time.
  const validNames = new Set<string>();

  async function publish(name: string, payload: unknown, opts: EmitOptions & { depth: number }): Promise<Envelope> {
    const { depth } = opts;
    const started = performance.now();
    if (!validNames.has(name)) {
      validateEventName(name);
      if (validNames.size < 1000) validNames.add(name);
    }
    if (depth > maxDepth) throw new CycleError(name, depth, maxDepth);
    const timeoutMs = opts.timeoutMs === undefined ? emitTimeoutMs : checkTimeout('timeoutMs', opts.timeoutMs);
    const deadline = Date.now() + timeoutMs;
    // No schema for this name: nothing to wait for (validatePayload would return the payload as is).
    const checked = options.schemas?.[name] ? await validatePayload(options.schemas, name, payload) : payload;
    const id = createId();
    const headers = { ...opts.headers, [CAUSATION_DEPTH_HEADER]: String(depth) };
    // The producer span's context travels in the headers (none when this emit is not traced: TracingMode).
    const parent = producerContext(tracing);
    const span = parent === undefined ? NO_SPAN : startProducerSpan(parent, { operation: 'emit', tier: 'bus', system: adapter.kind, destination: name, messageId: id, conversationId: opts.correlationId ?? id }, headers);
    const keys = journal ? journeyKeys(journal, name, checked) : undefined;
    try {
      const envelope = await send(name, checked, { id, headers, opts, deadline, timeoutMs });
      span.end();
      sent({ name, id, opts, keys, started, span });
      return envelope;
    } catch (error) {
      endSpan(span, { error });
      sent({ name, id, opts, keys, started, span }, { error });
      throw error;
    }
  }

  /** Measures and records one emit the adapter accepted (no error) or refused. */
  function sent(facts: { name: string; id: string; opts: EmitOptions; keys: readonly string[] | undefined; started: number; span: Span }, failure?: Failure): void {
    const durationMs = performance.now() - facts.started;
    metrics.sent(facts.name, durationMs / 1000, failure);
    if (!journal) return;
    const { correlationId, causationId } = facts.opts;
    recordEmit(journal, { system: adapter.kind, name: facts.name, id: facts.id, correlationId, causationId, keys: facts.keys, at: Date.now() - durationMs, durationMs, span: facts.span, failure });
  }

  /** Builds, encodes and hands one event to the adapter (starting the bus first when needed). */
  async function send(name: string, checked: unknown, spec: { id: string; headers: Headers; opts: EmitOptions; deadline: number; timeoutMs: number }): Promise<Envelope> {
    const { id, headers, opts, deadline, timeoutMs } = spec;
    const envelopeOptions: EnvelopeOptions = { id, headers };
    if (opts.correlationId !== undefined) envelopeOptions.correlationId = opts.correlationId;
    if (opts.causationId !== undefined) envelopeOptions.causationId = opts.causationId;
    const envelope = createEnvelope(name, checked, envelopeOptions);
    // Zero-copy (memory only): the envelope object itself travels; else bytes, as on a broker.
    const data = zeroCopy ? NO_BYTES : serializer.encode(envelope); // throws SerializationError: nothing is sent
    const phase = lifecycle.phase;
    if (phase === 'idle' || phase === 'starting' || phase === 'failed') {
      // Start on first use (again after a failed start), within the emit's deadline.
      await before(() => start().then(() => subscriptions.registered()), { timeoutMs, signal: opts.signal, what: `bus.emit of ${name} waiting for the bus to start (is the broker reachable?)` });
    } else if (subscriptions.registering.size > 0) {
      // Subscriptions still being registered finish first, so `bus.on(...); bus.emit(...)` in
      // one tick delivers to that subscription. (While closing, handlers' ctx.emit gets here too.)
      await before(() => subscriptions.registered(), { timeoutMs, signal: opts.signal, what: `bus.emit of ${name} waiting for subscriptions being registered` });
    }
    const message: { -readonly [K in keyof BusMessage]: BusMessage[K] } = { id: envelope.id, name, data, contentType: serializer.contentType, headers: envelope.headers };
    if (envelope.correlationId !== undefined) message.correlationId = envelope.correlationId;
    if (zeroCopy) message.envelope = envelope;
    const publishOptions: { -readonly [K in keyof BusPublishOptions]: BusPublishOptions[K] } = {
      whenFull: opts.whenFull ?? whenFull,
      timeoutMs: Math.max(1, deadline - Date.now()),
    };
    if (opts.signal) {
      if (opts.signal.aborted) throw opts.signal.reason;
      publishOptions.signal = opts.signal;
    }
    await adapter.publish(message, publishOptions);
    return envelope;
  }

  function depthOf(opts: EmitOptions | undefined): number {
    const raw = Number(opts?.headers?.[CAUSATION_DEPTH_HEADER] ?? 0);
    return Number.isInteger(raw) && raw >= 0 ? raw : 0;
  }

  const subscriptions = createSubscriptions<E>({
    adapter,
    lifecycle,
    start,
    reporter,
    serializer,
    ...(options.schemas ? { schemas: options.schemas } : {}),
    defaultGroup,
    busRetry,
    registerTimeoutMs: DEFAULT_REGISTER_TIMEOUT_MS,
    metrics,
    ...(journal ? { journal } : {}),
    tracing,
    publishCaused: (parent, { name, payload, opts }) => {
      // Handlers may still emit while the bus drains; only a closed bus refuses them.
      if (lifecycle.phase === 'closed') lifecycle.assertOpen('ctx.emit');
      const depth = depthOf({ headers: parent.headers }) + 1;
      return publish(name, payload, { ...opts, correlationId: opts.correlationId ?? parent.correlationId ?? parent.id, causationId: parent.id, depth });
    },
  });

  async function shutdown(closeOptions: CloseOptions): Promise<void> {
    const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    const drained = await subscriptions.closeAll({ force: closeOptions.force === true, timeoutMs });
    // Forced (or drain timed out): the adapter drops its consumers; RabbitMQ redelivers what was unacked.
    const released = adapter.close({ force: !drained, timeoutMs: left() });
    if (!(await drainWithin(released, left()))) reporter.report('close', new TimeoutError(`closing the ${adapter.kind} bus adapter`, timeoutMs));
    await released.catch((error: unknown) => reporter.report('close', error));
    // After the drain: what the last handlers counted is still reported until here.
    metrics.close();
  }

  const bus: Bus<E> = {
    emit(name, payload, opts = {}) {
      // Not async: publish's own promise is returned as is (one promise and tick less per emit).
      if (lifecycle.phase === 'closing' || lifecycle.phase === 'closed') {
        try {
          lifecycle.assertOpen('emit');
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return publish(name, payload, { ...opts, depth: depthOf(opts) }) as never;
    },
    on: (pattern, handler, opts) => subscriptions.on(pattern, handler, opts),
    start,
    ready: start,
    health() {
      const s = adapter.stats();
      let buffered = 0;
      for (const c of s.consumers) buffered += c.buffered;
      return {
        phase: lifecycle.phase,
        connected: lifecycle.phase === 'ready' && s.connected,
        ...(reporter.lastError ? { lastError: reporter.lastError } : {}),
        counts: {
          consumers: subscriptions.count,
          inFlight: subscriptions.inFlight,
          buffered,
          waitingEmits: s.waitingPublishes + waitingToStart,
          pendingPublishes: s.pendingPublishes,
        },
      };
    },
    stats(): BusStats {
      const s = adapter.stats();
      return { ...s, waitingEmits: s.waitingPublishes + waitingToStart };
    },
    close: (closeOptions) => lifecycle.close(closeOptions),
  };
  return bus;
}
