/**
 * The journal: what each tier tells an operator's tool about one message's path, step by step,
 * without any tracing backend. A tier given a `journal` records a step when it emits, enqueues or
 * broadcasts a message and when a handler invocation or a job attempt ends. The platform builds
 * one (a bounded recent index, in memory or in Redis) and the dashboard reads journeys from it.
 *
 * Recording is fire-and-forget and must never throw into the tier, nor slow it down: an
 * implementation buffers (with a bound) and writes in the background, dropping (and counting)
 * what it cannot keep.
 */

/** Which point of a message's path a step is. */
export type JourneyStepKind =
  /** bus: an event accepted by the transport (or refused: outcome 'error'). */
  | 'emit'
  /** bus: one handler invocation of one consumer group. */
  | 'handle'
  /** queue: a job stored by the backend. */
  | 'enqueue'
  /** queue: one attempt of a job. */
  | 'attempt'
  /** queue: a dead letter replayed as a new job. */
  | 'replay'
  /** pubsub: a message published to a channel. */
  | 'broadcast';

/** How a step ended. */
export type JourneyOutcome =
  | 'ok'
  /** Failed; another attempt follows. */
  | 'retry'
  /** Failed; no attempt follows: the message is a dead letter now. */
  | 'dead_letter'
  /** Failed outright (a refused emit, enqueue or broadcast). */
  | 'error';

export interface JourneyStep {
  readonly kind: JourneyStepKind;
  readonly tier: 'pubsub' | 'bus' | 'queue';
  /** The adapter: `memory`, `redis`, `rabbitmq`, `bullmq`, `postgres`. */
  readonly system: string;
  /** Event name, job name or channel. */
  readonly name: string;
  /** The envelope's id (for a job, the job's envelope id). */
  readonly envelopeId: string;
  /** The flow's id: the envelope's correlation id, or its own id when it starts a flow. */
  readonly correlationId: string;
  /** The id of the message that caused this one. */
  readonly causationId?: string | undefined;
  /** queue: the job's id. */
  readonly jobId?: string | undefined;
  /** bus: the consumer group. */
  readonly group?: string | undefined;
  /** 1 = first attempt. */
  readonly attempt?: number | undefined;
  /** Epoch milliseconds at which the step started. */
  readonly at: number;
  /** How long it took (a handler or attempt), when measured. */
  readonly durationMs?: number | undefined;
  readonly outcome: JourneyOutcome;
  /** The error's message, at most 1,000 characters. */
  readonly error?: string | undefined;
  /** The W3C trace id, when the step was traced. */
  readonly traceId?: string | undefined;
  /** Values an operator searches by (an email), from the application's `keys` function. */
  readonly keys?: readonly string[] | undefined;
}

/** Where steps go. `record` never throws and never waits. */
export interface Journal {
  record(step: JourneyStep): void;
  /**
   * The values an operator may search a message by (an email), from its name and payload; asked
   * once per emit, enqueue or broadcast. Optional; at most 8 keys of 200 characters are kept.
   */
  keysOf?(name: string, payload: unknown): readonly string[];
}

/** Longest error text a step keeps. */
export const JOURNEY_ERROR_MAX = 1000;

/**
 * An error as a step keeps it: its message, cut to JOURNEY_ERROR_MAX characters. Never throws: a
 * hostile error (a throwing getter or toString, a revoked proxy) is `unreadable error`.
 */
export function journeyError(error: unknown): string {
  try {
    const text: unknown = error instanceof Error ? error.message : String(error);
    const s = typeof text === 'string' ? text : String(text);
    return s.length > JOURNEY_ERROR_MAX ? s.slice(0, JOURNEY_ERROR_MAX) : s;
  } catch {
    return 'unreadable error';
  }
}

/** Records a step, containing whatever the journal does wrong: a journal never breaks a tier. */
export function recordStep(journal: Journal | undefined, step: JourneyStep): void {
  if (journal === undefined) return;
  try {
    journal.record(step);
  } catch {
    // A journal's fault is its own; the message goes on.
  }
}

/** The search keys of a message, bounded and contained (a throwing `keysOf` gives none). */
export function journeyKeys(journal: Journal | undefined, name: string, payload: unknown): readonly string[] | undefined {
  if (journal?.keysOf === undefined) return undefined;
  try {
    const keys = journal.keysOf(name, payload);
    const kept: string[] = [];
    for (const key of keys) {
      if (typeof key !== 'string' || key.length === 0) continue;
      kept.push(key.length > 200 ? key.slice(0, 200) : key);
      if (kept.length === 8) break;
    }
    return kept.length > 0 ? kept : undefined;
  } catch {
    return undefined;
  }
}
