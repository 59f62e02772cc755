/**
 * The copies an in-process adapter (memoryPubSub) needs without going through bytes.
 *
 * Default mode: a handler gets what `jsonSerializer.decode(jsonSerializer.encode(envelope))` would
 * give, made by a JSON round trip of the payload alone: the other fields of an envelope are strings
 * (headers checked to be), so copying them is the same round trip without the envelope text and
 * the UTF-8 bytes. Zero-copy mode: the sender's envelope itself, deep-frozen when asked.
 */
import { type Envelope, SerializationError } from '@events/core';

/** Throws SerializationError for a header that is not a string (as the JSON serializer's encode does). */
export function assertHeaders(headers: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(headers)) {
    if (typeof headers[key] !== 'string') throw new SerializationError(`headers.${key}`, typeof headers[key]);
  }
}

/** A JSON round trip of `envelope`, whose payload passed assertSerializable and headers assertHeaders. */
export function jsonCopy(envelope: Envelope): Envelope {
  const text = JSON.stringify(envelope.payload);
  // A toJSON returning undefined: the payload would vanish from the envelope text.
  if (text === undefined) throw new SerializationError('payload', 'undefined (from toJSON)');
  const copy: { -readonly [K in keyof Envelope]: Envelope[K] } = {
    id: envelope.id,
    name: envelope.name,
    payload: JSON.parse(text) as unknown,
    occurredAt: envelope.occurredAt,
    // Spread makes data properties, "__proto__" included, as JSON.parse does.
    headers: { ...envelope.headers },
  };
  if (envelope.correlationId !== undefined) copy.correlationId = envelope.correlationId;
  if (envelope.causationId !== undefined) copy.causationId = envelope.causationId;
  return copy;
}

/**
 * Freezes a zero-copy envelope and everything reachable from its payload, so a handler that
 * mutates the sender's object throws in development instead of changing what the sender and the
 * other handlers see. Typed arrays and Buffers cannot be frozen and are left as they are; cycles
 * are fine. (The bus's memory adapter has the same rule.)
 */
export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return Object.freeze(value);
}
