/**
 * What happens to one delivery, whatever the adapter: decode, keep per-key order, run the handler
 * with a bounded retry, then ack or dead-letter. Failures never escape to the adapter: they go to
 * the error hook, so one bad event or handler cannot stop a consumer.
 */
import { backoffDelay, DecodeError, EventsError, sleep, validatePayload, type BusDelivery, type Envelope, type MessageMap, type SchemaMap, type Serializer } from '@events/core';
import type { BusErrorEvent, BusHandler, HandlerContext, RetryOptions } from './types.js';

/** Deterministic failures: running the handler again cannot help. */
const PERMANENT = new Set(['CYCLE', 'SERIALIZATION', 'VALIDATION', 'INVALID_NAME', 'DECODE']);

export interface SubscriptionRuntime<E extends MessageMap> {
  readonly pattern: string;
  readonly group: string;
  readonly handler: BusHandler<E, string>;
  readonly partitionBy?: (envelope: Envelope) => string | number;
  readonly retry: Required<RetryOptions>;
  readonly serializer: Serializer;
  readonly schemas?: SchemaMap<E>;
  readonly signal: AbortSignal;
  readonly report: (event: BusErrorEvent) => void;
  readonly makeContext: ContextFactory<E>;
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
  const subscription = { pattern: rt.pattern, group: rt.group };

  return (delivery) => {
    let envelope: Envelope;
    try {
      envelope = rt.serializer.decode(delivery.data);
    } catch (error) {
      const err = error instanceof DecodeError ? error : new DecodeError(reasonOf(error), delivery.data, { cause: error });
      rt.report({ stage: 'decode', error: err, subscription });
      return delivery.deadLetter(`decode: ${err.message}`).catch((e: unknown) => rt.report({ stage: 'transport', error: e, subscription }));
    }
    if (!rt.partitionBy) return run(envelope, delivery);
    let key: string;
    try {
      key = String(rt.partitionBy(envelope));
    } catch (error) {
      return settle({ envelope, delivery }, error, 1);
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
        return settle({ envelope, delivery }, error, 1);
      }
    }
    for (let attempt = 1; ; attempt += 1) {
      if (rt.signal.aborted) return; // force-closed: leave the event unacked (RabbitMQ redelivers it)
      try {
        await rt.handler(envelope as never, rt.makeContext(envelope, attempt, delivery.redeliveries > 0));
      } catch (error) {
        const permanent = error instanceof EventsError && PERMANENT.has(error.code);
        if (permanent || attempt >= rt.retry.attempts) return settle({ envelope, delivery }, error, attempt);
        rt.report({ stage: 'retry', error, envelope, subscription, attempt });
        await sleep(backoffDelay(rt.retry.backoff, attempt), rt.signal);
        continue;
      }
      try {
        await delivery.ack();
      } catch (e) {
        rt.report({ stage: 'transport', error: e, envelope, subscription });
      }
      return;
    }
  }

  async function settle(target: { envelope: Envelope; delivery: BusDelivery }, error: unknown, attempt: number): Promise<void> {
    const { envelope, delivery } = target;
    rt.report({ stage: 'dead-letter', error, envelope, subscription, attempt });
    await delivery.deadLetter(reasonOf(error)).catch((e: unknown) => rt.report({ stage: 'transport', error: e, envelope, subscription }));
  }
}
