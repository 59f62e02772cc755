/**
 * What the pubsub tier tells OpenTelemetry and the journal about its messages (docs/tracing.md,
 * "Pubsub"):
 *
 * - a PRODUCER span per broadcast (`broadcast <channel>`), ended when the adapter accepted the
 *   message or failed, its context written into the envelope's headers so every transport carries
 *   it; a CONSUMER span per handler invocation of this process (`handle <channel>`), child of and
 *   linked to the producer's context. The websocket gateway's own per-client subscriptions get no
 *   span each: its frames carry the producer's context to the browser instead.
 * - a `broadcast` journal step per broadcast, when the PubSub was given a journal;
 * - counters through core's platformMeter (metrics.ts).
 *
 * Without an SDK (no tracer provider registered) and without a journal nothing is allocated per
 * message: core's `producerContext` / `consumerTrace` are a few property reads (under the default
 * mode `join` a message sent outside any trace asks the SDK nothing), and metrics are counted only
 * with a MeterProvider (metrics.ts). Channels are not a metric attribute: applications name channels
 * per room or per user, which would make every channel a time series.
 */
import { type Context, context, type SpanOptions, trace } from '@opentelemetry/api';
import {
  consumerTrace,
  endSpan,
  type Envelope,
  errorType,
  type Failure,
  type Headers,
  type Journal,
  journeyError,
  journeyKeys,
  type MessageSpanFacts,
  platformTracer,
  producerContext,
  consumerSpanOptions,
  recordStep,
  type Span,
  startProducerSpan,
  traceIdOf,
  type TracingMode,
} from '@events/core';
import { pubsubCounts, pubsubInstruments, type SystemCounts } from './metrics.js';
import { REPLY_CHANNEL_PREFIX } from './wire.js';

/** What the consumer spans of one message share: their name, options and parent context. */
export interface ConsumerPlan {
  readonly name: string;
  readonly options: SpanOptions;
  readonly parent: Context;
  /** The message's trace context says "not sampled": handlers run in it, with no span of their own. */
  readonly unsampled: boolean;
}

/**
 * Runs one handler call in its consumer span, active while it runs, ended when it returns or its
 * promise settles. Unlike core's withConsumerSpan, a synchronous handler stays synchronous and a
 * span that is not recording (a sampler dropped it) adds no promise: the cost of an SDK that
 * samples nothing stays a span object and a context switch per handler.
 */
export function runInConsumerSpan(plan: ConsumerPlan, call: () => unknown): unknown {
  // A child of a span that was not sampled is not sampled either (ParentBased, ratio by trace id,
  // AlwaysOff): the sampler is not asked, which is what costs with an SDK that keeps nothing.
  if (plan.unsampled) return context.with(plan.parent, call);
  const span = platformTracer().startSpan(plan.name, plan.options, plan.parent);
  let result: unknown;
  try {
    result = context.with(trace.setSpan(plan.parent, span), call);
  } catch (error) {
    endSpan(span, { error });
    throw error;
  }
  if (!(result instanceof Promise) || !span.isRecording()) {
    span.end();
    return result;
  }
  return result.then(
    (value: unknown) => {
      endSpan(span);
      return value;
    },
    (error: unknown) => {
      endSpan(span, { error });
      throw error;
    },
  );
}

/** One broadcast being traced or journaled, from its start until the adapter answered. */
export interface BroadcastRecord extends BroadcastIds {
  readonly span: Span | undefined;
  /** Epoch ms of the start (journal only). */
  readonly at: number;
  readonly keys: readonly string[] | undefined;
}

/** What a broadcast's journal step names: the record, not the envelope, is what a pending publish holds. */
interface BroadcastIds {
  readonly channel: string;
  readonly id: string;
  readonly correlationId: string | undefined;
  readonly causationId: string | undefined;
}

/** What begin() is told of a broadcast. */
export interface BroadcastFacts extends BroadcastIds {
  readonly payload: unknown;
}

/** The telemetry of one PubSub: its adapter kind, its journal, its metric attributes. */
export class PubSubTelemetry {
  /** This adapter kind's counts, taken on first use (null: no MeterProvider, nothing counted). */
  private counts: SystemCounts | null | undefined;

  constructor(
    readonly system: string,
    private readonly journal: Journal | undefined,
    /** PubSubOptions.tracing (core's TracingMode). */
    private readonly tracing: TracingMode = 'join',
  ) {}

  private counted(): SystemCounts | null {
    return (this.counts ??= pubsubCounts(this.system) ?? null);
  }

  /**
   * Starts a broadcast: its producer span (its context written into `headers`) and its journal
   * step's start. Undefined, and nothing allocated, when there is neither an SDK nor a journal.
   */
  begin(message: BroadcastFacts, headers: Headers): BroadcastRecord | undefined {
    const parent = producerContext(this.tracing);
    if (parent === undefined && this.journal === undefined) return undefined;
    const { channel, id, correlationId, causationId } = message;
    const span =
      parent !== undefined
        ? startProducerSpan(parent, { operation: 'broadcast', tier: 'pubsub', system: this.system, messageId: id, conversationId: correlationId ?? id, ...destinationOf(channel) }, headers)
        : undefined;
    const journaled = this.journal !== undefined;
    return { span, at: journaled ? Date.now() : 0, keys: journaled ? journeyKeys(this.journal, channel, message.payload) : undefined, channel, id, correlationId, causationId };
  }

  /** The adapter accepted the broadcast; `receivers` as broadcast() resolves. */
  sent(record: BroadcastRecord | undefined, receivers: number): void {
    const counts = this.counted();
    if (counts !== null) {
      counts.sent.value += 1;
      counts.receivers.value += receivers;
    }
    if (record === undefined) return;
    if (record.span) {
      if (record.span.isRecording()) record.span.setAttribute('events.pubsub.receivers', receivers);
      record.span.end();
    }
    this.step(record, undefined);
  }

  /** The broadcast failed (refused by the adapter, or its history step failed). */
  failed(record: BroadcastRecord | undefined, error: unknown): void {
    const counts = this.counted();
    if (counts !== null) counts.failed(errorType(error)).value += 1;
    if (record === undefined) return;
    const failure = { error };
    if (record.span) endSpan(record.span, failure);
    this.step(record, failure);
  }

  /**
   * The consumer spans of one message, made once for every handler of a dispatch: children of the
   * producer's context from the headers, linked to it, with the attributes core's spans carry.
   * Undefined when the message is not traced here (core's consumerTrace).
   */
  consumerPlan(envelope: Envelope): ConsumerPlan | undefined {
    const plan = consumerTrace(this.tracing, envelope.headers);
    if (plan === undefined) return undefined;
    const { parent, producer } = plan;
    if (!plan.span) return { name: '', options: {}, parent, unsampled: true };
    const where = destinationOf(envelope.name);
    const facts = { operation: 'handle', tier: 'pubsub', system: this.system, messageId: envelope.id, conversationId: envelope.correlationId ?? envelope.id, ...where } as const;
    return { name: `handle ${where.destination}`, parent, unsampled: false, options: consumerSpanOptions(facts, producer) };
  }

  /** `count` handlers of this process got a message. */
  consumed(count: number): void {
    const counts = this.counted();
    if (counts !== null) counts.consumed.value += count;
  }

  /** A gap was reported to subscribers: a publisher's sequence jumped, the transport was down, or a resume was not filled. */
  gap(reason: keyof typeof GAPS): void {
    pubsubInstruments().gaps.add(1, GAPS[reason]);
  }

  /** Records the `broadcast` step: `failure` set when it failed (whatever was thrown, `undefined` included). */
  private step(record: BroadcastRecord, failure: Failure | undefined): void {
    if (this.journal === undefined) return;
    const traceId = traceIdOf(record.span);
    recordStep(this.journal, {
      kind: 'broadcast',
      tier: 'pubsub',
      system: this.system,
      name: record.channel,
      envelopeId: record.id,
      correlationId: record.correlationId ?? record.id,
      causationId: record.causationId,
      at: record.at,
      durationMs: Date.now() - record.at,
      outcome: failure === undefined ? 'ok' : 'error',
      ...(failure === undefined ? {} : { error: journeyError(failure.error) }),
      ...(traceId !== undefined ? { traceId } : {}),
      ...(record.keys ? { keys: record.keys } : {}),
    });
  }
}

/**
 * A span's destination. A request's reply inbox is a channel per request: its spans are named
 * after the template (`broadcast _pubsub:reply`), as the conventions ask of a temporary
 * destination, so span names stay few; the attribute still names the channel.
 */
function destinationOf(channel: string): Pick<MessageSpanFacts, 'destination' | 'attributes'> {
  if (!channel.startsWith(REPLY_CHANNEL_PREFIX)) return { destination: channel };
  return {
    destination: REPLY_TEMPLATE,
    attributes: { 'messaging.destination.name': channel, 'messaging.destination.template': `${REPLY_CHANNEL_PREFIX}*`, 'messaging.destination.temporary': true },
  };
}

const REPLY_TEMPLATE = REPLY_CHANNEL_PREFIX.slice(0, -1);

/** The attributes of a gap per reason: a publisher's sequence jumped, the transport was down, a resume was not filled. */
const GAPS = {
  sequence: { 'events.tier': 'pubsub', 'events.pubsub.gap.reason': 'sequence' },
  outage: { 'events.tier': 'pubsub', 'events.pubsub.gap.reason': 'outage' },
  unrecovered: { 'events.tier': 'pubsub', 'events.pubsub.gap.reason': 'unrecovered' },
} as const;
