/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) as the gateway forwards it to a
 * websocket client and the client hands it to its message handler. Only what parses is kept: a
 * `traceparent` is rebuilt from its parsed fields (version 00), a `tracestate` is kept only beside
 * a valid `traceparent` and only when every member is well formed, so nothing a foreign producer
 * wrote in an envelope's headers reaches a browser unchecked. Imports nothing (the browser client
 * uses it as it is).
 */

/** The trace context of a message, as a `message` frame and ClientMessageMeta.trace carry it. */
export interface TraceContextFields {
  /** `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
  readonly traceparent: string;
  /** Vendor entries, `key=value` comma-separated, at most 32 of them and 512 characters. */
  readonly tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';
/** Longest traceparent read: a future version may append fields, never this many. */
const TRACEPARENT_MAX = 256;
const TRACESTATE_MAX = 512;
const TRACESTATE_MEMBERS = 32;
const KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * A `traceparent` as version 00, or undefined when it is not one W3C allows (version ff, a zero
 * trace or parent id, upper case, a version 00 with trailing data, anything not a string).
 */
export function readTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > TRACEPARENT_MAX) return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return `00-${traceId}-${spanId}-${flags}`;
}

/** A `tracestate` whose every member is well formed and keys unique (blank members skipped), or undefined. */
export function readTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > TRACESTATE_MAX) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member.length === 0) continue;
    const eq = member.indexOf('=');
    const key = member.slice(0, eq);
    if (eq <= 0 || keys.has(key) || !KEY.test(key) || !VALUE.test(member.slice(eq + 1))) return undefined;
    keys.add(key);
    members.push(member);
    if (members.length > TRACESTATE_MEMBERS) return undefined;
  }
  return members.length > 0 ? members.join(',') : undefined;
}

/** The trace context of a pair of header values, or undefined without a valid `traceparent`. */
export function readTraceContext(traceparent: unknown, tracestate: unknown): TraceContextFields | undefined {
  const parent = readTraceparent(traceparent);
  if (parent === undefined) return undefined;
  const state = readTracestate(tracestate);
  return state === undefined ? { traceparent: parent } : { traceparent: parent, tracestate: state };
}
