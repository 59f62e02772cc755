/**
 * The pubsub tier's instruments, named in core's METRICS table and made through core's
 * platformMeter(): no-ops until the application registers a MeterProvider. Made once per process,
 * on first use. What happens per message (broadcasts sent, subscribers reached, handler calls,
 * websocket drops) is counted here, per adapter kind or policy, and reported at collection through
 * observable counters: an SDK
 * counter hashes its attributes on every `add` (three per broadcast cost a memory broadcast 2.6 µs
 * with a reader). The websocket gateways of a process report through one observable instrument
 * each (clients, conflations), summed over the gateways alive at collection time.
 */
import { METRICS, platformMeter, Tallies, type Tally } from '@events/core';
import { type Attributes, type BatchObservableResult, type Counter, createNoopMeter, type ObservableCounter } from '@opentelemetry/api';

const NoopMeter = createNoopMeter().constructor;

export interface PubSubInstruments {
  /**
   * False when core's meter is the API's no-op one (no MeterProvider was registered before the
   * platform first asked): then callers skip recording altogether.
   */
  readonly enabled: boolean;
  readonly gaps: Counter;
}

let instruments: PubSubInstruments | undefined;

export function pubsubInstruments(): PubSubInstruments {
  if (instruments) return instruments;
  const meter = platformMeter();
  const counter = (m: Spec): Counter => meter.createCounter(m.name, { unit: m.unit, description: m.description });
  const enabled = !(meter instanceof NoopMeter);
  if (enabled) {
    const observable = (m: Spec): ObservableCounter => meter.createObservableCounter(m.name, { unit: m.unit, description: m.description });
    const [sent, receivers, consumed] = [observable(METRICS.sent), observable(METRICS.pubsubReceivers), observable(METRICS.consumed)];
    const [drops, framesDropped] = [observable(METRICS.pubsubDrops), observable(METRICS.wsFramesDropped)];
    meter.addBatchObservableCallback(
      (result: BatchObservableResult) => {
        counts.sent.observe(result, sent);
        counts.receivers.observe(result, receivers);
        counts.consumed.observe(result, consumed);
        counts.drops.observe(result, drops);
        counts.framesDropped.observe(result, framesDropped);
      },
      [sent, receivers, consumed, drops, framesDropped],
    );
  }
  instruments = {
    enabled,
    gaps: counter(METRICS.pubsubGaps),
  };
  return instruments;
}

type Spec = { name: string; unit: string; description: string };

/**
 * The process's counts per adapter kind (and error.type), and its websocket drops per policy, kept
 * for its life: counters never go back.
 */
const counts = { sent: new Tallies(), receivers: new Tallies(), consumed: new Tallies(), drops: new Tallies(), framesDropped: new Tallies() };

/** The counts of one adapter kind's messages: plain numbers to add to, reported at collection. */
export interface SystemCounts {
  /** Broadcasts the adapter accepted. */
  readonly sent: Tally;
  /** Subscribers those broadcasts reached (what `broadcast()` resolved to), summed. */
  readonly receivers: Tally;
  /** Handler calls of this process. */
  readonly consumed: Tally;
  /** Broadcasts that failed with `type` (core's errorType). */
  failed(type: string): Tally;
}

/** The counts of `system`'s messages, or undefined when no MeterProvider was registered (nothing is counted). */
export function pubsubCounts(system: string): SystemCounts | undefined {
  if (!pubsubInstruments().enabled) return undefined;
  const send = { 'messaging.system': system, 'messaging.operation.name': 'broadcast', 'events.tier': 'pubsub' };
  return {
    sent: counts.sent.of(system, () => send),
    receivers: counts.receivers.of(system, () => send),
    consumed: counts.consumed.of(system, () => ({ 'messaging.system': system, 'messaging.operation.name': 'handle', 'events.tier': 'pubsub' })),
    failed: (type) => counts.sent.of(`${system}\u0000${type}`, () => ({ ...send, 'error.type': type })),
  };
}

/**
 * `count` messages a websocket client's send buffer dropped under `policy` (`attributes`: its
 * policy's): added to plain numbers, so a flood of drops for many slow clients costs no SDK call
 * each. Nothing is counted without a MeterProvider.
 */
export function countDrops(policy: string, attributes: Attributes, count: number): void {
  if (!pubsubInstruments().enabled) return;
  counts.drops.of(policy, () => attributes).value += count;
  counts.framesDropped.of('', () => GATEWAY_ATTRIBUTES).value += count;
}

const GATEWAY_ATTRIBUTES = { 'events.tier': 'pubsub' } as const;

/** What one gateway reports at collection time. */
export interface GatewayGauges {
  /** Clients connected now. */
  clients(): number;
  /** Messages replaced by a newer one under `conflate`, since the gateway started. */
  conflations(): number;
}

const gateways = new Set<GatewayGauges>();
let observing = false;
/** Conflations of gateways already closed, so the counter never goes back. */
let retiredConflations = 0;

const CONFLATE = { 'events.tier': 'pubsub', 'events.pubsub.policy': 'conflate' } as const;

/** Counts a gateway in the observable instruments until the returned function is called. */
export function observeGateway(gauges: GatewayGauges): () => void {
  if (!observing) {
    observing = true;
    const meter = platformMeter();
    meter
      .createObservableUpDownCounter(METRICS.wsClients.name, { unit: METRICS.wsClients.unit, description: METRICS.wsClients.description })
      .addCallback((result) => result.observe(sumOver((g) => g.clients()), GATEWAY_ATTRIBUTES));
    meter
      .createObservableCounter(METRICS.pubsubConflations.name, { unit: METRICS.pubsubConflations.unit, description: METRICS.pubsubConflations.description })
      .addCallback((result) => result.observe(retiredConflations + sumOver((g) => g.conflations()), CONFLATE));
  }
  gateways.add(gauges);
  return () => {
    if (!gateways.delete(gauges)) return;
    try {
      retiredConflations += gauges.conflations();
    } catch {
      // Its last figure is lost, nothing else.
    }
  };
}

/** A gateway's figure that throws is left out of this collection, never thrown into the SDK. */
function sumOver(read: (g: GatewayGauges) => number): number {
  let sum = 0;
  for (const gateway of gateways) {
    try {
      sum += read(gateway);
    } catch {
      // One gateway's fault: the others still count.
    }
  }
  return sum;
}
