/**
 * The one shape every message takes in every tier. Adapters carry it as bytes (see serializer.ts);
 * the wire format is plain JSON so a service in another language can read it.
 */
import { createId } from './id.js';

export type Headers = Record<string, string>;

export interface Envelope<P = unknown, N extends string = string> {
  /** Time-ordered unique id (UUIDv7). */
  readonly id: string;
  /** Event name, job name or channel. */
  readonly name: N;
  readonly payload: P;
  /** ISO-8601 timestamp of when the message was created. */
  readonly occurredAt: string;
  readonly headers: Headers;
  /** Id shared by every message of one business flow (a request, a signup...). */
  readonly correlationId?: string;
  /** Id of the message that caused this one. */
  readonly causationId?: string;
}

export interface EnvelopeOptions {
  /** Default: a new time-ordered id. */
  id?: string;
  /** Default: `{}`. */
  headers?: Headers;
  /** Default: none (a flow starts here). */
  correlationId?: string;
  /** Default: none. */
  causationId?: string;
  /** Default: now. A number is epoch milliseconds (what `Date.now()` gave the caller's createId). */
  occurredAt?: Date | number;
}

// Formatting a date is most of what building an envelope costs; under load many envelopes share
// one millisecond, so the text of the last one is kept.
let isoMs = Number.NaN;
let isoText = '';

function isoOf(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

function occurredText(at: Date | number | undefined): string {
  if (at === undefined) return isoOf(Date.now());
  return typeof at === 'number' ? isoOf(at) : at.toISOString();
}

export function createEnvelope<P, N extends string>(name: N, payload: P, options: EnvelopeOptions = {}): Envelope<P, N> {
  const envelope: {
    -readonly [K in keyof Envelope<P, N>]: Envelope<P, N>[K];
  } = {
    id: options.id ?? createId(),
    name,
    payload,
    occurredAt: occurredText(options.occurredAt),
    headers: options.headers ? { ...options.headers } : {},
  };
  if (options.correlationId !== undefined) envelope.correlationId = options.correlationId;
  if (options.causationId !== undefined) envelope.causationId = options.causationId;
  return envelope;
}

/**
 * Options for a message caused by `parent`: same correlation id (or the parent's id when the
 * parent starts the flow), causation id = the parent's id.
 */
export function causedBy(parent: Pick<Envelope, 'id' | 'correlationId'>): Pick<EnvelopeOptions, 'correlationId' | 'causationId'> {
  return { correlationId: parent.correlationId ?? parent.id, causationId: parent.id };
}
