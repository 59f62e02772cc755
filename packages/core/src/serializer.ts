/**
 * The serializer seam. JSON is the default; a serializer turns an envelope into bytes and back.
 *
 * Promise: `encode` refuses any payload that would not come back equal after a JSON round trip
 * (BigInt, cycles, functions, symbols, `undefined` at the top, non-finite numbers, Map/Set), with
 * an error naming the offending path, so nothing half-formed is ever sent. `decode` never throws
 * anything but DecodeError, which keeps the raw bytes for a dead-letter place.
 */
import type { Envelope } from './envelope.js';
import { DecodeError, SerializationError } from './errors.js';

export interface Serializer {
  /** MIME type written to the transport where it has a field for it (AMQP content_type). */
  readonly contentType: string;
  encode(envelope: Envelope): Buffer;
  decode(raw: Buffer | string): Envelope;
}

/**
 * Throws SerializationError when `value` cannot make a faithful JSON round trip.
 * `root` names the value in the message (`payload`).
 */
export function assertSerializable(value: unknown, root = 'payload'): void {
  if (value === undefined) throw new SerializationError(root, 'undefined');
  walk(value, root, new Set());
}

function kindOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'bigint':
      return 'BigInt';
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    case 'number':
      return Number.isFinite(value) ? undefined : String(value);
    default:
      return undefined;
  }
}

function walk(value: unknown, path: string, ancestors: Set<object>): void {
  const bad = kindOf(value);
  if (bad) throw new SerializationError(path, bad);
  if (value === null || typeof value !== 'object') return;
  if (ancestors.has(value)) throw new SerializationError(path, 'circular reference');
  // Objects with their own toJSON (Date, Buffer...) serialize as what toJSON returns.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    if (value instanceof Date && Number.isNaN(value.getTime())) throw new SerializationError(path, 'Invalid Date');
    return;
  }
  if (value instanceof Map) throw new SerializationError(path, 'Map');
  if (value instanceof Set) throw new SerializationError(path, 'Set');
  ancestors.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      // JSON turns undefined / functions in arrays into null: refuse rather than change the data.
      if (item === undefined) throw new SerializationError(`${path}[${i}]`, 'undefined');
      walk(item, `${path}[${i}]`, ancestors);
    });
  } else {
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      // undefined properties are dropped by JSON, as users expect from JSON.stringify.
      if (child === undefined) continue;
      walk(child, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, ancestors);
    }
  }
  ancestors.delete(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks that a parsed value has the envelope's shape; throws DecodeError otherwise. */
export function toEnvelope(parsed: unknown, raw: Buffer): Envelope {
  if (!isRecord(parsed)) throw new DecodeError('not a JSON object', raw);
  const { id, name, occurredAt, headers, correlationId, causationId } = parsed;
  if (typeof id !== 'string' || id.length === 0) throw new DecodeError('missing "id"', raw);
  if (typeof name !== 'string' || name.length === 0) throw new DecodeError('missing "name"', raw);
  if (!('payload' in parsed)) throw new DecodeError('missing "payload"', raw);
  if (typeof occurredAt !== 'string') throw new DecodeError('missing "occurredAt"', raw);
  if (headers !== undefined && !isRecord(headers)) throw new DecodeError('"headers" is not an object', raw);
  if (correlationId !== undefined && typeof correlationId !== 'string') throw new DecodeError('"correlationId" is not a string', raw);
  if (causationId !== undefined && typeof causationId !== 'string') throw new DecodeError('"causationId" is not a string', raw);
  const envelope: Envelope = {
    id,
    name,
    payload: parsed.payload,
    occurredAt,
    headers: (headers as Record<string, string> | undefined) ?? {},
    ...(correlationId !== undefined ? { correlationId } : {}),
    ...(causationId !== undefined ? { causationId } : {}),
  };
  return envelope;
}

export const jsonSerializer: Serializer = {
  contentType: 'application/json',
  encode(envelope) {
    assertSerializable(envelope.payload);
    for (const [k, v] of Object.entries(envelope.headers)) {
      if (typeof v !== 'string') throw new SerializationError(`headers.${k}`, typeof v);
    }
    return Buffer.from(JSON.stringify(envelope), 'utf8');
  },
  decode(raw) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new DecodeError(`not JSON (${(err as Error).message})`, bytes, { cause: err });
    }
    return toEnvelope(parsed, bytes);
  },
};
