/**
 * What happens to one delivery, whatever the adapter: decode, keep per-key order, run the handler
 * with a bounded retry, then ack or dead-letter. Failures never escape to the adapter: they go to
 * the error hook, so one bad event or handler cannot stop a consumer.
 */
import { backoffDelay, consumerMayTrace, EventsError, NO_SPAN, sleep, validatePayload, withConsumerSpan, type BusDelivery, type Envelope, type ErrorReporter, type Journal, type JourneyOutcome, type MessageMap, type Span, type SchemaMap, type Serializer, type TracingMode } from '@events/core';
import { decodeDelivery } from './decode.js';
import { recordHandle } from './journal.js';
import type { GroupMetrics } from './metrics.js';
import type { BusHandler, HandlerContext, RetryOptions } from './types.js';

/** Deterministic failures: running the handler again cannot help. */
const PERMANENT = new Set(['CYCLE', 'SERIALIZATION', 'VALIDATION', 'INVALID_NAME', 'DECODE']);

export interface SubscriptionRuntime<E extends MessageMap> {
  readonly pattern: string;
  readonly group: string;
  /** The adapter's kind (`memory`, `rabbitmq`): `messaging.system` of the handler spans. */
  readonly system: string;
  readonly handler: BusHandler<E, string>;
  readonly partitionBy?: (envelope: Envelope) => string | number;
  readonly retry: Required<RetryOptions>;
  readonly serializer: Serializer;
  readonly schemas?: SchemaMap<E>;
  readonly signal: AbortSignal;
  readonly reporter: ErrorReporter;
  readonly makeContext: ContextFactory<E>;
  /** Where each handler attempt is recorded as a `handle` step. Default: none. */
  readonly journal?: Journal;
  /** The bus's instruments for this subscription's group. Default: none. */
  readonly metrics?: GroupMetrics;
  /** How deliveries are traced (BusOptions.tracing). Default: `join`. */
  readonly tracing?: TracingMode;
}

/** Builds the context of one handler attempt for the event being handled. */
export type ContextFactory<E extends MessageMap> = (envelope: Envelope, attempt: number, redelivered: boolean) => HandlerContext<E>;

export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1000);
}

/**
 * Builds the adapter-facing delivery handler of one subscription. Ordering per partition key is
 * fixed synchronously on arrival (before any await), so adapters that hand deliveries over in
 * queue order keep that order per key.
 */
export function createDeliveryHandler<E extends MessageMap>(rt: SubscriptionRuntime<E>): (delivery: BusDelivery) => Promise<void> {
  const chains = new Map<string, Promise<void>>();
  const detail = { group: rt.group, pattern: rt.pattern };
  const report = (kind: string, error: unknown, facts: { name?: string; id?: string | undefined; attempt?: number } = {}): void => {
    rt.reporter.report(kind, error, {
      ...(facts.name !== undefined ? { name: facts.name } : {}),
      ...(facts.id !== undefined ? { id: facts.id } : {}),
      detail: facts.attempt === undefined ? detail : { ...detail, attempt: facts.attempt },
    });
  };

  return (delivery) => {
    let envelope: Envelope;
    try {
      envelope = delivery.envelope ?? decodeDelivery(rt.serializer, delivery);
    } catch (err) {
      // decodeDelivery throws DecodeError only: the message is refused, never handed to a handler.
      const facts = { name: delivery.name, id: delivery.messageId };
      report('decode', err, facts);
      return delivery.deadLetter(`decode: ${(err as Error).message}`.slice(0, 1000)).catch((e: unknown) => report('transport', e, facts));
    }
    rt.metrics?.consumed(envelope.name);
    if (!rt.partitionBy) return run(envelope, delivery);
    let key: string;
    try {
      key = String(rt.partitionBy(envelope));
    } catch (error) {
      return settle({ envelope, delivery, unattempted: true }, error, 1);
    }
    const previous = chains.get(key) ?? Promise.resolve();
    const current = previous.then(() => run(envelope, delivery));
    chains.set(key, current);
    return current.finally(() => {
      if (chains.get(key) === current) chains.delete(key);
    });
  };

  async function run(envelope: Envelope, delivery: BusDelivery): Promise<void> {
    // No schema for this name: the payload stays as decoded (no copy, no await).
    if (rt.schemas?.[envelope.name]) {
      try {
        const payload = await validatePayload(rt.schemas, envelope.name, envelope.payload);
        envelope = { ...envelope, payload };
      } catch (error) {
        return settle({ envelope, delivery, unattempted: true }, error, 1);
      }
    }
    for (let attempt = 1; ; attempt += 1) {
      if (rt.signal.aborted) return; // force-closed: leave the event unacked (RabbitMQ redelivers it)
      try {
        await attemptOnce(envelope, delivery, attempt);
      } catch (error) {
        if (isFinal(error, attempt)) return settle({ envelope, delivery }, error, attempt);
        report('retry', error, { name: envelope.name, id: envelope.id, attempt });
        rt.metrics?.retried(envelope.name);
        await sleep(backoffDelay(rt.retry.backoff, attempt), rt.signal);
        continue;
      }
      try {
        await delivery.ack();
      } catch (e) {
        report('transport', e, { name: envelope.name, id: envelope.id });
      }
      return;
    }
  }

  function isFinal(error: unknown, attempt: number): boolean {
    const permanent = error instanceof EventsError && PERMANENT.has(error.code);
    return permanent || attempt >= rt.retry.attempts;
  }

  /** One handler invocation in its consumer span; a failure is marked `retry` or `dead_letter` on it. */
  function attemptOnce(envelope: Envelope, delivery: BusDelivery, attempt: number): Promise<void> {
    const mode = rt.tracing ?? 'join';
    if (!consumerMayTrace(mode, envelope.headers)) return attemptIn(NO_SPAN, { envelope, delivery, attempt });
    const facts = { operation: 'handle', tier: 'bus', system: rt.system, destination: envelope.name, messageId: envelope.id, conversationId: envelope.correlationId, group: rt.group, attempt } as const;
    return withConsumerSpan(facts, { mode, headers: envelope.headers }, (span) => attemptIn(span, { envelope, delivery, attempt }));
  }

  /** The handler invocation itself, measured and journaled (`span`: NO_SPAN when not traced). */
  async function attemptIn(span: Span, { envelope, delivery, attempt }: { envelope: Envelope; delivery: BusDelivery; attempt: number }): Promise<void> {
    const started = performance.now();
    try {
      await rt.handler(envelope as never, rt.makeContext(envelope, attempt, delivery.redeliveries > 0));
    } catch (error) {
      const outcome = isFinal(error, attempt) ? 'dead_letter' : 'retry';
      if (span.isRecording()) span.addEvent(outcome, { 'events.attempt': attempt });
      ended({ envelope, attempt, span, started }, outcome, error);
      throw error;
    }
    ended({ envelope, attempt, span, started }, 'ok');
  }

  /** Measures one handler attempt and records its `handle` step. */
  function ended(facts: { envelope: Envelope; attempt: number; span: Span; started: number }, outcome: JourneyOutcome, error?: unknown): void {
    const durationMs = performance.now() - facts.started;
    rt.metrics?.processed(facts.envelope.name, durationMs / 1000, outcome === 'ok' ? undefined : { error });
    if (!rt.journal) return;
    const { envelope, attempt, span } = facts;
    recordHandle(rt.journal, { system: rt.system, group: rt.group, envelope, attempt, at: Date.now() - durationMs, durationMs, outcome, span, error });
  }

  /** Dead-letters an event; `unattempted`: refused before any handler ran (its schema, its partition key), so no handle step was recorded yet. */
  async function settle(target: { envelope: Envelope; delivery: BusDelivery; unattempted?: boolean }, error: unknown, attempt: number): Promise<void> {
    const { envelope, delivery } = target;
    rt.metrics?.deadLettered(envelope.name);
    if (target.unattempted && rt.journal) recordHandle(rt.journal, { system: rt.system, group: rt.group, envelope, attempt, at: Date.now(), outcome: 'dead_letter', error });
    report('dead-letter', error, { name: envelope.name, id: envelope.id, attempt });
    await delivery.deadLetter(reasonOf(error)).catch((e: unknown) => report('transport', e, { name: envelope.name, id: envelope.id }));
  }
}
