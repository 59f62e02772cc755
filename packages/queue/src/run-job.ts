/**
 * One attempt of one job, the same for every adapter: check the name, decode the envelope,
 * validate the payload, run the handler with its context, and enforce the timeout (the signal
 * aborts at the deadline and the attempt fails with JobTimeoutError).
 */
import { consumerMayTrace, wellFormedError, NO_SPAN, validatePayload, withConsumerSpan, type Envelope, type Journal, type JourneyOutcome, type JobProgress, type MessageMap, type QueueAdapterActiveJob, type SchemaMap, type Span, type TracingMode } from '@events/core';
import { JobTimeoutError, UnknownJobError } from './errors.js';
import { decodeJobData } from './job-format.js';
import { recordAttempt } from './journal.js';
import type { QueueMetrics } from './metrics.js';

export interface JobContext {
  readonly id: string;
  readonly name: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly envelope: Envelope;
  /** Aborts at the job's timeout and when the worker shuts down past its drain timeout. */
  readonly signal: AbortSignal;
  updateProgress(progress: JobProgress): Promise<void>;
  /** Appends a line to the job's log, shown on the dashboard's job page (the newest 100 lines are kept). */
  log(line: string): Promise<void>;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => unknown;

export interface RunOptions {
  name: string;
  handler: JobHandler<never>;
  timeoutMs?: number;
  /** Aborts every running handler's signal (shutdown past the drain timeout). */
  shutdown: AbortSignal;
  schemas?: SchemaMap<MessageMap>;
  /** The adapter's kind: `messaging.system` of the attempt spans. */
  system: string;
  /** A failure that is not retried whatever the attempts left (the span is marked dead_letter). */
  isFinal: (error: unknown) => boolean;
  /** Where each attempt is recorded as an `attempt` step. Default: none. */
  journal?: Journal | undefined;
  /** The queue's instruments (attempts delivered and timed). Default: none. */
  metrics?: QueueMetrics | undefined;
  /** How attempts are traced (QueueOptions.tracing). Default: `join`. */
  tracing?: TracingMode;
}

/**
 * A job's abort signal, made on first use: most handlers never read it, and an AbortController
 * per job showed in the profiles. Aborting before anyone asked records the reason, so a later read
 * gets a signal already aborted with it (what an eager controller gave).
 */
class JobAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * The running jobs, per shutdown signal. One listener per signal aborts them all: a listener per
 * running job would pile up on the shared signal (Node warns past 10, and concurrency is often
 * higher).
 */
const running = new WeakMap<AbortSignal, Set<JobAbort>>();

function follow(shutdown: AbortSignal, job: JobAbort): () => void {
  if (shutdown.aborted) {
    job.abort(shutdown.reason);
    return () => undefined;
  }
  let set = running.get(shutdown);
  if (!set) {
    const jobs = (set = new Set());
    running.set(shutdown, jobs);
    shutdown.addEventListener(
      'abort',
      () => {
        for (const j of jobs) j.abort(shutdown.reason);
        jobs.clear();
      },
      { once: true },
    );
  }
  const jobs = set;
  jobs.add(job);
  return () => jobs.delete(job);
}

/**
 * One attempt in its consumer span (parented by the enqueue's span from the envelope headers);
 * a failed attempt is marked `retry`, or `dead_letter` when no attempt follows.
 */
export function runJob(job: QueueAdapterActiveJob, run: RunOptions): Promise<unknown> {
  let envelope: Envelope | undefined;
  try {
    const decoded = job.name === run.name ? decodeJobData(job.data, job) : undefined;
    // The job id is the envelope's (ours store it so): copied only for a foreign envelope that differs.
    envelope = decoded && (decoded.id === job.id ? decoded : { ...decoded, id: job.id });
  } catch {
    // runAttempt decodes again and fails the attempt with the decode error.
  }
  const mode = run.tracing ?? 'join';
  if (!consumerMayTrace(mode, envelope?.headers)) return attemptIn(NO_SPAN, { job, run, envelope });
  const facts = { operation: 'process', tier: 'queue', system: run.system, destination: job.name, messageId: job.id, conversationId: envelope?.correlationId, attempt: job.attempt } as const;
  return withConsumerSpan(facts, { mode, headers: envelope?.headers }, (span) => attemptIn(span, { job, run, envelope }));
}

/** One attempt, measured and journaled (`span`: NO_SPAN when not traced). */
async function attemptIn(span: Span, { job, run, envelope }: { job: QueueAdapterActiveJob; run: RunOptions; envelope: Envelope | undefined }): Promise<unknown> {
  const started = performance.now();
  try {
    const result = await runAttempt(job, run, envelope);
    ended({ job, run, envelope, span, started }, 'ok');
    return result;
  } catch (caught) {
    // Whatever the handler threw, every layer below (metrics, journal, span, adapter) reads an Error.
    const error = wellFormedError(caught);
    const outcome = run.isFinal(error) || job.attempt >= job.maxAttempts ? 'dead_letter' : 'retry';
    if (span.isRecording()) span.addEvent(outcome, { 'events.attempt': job.attempt });
    ended({ job, run, envelope, span, started }, outcome, error);
    throw error;
  }
}

/** Measures one attempt and records its `attempt` step. */
function ended(facts: { job: QueueAdapterActiveJob; run: RunOptions; envelope: Envelope | undefined; span: Span; started: number }, outcome: JourneyOutcome, error?: unknown): void {
  const { job, run } = facts;
  const durationMs = performance.now() - facts.started;
  // The consumer's own name: a stray job name from the backend adds no series.
  run.metrics?.processed(run.name, durationMs / 1000, outcome === 'ok' ? undefined : { error });
  if (!run.journal) return;
  const at = Date.now() - durationMs;
  recordAttempt(run.journal, { system: run.system, name: job.name, jobId: job.id, envelope: facts.envelope, attempt: job.attempt, at, durationMs, outcome, span: facts.span, error });
}

async function runAttempt(job: QueueAdapterActiveJob, run: RunOptions, known: Envelope | undefined): Promise<unknown> {
  const { name, handler } = run;
  if (job.name !== name) throw new UnknownJobError(job.name, name);
  const envelope: Envelope = known ?? { ...decodeJobData(job.data, job), id: job.id };
  // No schemas (the usual case): no promise hop.
  const payload = run.schemas ? await validatePayload(run.schemas, name, envelope.payload) : envelope.payload;
  const abort = new JobAbort();
  const unfollow = follow(run.shutdown, abort);
  let timer: NodeJS.Timeout | undefined;
  try {
    const ctx: JobContext = {
      id: job.id,
      name,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      envelope,
      get signal() {
        return abort.signal;
      },
      updateProgress: (progress) => job.updateProgress(progress),
      log: async (line) => {
        await job.log?.(String(line));
      },
    };
    const work = Promise.resolve().then(() => handler(payload as never, ctx));
    if (run.timeoutMs === undefined) return await work;
    const timeoutMs = run.timeoutMs;
    work.catch(() => undefined); // its outcome no longer matters once the deadline wins
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new JobTimeoutError(name, timeoutMs);
        abort.abort(error);
        reject(error);
      }, timeoutMs);
    });
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    unfollow();
  }
}
