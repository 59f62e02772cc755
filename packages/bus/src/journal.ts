/**
 * The bus's journal steps (core's Journal): an `emit` step when the adapter accepted or refused an
 * event, a `handle` step per handler attempt per consumer group. Recording goes through core's
 * recordStep, so a journal that throws never reaches the bus; nothing here waits.
 */
import { journeyError, recordStep, traceIdOf, type Envelope, type Failure, type Journal, type JourneyOutcome, type Span } from '@events/core';

export interface EmitFacts {
  readonly system: string;
  readonly name: string;
  readonly id: string;
  readonly correlationId: string | undefined;
  readonly causationId: string | undefined;
  readonly keys: readonly string[] | undefined;
  /** Epoch ms at which the emit started. */
  readonly at: number;
  readonly durationMs: number;
  readonly span: Span;
  /** Set when the transport refused it (whatever was thrown). */
  readonly failure?: Failure | undefined;
}

export function recordEmit(journal: Journal, facts: EmitFacts): void {
  recordStep(journal, {
    kind: 'emit',
    tier: 'bus',
    system: facts.system,
    name: facts.name,
    envelopeId: facts.id,
    correlationId: facts.correlationId ?? facts.id,
    causationId: facts.causationId,
    at: facts.at,
    durationMs: facts.durationMs,
    outcome: facts.failure === undefined ? 'ok' : 'error',
    error: facts.failure === undefined ? undefined : journeyError(facts.failure.error),
    traceId: traceIdOf(facts.span),
    keys: facts.keys,
  });
}

export interface HandleFacts {
  readonly system: string;
  readonly group: string;
  readonly envelope: Envelope;
  readonly attempt: number;
  readonly at: number;
  readonly durationMs?: number;
  readonly outcome: JourneyOutcome;
  /** What the attempt threw (read unless the outcome is `ok`). */
  readonly error?: unknown;
  readonly span?: Span;
}

export function recordHandle(journal: Journal, facts: HandleFacts): void {
  const { envelope } = facts;
  recordStep(journal, {
    kind: 'handle',
    tier: 'bus',
    system: facts.system,
    name: envelope.name,
    envelopeId: envelope.id,
    correlationId: envelope.correlationId ?? envelope.id,
    causationId: envelope.causationId,
    group: facts.group,
    attempt: facts.attempt,
    at: facts.at,
    durationMs: facts.durationMs,
    outcome: facts.outcome,
    error: facts.outcome === 'ok' ? undefined : journeyError(facts.error),
    traceId: traceIdOf(facts.span),
  });
}
