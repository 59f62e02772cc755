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
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import type { Headers } from './envelope.js';

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
 * Starts the producer span of one message (`broadcast`, `emit`, `enqueue`) as a child of the
 * active context and writes its context into `headers`, so consumers continue this trace. The
 * caller ends the span when the transport has accepted the message or failed (`endSpan`).
 */
export function startProducerSpan(facts: MessageSpanFacts, headers: Headers): Span {
  const span = platformTracer().startSpan(`${facts.operation} ${facts.destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: attributesOf(facts, 'send'),
  });
  if (span.isRecording()) propagation.inject(trace.setSpan(context.active(), span), headers, setter);
  return span;
}

/** The producer's context carried by an envelope's headers (the active context when there is none). */
export function contextFromHeaders(headers: Readonly<Headers> | undefined, base: Context = context.active()): Context {
  if (headers === undefined || headers.traceparent === undefined) return base;
  return propagation.extract(base, headers, getter);
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
 * A span that records nothing and carries no trace (an invalid context): what a tier built with
 * `tracing: false` hands its code instead of a span. One shared object; no SDK is asked.
 */
export const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The span's trace id when its context is valid (an SDK made it, or it continues a valid parent). */
export function traceIdOf(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  const spanContext = span.spanContext();
  return trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * Runs one handler invocation or job attempt inside its consumer span: parented by the producer's
 * context from `headers` (and linked to it), active while `work` runs so spans the handler starts
 * (an HTTP call, an `emit`) nest under it, ended with the outcome. Returns what `work` returns.
 */
export async function withConsumerSpan<T>(
  facts: MessageSpanFacts,
  headers: Readonly<Headers> | undefined,
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = contextFromHeaders(headers);
  const producer = trace.getSpanContext(parent);
  const links: Link[] = producer && producer.isRemote ? [{ context: producer }] : [];
  const span = platformTracer().startSpan(
    `${facts.operation} ${facts.destination}`,
    { kind: SpanKind.CONSUMER, attributes: attributesOf(facts, 'process'), links },
    parent,
  );
  try {
    const result = await context.with(trace.setSpan(parent, span), () => work(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, { error });
    throw error;
  }
}
