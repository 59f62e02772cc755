/**
 * The queue's journal steps (core's Journal): an `enqueue` step per job stored (or refused), a
 * `replay` step instead when the job is a dead letter's replay (caused by the dead letter, in its
 * flow), an `attempt` step per attempt this queue's workers run. Recording goes through core's
 * recordStep, so a journal that throws never reaches the queue; nothing here waits.
 */
import { journeyError, recordStep, traceIdOf, type Envelope, type Failure, type Journal, type JourneyOutcome, type Span } from '@events/core';

export interface EnqueueFacts {
  readonly kind: 'enqueue' | 'replay';
  readonly system: string;
  readonly envelope: Envelope;
  /** The id the backend answered with (the envelope's id unless it was already stored). */
  readonly jobId: string;
  readonly keys: readonly string[] | undefined;
  readonly at: number;
  readonly durationMs: number;
  readonly span: Span | undefined;
  /** Set when the transport refused it (whatever was thrown). */
  readonly failure?: Failure | undefined;
}

export function recordEnqueue(journal: Journal, facts: EnqueueFacts): void {
  const { envelope } = facts;
  recordStep(journal, {
    kind: facts.kind,
    tier: 'queue',
    system: facts.system,
    name: envelope.name,
    envelopeId: envelope.id,
    correlationId: envelope.correlationId ?? envelope.id,
    causationId: envelope.causationId,
    jobId: facts.jobId,
    at: facts.at,
    durationMs: facts.durationMs,
    outcome: facts.failure === undefined ? 'ok' : 'error',
    error: facts.failure === undefined ? undefined : journeyError(facts.failure.error),
    traceId: traceIdOf(facts.span),
    keys: facts.keys,
  });
}

export interface AttemptFacts {
  readonly system: string;
  readonly name: string;
  readonly jobId: string;
  /** The job's envelope, when its data could be decoded. */
  readonly envelope: Envelope | undefined;
  readonly attempt: number;
  readonly at: number;
  readonly durationMs: number;
  readonly outcome: JourneyOutcome;
  /** What the attempt threw (read unless the outcome is `ok`). */
  readonly error?: unknown;
  readonly span: Span;
}

export function recordAttempt(journal: Journal, facts: AttemptFacts): void {
  const { envelope } = facts;
  recordStep(journal, {
    kind: 'attempt',
    tier: 'queue',
    system: facts.system,
    name: facts.name,
    envelopeId: envelope?.id ?? facts.jobId,
    correlationId: envelope?.correlationId ?? envelope?.id ?? facts.jobId,
    causationId: envelope?.causationId,
    jobId: facts.jobId,
    attempt: facts.attempt,
    at: facts.at,
    durationMs: facts.durationMs,
    outcome: facts.outcome,
    error: facts.outcome === 'ok' ? undefined : journeyError(facts.error),
    traceId: traceIdOf(facts.span),
  });
}
