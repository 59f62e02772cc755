/**
 * Metrics of every tier, through `@opentelemetry/api` alone: a no-op until the application
 * registers a MeterProvider. Names and units follow the OpenTelemetry semantic conventions for
 * messaging where one exists (`messaging.client.sent.messages`, `messaging.process.duration`...);
 * what they do not cover is named under `events.` with the same rules (dots, units in UCUM, counts
 * in curly braces). Attributes: `messaging.system`, `messaging.destination.name`,
 * `messaging.consumer.group.name`, `messaging.operation.name`, `events.tier`, and
 * `error.type` on failures.
 */
import { metrics, type Meter } from '@opentelemetry/api';
import { TELEMETRY_SCOPE } from './telemetry.js';

let meter: Meter | undefined;

/** The platform's meter (a proxy: a MeterProvider registered later is still used). */
export function platformMeter(): Meter {
  return (meter ??= metrics.getMeter(TELEMETRY_SCOPE));
}

/** Every instrument's name and unit, in one place. */
export const METRICS = {
  // Semantic conventions for messaging.
  sent: { name: 'messaging.client.sent.messages', unit: '{message}', description: 'Messages a producer handed to the transport (emit, enqueue, broadcast).' },
  consumed: { name: 'messaging.client.consumed.messages', unit: '{message}', description: 'Messages delivered to a handler (per consumer group, per subscriber).' },
  processDuration: { name: 'messaging.process.duration', unit: 's', description: 'Duration of one handler invocation or job attempt.' },
  operationDuration: { name: 'messaging.client.operation.duration', unit: 's', description: 'Duration of a send until the transport accepted it.' },
  // Queue.
  queueDepth: { name: 'events.queue.depth', unit: '{job}', description: 'Jobs waiting (waiting + delayed + prioritized) per job name.' },
  queueOldestAge: { name: 'events.queue.oldest_waiting.age', unit: 's', description: 'Age of the oldest waiting job per job name.' },
  queueDeadLetters: { name: 'events.queue.dead_letters', unit: '{job}', description: 'Jobs that failed their last attempt, per job name.' },
  queueAttempts: { name: 'events.queue.job.attempts', unit: '{attempt}', description: 'Attempts a job took, recorded when it completes or dead-letters.' },
  // Bus.
  busRetries: { name: 'events.bus.retries', unit: '{delivery}', description: 'Handler invocations that failed and will be tried again, per group.' },
  busDeadLetters: { name: 'events.bus.dead_letters', unit: '{event}', description: 'Events dead-lettered by a consumer group.' },
  busLag: { name: 'events.bus.consumer.lag', unit: '{event}', description: 'Events accepted but not yet handled, per consumer group.' },
  // Pubsub.
  pubsubReceivers: { name: 'events.pubsub.receivers', unit: '{subscriber}', description: 'Subscribers a broadcast reached.' },
  pubsubGaps: { name: 'events.pubsub.gaps', unit: '{gap}', description: 'Gaps reported to subscribers (transport down, resume refused).' },
  pubsubDrops: { name: 'events.pubsub.drops', unit: '{message}', description: 'Messages dropped by a slow-subscriber policy, per policy.' },
  pubsubConflations: { name: 'events.pubsub.conflations', unit: '{message}', description: 'Messages replaced by a newer one under the conflate policy.' },
  wsClients: { name: 'events.websocket.clients', unit: '{connection}', description: 'Websocket clients connected to a gateway.' },
  wsFramesDropped: { name: 'events.websocket.frames_dropped', unit: '{frame}', description: 'Frames not sent to a client because its buffer was full.' },
} as const;
