/**
 * Every error the platform raises on purpose is an EventsError with a stable `code`, so callers
 * can branch on `err.code` instead of matching message text.
 */
export type EventsErrorCode =
  | 'SERIALIZATION'
  | 'DECODE'
  | 'VALIDATION'
  | 'INVALID_NAME'
  | 'INVALID_PATTERN'
  | 'INVALID_OPTION'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'BACKPRESSURE'
  | 'CYCLE'
  | 'UNAUTHORIZED'
  | 'CONFIG';

export class EventsError extends Error {
  readonly code: EventsErrorCode;

  constructor(code: EventsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A payload that cannot travel as JSON; `path` names the offending value (`payload.user.balance`). */
export class SerializationError extends EventsError {
  readonly path: string;
  readonly kind: string;

  constructor(path: string, kind: string, options?: { cause?: unknown }) {
    super('SERIALIZATION', `${path}: ${kind} cannot be serialized`, options);
    this.path = path;
    this.kind = kind;
  }
}

/** Bytes that arrived but are not a valid envelope. `raw` is kept whole for a dead-letter place. */
export class DecodeError extends EventsError {
  readonly raw: Buffer;

  constructor(reason: string, raw: Buffer, options?: { cause?: unknown }) {
    super('DECODE', `cannot decode message: ${reason}`, options);
    this.raw = raw;
  }
}

export interface ValidationIssueSummary {
  /** Dotted path of the failing field, or `(root)`. */
  readonly path: string;
  readonly message: string;
}

/** A payload rejected by the schema registered for its event, channel or job name. */
export class ValidationError extends EventsError {
  readonly eventName: string;
  readonly issues: readonly ValidationIssueSummary[];

  constructor(eventName: string, issues: readonly ValidationIssueSummary[]) {
    const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super('VALIDATION', `invalid payload for "${eventName}": ${detail}`);
    this.eventName = eventName;
    this.issues = issues;
  }
}

export class InvalidNameError extends EventsError {
  readonly value: string;

  constructor(what: string, value: string, reason: string) {
    super('INVALID_NAME', `invalid ${what} ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }
}

export class InvalidPatternError extends EventsError {
  readonly value: string;

  constructor(what: string, value: string, reason: string) {
    super('INVALID_PATTERN', `invalid ${what} ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }
}

export class InvalidOptionError extends EventsError {
  constructor(option: string, reason: string) {
    super('INVALID_OPTION', `invalid option ${option}: ${reason}`);
  }
}

/** The tier was closed (or is closing) and takes no new work. */
export class ClosedError extends EventsError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed`);
  }
}

export class TimeoutError extends EventsError {
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super('TIMEOUT', `${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Buffers are full and the caller asked to shed load rather than wait. */
export class BackpressureError extends EventsError {
  constructor(what: string) {
    super('BACKPRESSURE', `${what}: buffer full`);
  }
}

/** An event whose causation chain is deeper than the configured limit: events triggering events in a loop. */
export class CycleError extends EventsError {
  readonly depth: number;

  constructor(eventName: string, depth: number, maxDepth: number) {
    super('CYCLE', `event "${eventName}" refused: causation depth ${depth} exceeds ${maxDepth} (a loop of events triggering events?)`);
    this.depth = depth;
  }
}

export class UnauthorizedError extends EventsError {
  constructor(what: string) {
    super('UNAUTHORIZED', `not authorized: ${what}`);
  }
}

export class ConfigError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** Text of any thrown value, never throwing itself (a null-prototype object, a throwing toString). */
function thrownText(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return 'unreadable thrown value';
    }
  }
}

/**
 * What a handler threw, as an Error every layer below may read safely: an Error whose name,
 * message and stack read as strings is returned as it is (its class kept, so a final-error check
 * still sees it); anything else (`throw undefined`, a null-prototype object, an Error whose
 * getters throw) becomes a plain Error with the best text that can be had.
 */
export function wellFormedError(caught: unknown): Error {
  if (caught instanceof Error) {
    try {
      if (typeof caught.name === 'string' && typeof caught.message === 'string' && (caught.stack === undefined || typeof caught.stack === 'string')) return caught;
    } catch {
      // A getter threw: fall through to a copy.
    }
    let message = 'unreadable error';
    try {
      if (typeof caught.message === 'string') message = caught.message;
    } catch {
      // keep the placeholder
    }
    return new Error(message);
  }
  return new Error(thrownText(caught));
}
