/**
 * What a websocket gateway tells OpenTelemetry (docs/tracing.md, "Pubsub"): its clients connected
 * and conflated messages (observable, read at collection time), messages dropped per slow-consumer
 * policy and frames dropped (counted as each is dropped, and the frame that closed a `disconnect`
 * client; plain numbers read at collection, metrics.ts),
 * and the trace context a `message` frame carries to the browser.
 */
import type { Headers } from '@events/core';
import { countDrops, observeGateway } from '../metrics.js';
import { readTraceContext } from '../client/trace-context.js';
import type { BufferPolicy } from './protocol.js';
import type { SendQueueStats } from './send-queue.js';

export interface GatewayTelemetry {
  /** `count` messages of a subscription under `policy` were dropped (not sent to its client). */
  dropped(policy: BufferPolicy, count: number): void;
  /** A client left: its conflations stay in the gateway's total. */
  sessionGone(stats: SendQueueStats): void;
  /** The gateway closed: it leaves the observable instruments. */
  stop(): void;
}

const POLICY_ATTRIBUTES: Readonly<Record<BufferPolicy, Readonly<Record<string, string>>>> = {
  'drop-oldest': { 'events.tier': 'pubsub', 'events.pubsub.policy': 'drop-oldest' },
  'drop-newest': { 'events.tier': 'pubsub', 'events.pubsub.policy': 'drop-newest' },
  conflate: { 'events.tier': 'pubsub', 'events.pubsub.policy': 'conflate' },
  disconnect: { 'events.tier': 'pubsub', 'events.pubsub.policy': 'disconnect' },
};
const GATEWAY = { 'events.tier': 'pubsub' } as const;

export function createGatewayTelemetry(sessions: ReadonlySet<{ stats(): SendQueueStats }>): GatewayTelemetry {
  let goneConflations = 0;
  const stop = observeGateway({
    clients: () => sessions.size,
    conflations() {
      let sum = goneConflations;
      for (const session of sessions) sum += session.stats().conflatedTotal;
      return sum;
    },
  });
  return {
    dropped(policy, count) {
      if (count <= 0) return;
      countDrops(policy, POLICY_ATTRIBUTES[policy] ?? GATEWAY, count);
    },
    sessionGone(stats) {
      goneConflations += stats.conflatedTotal;
    },
    stop,
  };
}

/**
 * Adds the envelope's trace context to a `message` frame, when its headers hold a valid one: the
 * `traceparent` as parsed and rebuilt, the `tracestate` only when every member is well formed.
 */
export function addTraceContext(frame: { traceparent?: string; tracestate?: string }, headers: Readonly<Headers>): void {
  if (headers.traceparent === undefined) return;
  const trace = readTraceContext(headers.traceparent, headers.tracestate);
  if (trace === undefined) return;
  frame.traceparent = trace.traceparent;
  if (trace.tracestate !== undefined) frame.tracestate = trace.tracestate;
}
