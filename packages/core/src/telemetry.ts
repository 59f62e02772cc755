/**
 * OpenTelemetry for every tier, through `@opentelemetry/api` alone: everything here is a no-op
 * until the application registers an SDK (a tracer provider and the W3C propagator).
 *
 * - The trace context travels in the envelope's headers (`traceparent`, `tracestate`), so it
 *   crosses every transport the envelope crosses: Redis pub/sub, AMQP, a BullMQ job's data, a
 *   PostgreSQL row, a websocket frame.
 * - A producer span per broadcast / emit / enqueue; a consumer span per handler invocation or job
 *   attempt, parented by the producer's context (so one journey is one trace) and linked to it, as
 *   the messaging semantic conventions ask of a process span.
 */
import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Headers } from './envelope.js';
import { InvalidOptionError } from './errors.js';

export type { Span } from '@opentelemetry/api';

/** The instrumentation scope of every span and instrument of the platform. */
export const TELEMETRY_SCOPE = '@events/platform';

/** A failure, wrapped: whatever was thrown (`undefined` included) is a failure. */
export interface Failure {
  readonly error: unknown;
}

/** Header names of the W3C trace context in an envelope. */
export const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

const setter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<Readonly<Headers>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (Object.hasOwn(carrier, key) ? carrier[key] : undefined),
};

let tracer: Tracer | undefined;

/**
 * How a tier traces its messages: the `tracing` option of createPubSub, createBus and createQueue,
 * EVENTS_TRACING for the platform (docs/tracing.md, "What is traced").
 *
 * - `join` (the default): a message sent inside a trace (an active span: an HTTP request, a job,
 *   a handler) gets its producer span, and its handler calls and job attempts their consumer spans,
 *   in that trace. A message sent outside any trace is not traced: no span, no header, and no call
 *   into the SDK, so an SDK that samples little costs nothing per message where nothing traces.
 * - `always`: as `join`, and a message sent outside any trace starts a trace of its own (a root
 *   producer span); a handler or attempt of a message that carries no trace context starts a root
 *   consumer span. For work that begins at the message: a queue fed by a scheduler, say.
 * - `off`: no span, no trace header written or read, even with an SDK registered.
 *
 * Under every mode a trace whose sampler dropped it (W3C flags 00) makes no span of ours: a child
 * of an unsampled span is unsampled under the parent-based samplers (the SDK's default), so the
 * SDK is not asked again; the unsampled context still travels, so consumers learn the decision.
 */
export type TracingMode = 'join' | 'always' | 'off';
export const TRACING_MODES = ['join', 'always', 'off'] as const;

export function isTracingMode(value: unknown): value is TracingMode {
  return value === 'join' || value === 'always' || value === 'off';
}

/** A tier's `tracing` option, checked: the mode, `join` when absent; anything else an InvalidOptionError. */
export function tracingModeOption(value: unknown): TracingMode {
  if (value === undefined) return 'join';
  if (isTracingMode(value)) return value;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = typeof value;
  }
  throw new InvalidOptionError('tracing', `must be one of ${TRACING_MODES.join(', ')}, got ${shown}`);
}

const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/**
 * The API's global provider, read once as platformTracer() is: the proxy an SDK registered later
 * delegates through (after `trace.disable()` neither sees a new one, tests aside).
 */
let provider: TracerProvider | undefined;

/**
 * True once the application registered a tracer provider: two property reads. A provider that is
 * not the API's proxy (another copy of the API) counts as registered: traced rather than silently
 * not.
 */
export function tracingOn(): boolean {
  const p = (provider ??= trace.getTracerProvider());
  return !(p instanceof ProxyTracerProvider) || p.getDelegate() !== NOOP_PROVIDER;
}

/**
 * The context a message sent now is traced in, per `mode`; undefined when it is not traced at all
 * (mode `off`, no SDK registered, or `join` outside any trace): a few property reads, nothing
 * allocated. Pass what it returns to startProducerSpan.
 */
export function producerContext(mode: TracingMode): Context | undefined {
  if (mode === 'off' || !tracingOn()) return undefined;
  const active = context.active();
  if (mode === 'join') {
    // Outside any context (a timer, a consumer loop) the manager answers with the root context,
    // which holds no span: no lookup.
    if (active === ROOT_CONTEXT) return undefined;
    const span = trace.getSpan(active);
    if (span === undefined || !isSpanContextValid(span.spanContext())) return undefined;
  }
  return active;
}

/** True when the span context says its trace was sampled. */
function sampled(spanContext: SpanContext): boolean {
  return (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
}

/** The platform's tracer (a proxy: an SDK registered later is still used). */
export function platformTracer(): Tracer {
  return (tracer ??= trace.getTracer(TELEMETRY_SCOPE));
}

/** What a message span says about its message, in the semantic conventions' terms. */
export interface MessageSpanFacts {
  /** `messaging.operation.name`, our API's verb: `broadcast`, `emit`, `enqueue`, `handle`, `process`. */
  readonly operation: string;
  readonly tier: 'pubsub' | 'bus' | 'queue';
  /** `messaging.system`: `redis`, `rabbitmq`, `bullmq`, `postgresql`, `memory`. */
  readonly system: string;
  /** `messaging.destination.name`: the channel, event name or job name. */
  readonly destination: string;
  /** `messaging.message.id`: the envelope's id. */
  readonly messageId?: string;
  /** `messaging.message.conversation_id`: the envelope's correlation id. */
  readonly conversationId?: string | undefined;
  /** `messaging.consumer.group.name`. */
  readonly group?: string | undefined;
  /** The job attempt (1 = first) or the bus delivery attempt. */
  readonly attempt?: number | undefined;
  readonly attributes?: Attributes;
}

function attributesOf(facts: MessageSpanFacts, operationType: 'send' | 'process'): Attributes {
  const attributes: Attributes = {
    'messaging.system': facts.system,
    'messaging.destination.name': facts.destination,
    'messaging.operation.type': operationType,
    'messaging.operation.name': facts.operation,
    'events.tier': facts.tier,
  };
  if (facts.messageId !== undefined) attributes['messaging.message.id'] = facts.messageId;
  if (facts.conversationId !== undefined) attributes['messaging.message.conversation_id'] = facts.conversationId;
  if (facts.group !== undefined) attributes['messaging.consumer.group.name'] = facts.group;
  if (facts.attempt !== undefined) attributes['events.attempt'] = facts.attempt;
  return facts.attributes ? { ...attributes, ...facts.attributes } : attributes;
}

/**
 * Starts the producer span of one message (`broadcast`, `emit`, `enqueue`) in `parent` (from
 * producerContext) and writes its context into `headers`, so consumers continue this trace. In a
 * trace that was not sampled no span is asked of the SDK: the parent's context is written as it is
 * (flags 00) and the span returned records nothing. The caller ends the span when the transport
 * has accepted the message or failed (`endSpan`).
 */
export function startProducerSpan(parent: Context, facts: MessageSpanFacts, headers: Headers): Span {
  const active = trace.getSpanContext(parent);
  if (active !== undefined && isSpanContextValid(active) && !sampled(active)) {
    propagation.inject(parent, headers, setter);
    return trace.wrapSpanContext(active);
  }
  const span = platformTracer().startSpan(
    `${facts.operation} ${facts.destination}`,
    { kind: SpanKind.PRODUCER, attributes: attributesOf(facts, 'send') },
    parent,
  );
  // A root the sampler dropped carries its decision (flags 00) too: no consumer asks again.
  if (isSpanContextValid(span.spanContext())) propagation.inject(trace.setSpan(parent, span), headers, setter);
  return span;
}

/** The producer's context carried by an envelope's headers (the active context when there is none). */
export function contextFromHeaders(headers: Readonly<Headers> | undefined, base: Context = context.active()): Context {
  if (headers === undefined || headers.traceparent === undefined) return base;
  return propagation.extract(base, headers, getter);
}

/** How the consumer side traces one message (consumerTrace). */
export interface ConsumerTrace {
  /** The context handlers run in: the producer's, from the headers, or the active one. */
  readonly parent: Context;
  /** The producer's span context, when the headers carried a valid one. */
  readonly producer: SpanContext | undefined;
  /** False in a trace that was not sampled: handlers run in `parent`, with no span of their own. */
  readonly span: boolean;
}

/**
 * What the consumer side of one message does, per `mode` and the message's headers: undefined when
 * it is not traced (mode `off`, no SDK, or `join` and the message carries no valid trace context):
 * handlers then run as they are, with no context work.
 */
export function consumerTrace(mode: TracingMode, headers: Readonly<Headers> | undefined): ConsumerTrace | undefined {
  if (!consumerMayTrace(mode, headers)) return undefined;
  const base = context.active();
  if (headers !== undefined && headers.traceparent !== undefined) {
    const parent = contextFromHeaders(headers, base);
    const producer = trace.getSpanContext(parent);
    if (producer !== undefined && isSpanContextValid(producer)) return { parent, producer, span: sampled(producer) };
  }
  // `always`, and no trace context: a root span (the active context, whatever it holds, is not
  // this message's: a timer's or a dispatcher's, not a producer's).
  return mode === 'always' ? { parent: trace.deleteSpan(base), producer: undefined, span: true } : undefined;
}

/**
 * False when the consumer side of a message surely makes no span and needs no context (mode `off`,
 * no SDK, or `join` and no trace header): a few reads, so a tier skips building a span's facts.
 */
export function consumerMayTrace(mode: TracingMode, headers: Readonly<Headers> | undefined): boolean {
  if (mode === 'off' || (mode === 'join' && (headers === undefined || headers.traceparent === undefined))) return false;
  return tracingOn();
}

/** The links of a consumer span: to the producer, when it ran elsewhere (a remote context). */
function producerLinks(producer: SpanContext | undefined): Link[] {
  return producer !== undefined && producer.isRemote ? [{ context: producer }] : [];
}

/** The options of a consumer span: kind, the messaging attributes of `facts`, the link to `producer`. */
export function consumerSpanOptions(facts: MessageSpanFacts, producer: SpanContext | undefined): SpanOptions {
  return { kind: SpanKind.CONSUMER, attributes: attributesOf(facts, 'process'), links: producerLinks(producer) };
}

/**
 * Ends a span: a success without `failure`; with it (whatever was thrown, `undefined` included),
 * an `exception` event and the error status.
 */
export function endSpan(span: Span, failure?: Failure): void {
  if (failure !== undefined) {
    const { error } = failure;
    let message: string;
    try {
      message = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : message);
    } catch {
      // A hostile error (a throwing getter or toString) still fails the span.
      message = 'unreadable error';
    }
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

/**
 * A span that records nothing and carries no trace (an invalid context): what a tier hands its
 * code for a message it does not trace. One shared object; no SDK is asked.
 */
export const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The span's trace id when its context is valid (an SDK made it, or it continues a valid parent). */
export function traceIdOf(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  const spanContext = span.spanContext();
  return trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * Runs one handler invocation or job attempt as `mode` says (consumerTrace): inside its consumer
 * span, parented by the producer's context from the message's `headers` (and linked to it), active while `work`
 * runs so spans the handler starts (an HTTP call, an `emit`) nest under it, ended with the outcome.
 * Not traced, `work` gets NO_SPAN; in an unsampled trace it runs in that trace's context with a
 * span that records nothing and names the trace. Returns what `work` returns.
 */
export async function withConsumerSpan<T>(
  facts: MessageSpanFacts,
  { mode, headers }: { readonly mode: TracingMode; readonly headers: Readonly<Headers> | undefined },
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const plan = consumerTrace(mode, headers);
  if (plan === undefined) return work(NO_SPAN);
  // Unsampled: no span asked of the SDK; `work` gets the producer's context as a span that records
  // nothing, so what it records (a journal step's traceId) still names the trace.
  if (!plan.span) return context.with(plan.parent, () => work(plan.producer ? trace.wrapSpanContext(plan.producer) : NO_SPAN));
  const span = platformTracer().startSpan(`${facts.operation} ${facts.destination}`, consumerSpanOptions(facts, plan.producer), plan.parent);
  try {
    const result = await context.with(trace.setSpan(plan.parent, span), () => work(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, { error });
    throw error;
  }
}
