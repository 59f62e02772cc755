/**
 * One consumer of the RabbitMQ adapter: its state across reconnects, and how it stops (cancel the
 * broker's deliveries, let the handlers in flight settle, then close its channel: waiting on the
 * in-flight count's signal or the channel's close, never polling).
 */
import type { BusConsumerSpec, BusDelivery } from '@events/core';
import type { Channel } from 'amqplib';
import { InFlight } from '../in-flight.js';

export interface ConsumerState {
  readonly spec: BusConsumerSpec;
  readonly queue: string;
  readonly handler: (delivery: BusDelivery) => Promise<void>;
  /** Connection generation this consumer was last started on. */
  gen: number;
  channel: Channel | undefined;
  tag: string | undefined;
  cancelled: boolean;
  readonly inFlight: InFlight;
  ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  /** Shared by every delivery of this consumer: no closures per message. */
  readonly settled: () => void;
  readonly failed: (error: unknown) => void;
}

export function createConsumerState(spec: {
  spec: BusConsumerSpec;
  queue: string;
  handler: (delivery: BusDelivery) => Promise<void>;
  report: (error: unknown) => void;
}): ConsumerState {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  const inFlight = new InFlight();
  const settled = (): void => inFlight.end();
  const failed = (error: unknown): void => (settled(), spec.report(error));
  return { spec: spec.spec, queue: spec.queue, handler: spec.handler, gen: 0, channel: undefined, tag: undefined, cancelled: false, inFlight, ready: { promise, resolve, reject }, settled, failed };
}

/** Stops deliveries; with `drain`, releases the channel once the handlers in flight are done (or it died). */
export async function stopConsumer(c: ConsumerState, options: { drain: boolean; isClosed: (ch: Channel) => boolean }): Promise<void> {
  const ch = c.channel;
  if (!c.cancelled) {
    c.cancelled = true;
    if (ch && c.tag && !options.isClosed(ch)) await ch.cancel(c.tag).catch(() => undefined);
  }
  if (!ch || options.isClosed(ch)) return;
  // In-flight deliveries still ack on this channel.
  if (options.drain) {
    await new Promise<void>((resolve) => {
      ch.once('close', resolve);
      void c.inFlight.idle().then(resolve);
    });
  }
  if (!options.isClosed(ch)) await ch.close().catch(() => undefined);
}
