/**
 * Name rules for channels (pubsub), events (bus) and jobs (queue), and the pattern syntax of each
 * tier. Names are checked at the call site so a bad one fails loudly before anything is sent.
 *
 * - Channel: 1..512 printable characters, no whitespace, none of the glob characters `*?[]\`.
 *   Segments are conventionally separated by `:` (`user:42:notifications`).
 * - Channel pattern: a Redis PSUBSCRIBE glob (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes),
 *   matched here exactly as Redis matches it.
 * - Event name: dot-separated segments of `[A-Za-z0-9_-]`, at most 255 bytes (the AMQP routing key
 *   limit), e.g. `UserSignedUp` or `users.UserSignedUp`.
 * - Event pattern: event segments, `*` for exactly one segment, `#` for zero or more. This is the
 *   AMQP topic binding-key syntax, so the RabbitMQ adapter binds patterns as they are.
 * - Job name: starts with a letter or `_`, then `[A-Za-z0-9_.:-]`, at most 128 characters.
 */
import { InvalidNameError, InvalidPatternError } from './errors.js';

export const MAX_CHANNEL_LENGTH = 512;
export const MAX_EVENT_NAME_BYTES = 255;
export const MAX_JOB_NAME_LENGTH = 128;

const GLOB_CHARS = /[*?[\]\\]/;
// Whitespace and control characters (C0, DEL, C1) never belong in a name.
const FORBIDDEN_CHARS = /[\s\u0000-\u001f\u007f-\u009f]/;
const EVENT_SEGMENT = /^[A-Za-z0-9_-]+$/;
const JOB_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

function checkCommon(what: string, value: unknown, max: number): asserts value is string {
  if (typeof value !== 'string') throw new InvalidNameError(what, String(value), `must be a string, got ${typeof value}`);
  if (value.length === 0) throw new InvalidNameError(what, value, 'must not be empty');
  if (value.length > max) throw new InvalidNameError(what, `${value.slice(0, 32)}...`, `is ${value.length} characters long; the limit is ${max}`);
  const bad = FORBIDDEN_CHARS.exec(value);
  if (bad) throw new InvalidNameError(what, value, `contains whitespace or a control character at index ${bad.index}`);
}

export function validateChannelName(value: unknown): string {
  checkCommon('channel name', value, MAX_CHANNEL_LENGTH);
  const glob = GLOB_CHARS.exec(value);
  if (glob) {
    throw new InvalidNameError('channel name', value, `contains the glob character "${glob[0]}" at index ${glob.index}; subscribe to patterns, broadcast to concrete channels`);
  }
  return value;
}

export function isChannelPattern(value: string): boolean {
  return GLOB_CHARS.test(value);
}

/** Compiles a Redis-style glob into a matcher. Throws InvalidPatternError on a malformed glob. */
export function compileChannelPattern(pattern: unknown): (channel: string) => boolean {
  if (typeof pattern !== 'string') throw new InvalidPatternError('channel pattern', String(pattern), `must be a string, got ${typeof pattern}`);
  if (pattern.length === 0) throw new InvalidPatternError('channel pattern', pattern, 'must not be empty');
  if (pattern.length > MAX_CHANNEL_LENGTH) throw new InvalidPatternError('channel pattern', `${pattern.slice(0, 32)}...`, `is ${pattern.length} characters long; the limit is ${MAX_CHANNEL_LENGTH}`);
  if (FORBIDDEN_CHARS.test(pattern)) throw new InvalidPatternError('channel pattern', pattern, 'contains whitespace or a control character');
  let source = '^';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw new InvalidPatternError('channel pattern', pattern, 'ends with a lone "\\"');
      source += escapeRegExp(next);
      i += 1;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) throw new InvalidPatternError('channel pattern', pattern, `"[" at index ${i} is never closed`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body.length === 0) throw new InvalidPatternError('channel pattern', pattern, `empty character class at index ${i}`);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else if (c === ']') {
      throw new InvalidPatternError('channel pattern', pattern, `unmatched "]" at index ${i}`);
    } else source += escapeRegExp(c);
  }
  const re = new RegExp(`${source}$`, 's');
  return (channel) => re.test(channel);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function validateEventName(value: unknown): string {
  checkCommon('event name', value, MAX_EVENT_NAME_BYTES);
  if (Buffer.byteLength(value) > MAX_EVENT_NAME_BYTES) throw new InvalidNameError('event name', value, `is longer than ${MAX_EVENT_NAME_BYTES} bytes`);
  value.split('.').forEach((segment, i) => {
    if (segment.length === 0) throw new InvalidNameError('event name', value, `segment ${i} is empty (leading, trailing or doubled ".")`);
    if (segment === '*' || segment === '#') throw new InvalidNameError('event name', value, `"${segment}" is a wildcard; emit concrete names, subscribe with patterns`);
    if (!EVENT_SEGMENT.test(segment)) throw new InvalidNameError('event name', value, `segment "${segment}" may contain only letters, digits, "_" and "-"`);
  });
  return value;
}

export function isEventPattern(value: string): boolean {
  return value.split('.').some((s) => s === '*' || s === '#');
}

/** Validates a bus pattern (`users.*`, `#.Created`, `UserSignedUp`) and returns its segments. */
export function validateEventPattern(value: unknown): string[] {
  if (typeof value !== 'string') throw new InvalidPatternError('event pattern', String(value), `must be a string, got ${typeof value}`);
  if (value.length === 0) throw new InvalidPatternError('event pattern', value, 'must not be empty');
  if (Buffer.byteLength(value) > MAX_EVENT_NAME_BYTES) throw new InvalidPatternError('event pattern', `${value.slice(0, 32)}...`, `is longer than ${MAX_EVENT_NAME_BYTES} bytes`);
  const segments = value.split('.');
  segments.forEach((segment, i) => {
    if (segment.length === 0) throw new InvalidPatternError('event pattern', value, `segment ${i} is empty (leading, trailing or doubled ".")`);
    if (segment === '*' || segment === '#') return;
    if (segment.includes('*') || segment.includes('#')) {
      throw new InvalidPatternError('event pattern', value, `"${segment}": "*" and "#" must stand alone as a whole segment`);
    }
    if (!EVENT_SEGMENT.test(segment)) throw new InvalidPatternError('event pattern', value, `segment "${segment}" may contain only letters, digits, "_" and "-"`);
  });
  return segments;
}

/** Compiles a bus pattern into a matcher with AMQP topic semantics. */
export function compileEventPattern(pattern: unknown): (eventName: string) => boolean {
  const segments = validateEventPattern(pattern);
  if (!segments.some((s) => s === '*' || s === '#')) return (name) => name === pattern;
  return (name) => matchSegments(name.split('.'), segments);
}

function matchSegments(name: string[], pattern: string[]): boolean {
  const match = (ni: number, pi: number): boolean => {
    if (pi === pattern.length) return ni === name.length;
    const p = pattern[pi];
    if (p === '#') {
      for (let k = ni; k <= name.length; k += 1) if (match(k, pi + 1)) return true;
      return false;
    }
    if (ni === name.length) return false;
    if (p !== '*' && p !== name[ni]) return false;
    return match(ni + 1, pi + 1);
  };
  return match(0, 0);
}

export function validateJobName(value: unknown): string {
  checkCommon('job name', value, MAX_JOB_NAME_LENGTH);
  if (!JOB_NAME.test(value)) {
    throw new InvalidNameError('job name', value, 'must start with a letter or "_" and contain only letters, digits, "_", ".", ":" and "-"');
  }
  return value;
}
