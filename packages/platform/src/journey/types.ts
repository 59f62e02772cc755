/**
 * The journey store's public shape: a core `Journal` the tiers record into, and a reader the
 * dashboard searches. Both implementations (memory, Redis) keep a bounded recent index only: a
 * journey is forgotten when it is the least recently touched past the bound (or, on Redis, when
 * its TTL ends). Nothing here is a durable audit log.
 */
import type { CloseOptions, Journal, JourneyStep } from '@events/core';

/** One journey (one correlation id) as a search lists it. */
export interface JourneySummary {
  readonly correlationId: string;
  /** Epoch ms of the first and of the last step kept. */
  readonly startedAt: number;
  readonly lastAt: number;
  /** Steps kept (at most the store's `maxStepsPerJourney`). */
  readonly steps: number;
  /** Distinct message names in order of first appearance, at most 8. */
  readonly names: readonly string[];
  /** Failed attempts or handler invocations that were retried. */
  readonly retries: number;
  /** Messages that ended as dead letters. */
  readonly deadLetters: number;
  /** Refused emits, enqueues or broadcasts. */
  readonly errors: number;
}

/** A step with its time relative to the journey's first step. */
export interface JourneyStepView extends JourneyStep {
  /** Milliseconds from the journey's first step to this one's start. */
  readonly offsetMs: number;
}

/** One message of the causal tree: its steps (an emit and each group's handle attempts; a job's enqueue, attempts, replay), its consequences. */
export interface JourneyNode {
  readonly envelopeId: string;
  readonly tier: JourneyStep['tier'];
  readonly system: string;
  readonly name: string;
  readonly causationId?: string;
  readonly jobId?: string;
  /** Milliseconds from the journey's first step to this message's first step. */
  readonly offsetMs: number;
  /** From this message's first step to the end of its last. */
  readonly durationMs: number;
  readonly steps: readonly JourneyStepView[];
  /** The message ended as a dead letter (its last attempt's outcome). */
  readonly deadLetter: boolean;
  /** Messages whose causationId is this envelope id, in order of time. */
  readonly children: readonly JourneyNode[];
}

export interface Journey extends JourneySummary {
  /** Every step kept, oldest first. */
  readonly stepList: readonly JourneyStepView[];
  /** Messages with no known cause (their cause is not in this journey), in order of time. */
  readonly roots: readonly JourneyNode[];
  /** Steps were left out (the journey grew past `maxStepsPerJourney`: the oldest went). */
  readonly truncated: boolean;
}

export interface JourneySearchOptions {
  /** Journeys answered at most. Default: 20; at most 100. */
  limit?: number;
}

/** What the dashboard reads. Every read has a deadline (a slow store answers with an error, never hangs). */
export interface JourneyReader {
  /**
   * Journeys whose correlation id, or one of whose envelope ids, job ids or keys (an email), equals
   * `query` exactly, most recent first; the most recent journeys when `query` is empty.
   */
  search(query: string, options?: JourneySearchOptions): Promise<JourneySummary[]>;
  /** One journey with its causal tree, or undefined when it is not (or no longer) known. */
  get(correlationId: string): Promise<Journey | undefined>;
}

export interface JourneyStoreStats {
  /** Steps given to `record`. */
  readonly recorded: number;
  /** Steps lost: malformed, the write buffer was full, a write failed, or a journey or the store outgrew its bound. */
  readonly dropped: number;
  /** Steps waiting to be written (Redis). */
  readonly pending: number;
  /** Journeys evicted to keep the bound (memory). */
  readonly evicted: number;
  /** Journeys held (memory; undefined on Redis, which holds them for every process). */
  readonly journeys?: number;
}

export interface JourneyStore extends Journal, JourneyReader {
  /** `memory` or `redis`. */
  readonly kind: 'memory' | 'redis';
  stats(): JourneyStoreStats;
  /** Resolves once the steps recorded so far are written (or lost: see `dropped`). Never rejects. */
  flush(): Promise<void>;
  /** Writes what is buffered (within `timeoutMs`, default 10 000 ms) and releases the store. Idempotent; reads reject after it. */
  close(options?: CloseOptions): Promise<void>;
}

/** Bounds shared by both stores. Every field has a default; see each. */
export interface JourneyBounds {
  /** Journeys kept; the least recently touched goes first. Default: 10 000. */
  maxJourneys?: number;
  /** Steps kept per journey; past it the oldest go. Default: 500. */
  maxStepsPerJourney?: number;
  /** Index entries (ids and keys) per step. Default: 32. */
  maxIndexPerStep?: number;
  /** Journeys one id or key points at (the most recent ones). Default: 8. */
  maxJourneysPerKey?: number;
}

export const JOURNEY_DEFAULTS = {
  maxJourneys: 10_000,
  maxStepsPerJourney: 500,
  maxIndexPerStep: 32,
  maxJourneysPerKey: 8,
  searchLimit: 20,
  maxSearchLimit: 100,
  /** Longest query or id a reader accepts; longer ones match nothing. */
  maxQueryLength: 512,
} as const;
