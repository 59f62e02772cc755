/**
 * The one rule for messages from a foreign producer, shared by every tier (see ForeignMessageRule
 * in contract.ts): an envelope is read as one, any other JSON value is a bare payload wrapped in a
 * new envelope, and an envelope that disagrees with the transport about its name, or carries
 * headers that are not strings, is refused with a DecodeError.
 */
import { createEnvelope, type Envelope } from './envelope.js';
import { DecodeError } from './errors.js';
import { toEnvelope } from './serializer.js';

export interface TransportFacts {
  /** The name the transport routed the message by: routing key, channel or job name. */
  readonly name: string;
  /** The transport's own message id (AMQP message_id, BullMQ job id), used for a bare payload. */
  readonly id?: string;
}

function looksLikeEnvelope(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v['id'] === 'string' && typeof v['name'] === 'string' && 'payload' in v;
}

/**
 * Reads a parsed JSON value that arrived on a transport. `raw` is kept on any DecodeError.
 * A foreign envelope may leave out `occurredAt` (it becomes now) and `headers` (`{}`).
 */
export function envelopeFromTransport(parsed: unknown, raw: Buffer, facts: TransportFacts): Envelope {
  if (!looksLikeEnvelope(parsed)) {
    return createEnvelope(facts.name, parsed, facts.id === undefined ? {} : { id: facts.id });
  }
  const filled = typeof parsed['occurredAt'] === 'string' ? parsed : { ...parsed, occurredAt: new Date().toISOString() };
  const envelope = toEnvelope(filled, raw);
  if (envelope.name !== facts.name) {
    throw new DecodeError(`envelope name ${JSON.stringify(envelope.name)} differs from the transport's ${JSON.stringify(facts.name)}`, raw);
  }
  const headers = envelope.headers;
  for (const key of Object.keys(headers)) {
    if (typeof headers[key] !== 'string') throw new DecodeError(`header ${JSON.stringify(key)} is not a string`, raw);
  }
  return envelope;
}
