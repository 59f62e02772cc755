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
  const bad = kindOf(value);
  if (bad) throw new SerializationError(root, bad);
  if (value !== null && typeof value === 'object') walk(value, { parent: undefined, key: root, value });
}

/**
 * Where the walk is: a chain of links from the root, one per object entered. The path text is
 * built from it only when an error is thrown, so a valid payload costs no string building.
 */
interface Link {
  readonly parent: Link | undefined;
  /** The root's name for the root link, else the key or index in the parent. */
  readonly key: string | number;
  readonly value: object;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function pathOf(link: Link, key?: string | number): string {
  const keys: Array<string | number> = key === undefined ? [] : [key];
  let at = link;
  for (; at.parent !== undefined; at = at.parent) keys.push(at.key);
  let text = String(at.key);
  for (let i = keys.length - 1; i >= 0; i -= 1) text += segment(keys[i]!);
  return text;
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

/**
 * Whether the object of `link` is one of its own ancestors. Walking the chain costs the depth,
 * which for real payloads is a few links: cheaper than adding every object to a Set.
 */
function closesCycle(link: Link): boolean {
  for (let at = link.parent; at !== undefined; at = at.parent) if (at.value === link.value) return true;
  return false;
}

/** Checks the object of `link` (whose own kind is already checked) and everything under it. */
function walk(value: object, link: Link): void {
  if (closesCycle(link)) throw new SerializationError(pathOf(link), 'circular reference');
  // Objects with their own toJSON (Date, Buffer...) serialize as what toJSON returns.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    if (value instanceof Date && Number.isNaN(value.getTime())) throw new SerializationError(pathOf(link), 'Invalid Date');
    return;
  }
  if (value instanceof Map) throw new SerializationError(pathOf(link), 'Map');
  if (value instanceof Set) throw new SerializationError(pathOf(link), 'Set');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      // JSON turns undefined / functions in arrays into null: refuse rather than change the data.
      if (item === undefined) throw new SerializationError(pathOf(link, i), 'undefined');
      check(item, link, i);
    }
  } else {
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      const child = (value as Record<string, unknown>)[key];
      // undefined properties are dropped by JSON, as users expect from JSON.stringify.
      if (child === undefined) continue;
      check(child, link, key);
    }
  }
}

function check(child: unknown, parent: Link, key: string | number): void {
  if (typeof child === 'object') {
    if (child !== null) walk(child, { parent, key, value: child });
    return;
  }
  if (typeof child === 'string' || typeof child === 'boolean') return;
  const bad = kindOf(child);
  if (bad) throw new SerializationError(pathOf(parent, key), bad);
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
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = {
    id,
    name,
    payload: parsed.payload,
    occurredAt,
    headers: (headers as Record<string, string> | undefined) ?? {},
  };
  if (correlationId !== undefined) envelope.correlationId = correlationId;
  if (causationId !== undefined) envelope.causationId = causationId;
  return envelope;
}

export const jsonSerializer: Serializer = {
  contentType: 'application/json',
  encode(envelope) {
    assertSerializable(envelope.payload);
    const headers = envelope.headers;
    const keys = Object.keys(headers);
    for (let i = 0; i < keys.length; i += 1) {
      const v: unknown = headers[keys[i]!];
      if (typeof v !== 'string') throw new SerializationError(`headers.${keys[i]!}`, typeof v);
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
