/**
 * The pubsub tier's instruments, named in core's METRICS table and made through core's
 * platformMeter(): no-ops until the application registers a MeterProvider. Made once per process,
 * on first use. The websocket gateways of a process report through one observable instrument
 * each (clients, conflations), summed over the gateways alive at collection time.
 */
import { METRICS, platformMeter } from '@events/core';
import { type Counter, createNoopMeter, type Histogram } from '@opentelemetry/api';

const NoopMeter = createNoopMeter().constructor;

export interface PubSubInstruments {
  /**
   * False when core's meter is the API's no-op one (no MeterProvider was registered before the
   * platform first asked): then callers skip recording altogether.
   */
  readonly enabled: boolean;
  readonly sent: Counter;
  readonly receivers: Histogram;
  readonly consumed: Counter;
  readonly gaps: Counter;
  readonly drops: Counter;
  readonly framesDropped: Counter;
}

let instruments: PubSubInstruments | undefined;

export function pubsubInstruments(): PubSubInstruments {
  if (instruments) return instruments;
  const meter = platformMeter();
  const counter = (m: { name: string; unit: string; description: string }): Counter => meter.createCounter(m.name, { unit: m.unit, description: m.description });
  instruments = {
    enabled: !(meter instanceof NoopMeter),
    sent: counter(METRICS.sent),
    receivers: meter.createHistogram(METRICS.pubsubReceivers.name, {
      unit: METRICS.pubsubReceivers.unit,
      description: METRICS.pubsubReceivers.description,
      advice: { explicitBucketBoundaries: [0, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 10_000] },
    }),
    consumed: counter(METRICS.consumed),
    gaps: counter(METRICS.pubsubGaps),
    drops: counter(METRICS.pubsubDrops),
    framesDropped: counter(METRICS.wsFramesDropped),
  };
  return instruments;
}

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

const CLIENTS = { 'events.tier': 'pubsub' } as const;
const CONFLATE = { 'events.tier': 'pubsub', 'events.pubsub.policy': 'conflate' } as const;

/** Counts a gateway in the observable instruments until the returned function is called. */
export function observeGateway(gauges: GatewayGauges): () => void {
  if (!observing) {
    observing = true;
    const meter = platformMeter();
    meter
      .createObservableUpDownCounter(METRICS.wsClients.name, { unit: METRICS.wsClients.unit, description: METRICS.wsClients.description })
      .addCallback((result) => result.observe(sumOver((g) => g.clients()), CLIENTS));
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
