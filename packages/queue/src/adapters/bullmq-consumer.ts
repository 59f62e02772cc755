/**
 * One BullMQ worker for one job name. Dead letters are written before BullMQ moves a job to
 * failed (a crash in between re-runs the job and the record, keyed by job id, is overwritten);
 * a write that fails after its retries is reported (`dead-letter`) and the job still fails with
 * its own error, so BullMQ's failed set keeps it and the dead-letter view imports it later.
 * Closing past the drain timeout moves the jobs still running back to waiting (BullMQ's
 * `moveToWait` + `WaitingError`): no attempt and no stall is counted for an interrupted job.
 */
import { drainWithin, type CloseOptions, type JobProgress, type QueueAdapterActiveJob, type QueueAdapterConsumeOptions, type QueueAdapterConsumer, type QueueAdapterEvent, type StoredJobData, wellFormedError } from '@events/core';
import { UnrecoverableError, WaitingError, Worker, type Job, type JobJson } from 'bullmq';
import type { Connections } from './bullmq-connection.js';
import type { KeyLayout } from './bullmq-keys.js';
import { putDeadLetter } from './bullmq-dead-letters.js';
import type { EventPublisher } from './bullmq-events.js';
import { cappedBackoff } from './bullmq-options.js';
import { logLine } from './bullmq-admin.js';

/** Data BullMQ could not parse, kept per job so the handler layer can dead-letter it. */
const undecodable = new WeakMap<Job, { raw: string; reason: string }>();

class EventsWorker extends Worker {
  protected override createJob(data: JobJson, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch (err) {
      // Undecodable data must not wedge the worker: hand the job on, flagged, to be dead-lettered.
      const job = super.createJob({ ...data, data: 'null' }, jobId);
      undecodable.set(job, { raw: data.data, reason: `not JSON (${(err as Error).message})` });
      return job;
    }
  }
}

export interface ConsumerSettings {
  readonly layout: KeyLayout;
  readonly connections: Connections;
  readonly events: EventPublisher;
  readonly report: (kind: string, error: unknown, facts?: { name?: string; id?: string }) => void;
  readonly lockDuration?: number;
  readonly stalledInterval?: number;
  readonly maxStalledCount?: number;
}

/** Tries of one dead-letter write, and the waits between them. */
const WRITE_RETRIES_MS = [100, 500];

function toError(caught: unknown): Error {
  return wellFormedError(caught);
}

export function jobData(job: Job): StoredJobData {
  const broken = undecodable.get(job);
  return broken ? { ok: false, ...broken } : { ok: true, value: job.data };
}

interface Running {
  readonly job: Job;
  readonly token: string;
  moved?: Promise<void>;
}

/**
 * The job a handler sees. A class, not an object of closures: its methods cost nothing per job
 * (the process profile showed the per-job closures and their garbage).
 */
class ActiveJob implements QueueAdapterActiveJob {
  readonly id: string;
  readonly name: string;
  readonly data: StoredJobData;
  readonly maxAttempts: number;
  readonly enqueuedAt: number;

  constructor(
    private readonly job: Job,
    readonly attempt: number,
    private readonly emit: (event: QueueAdapterEvent) => void,
  ) {
    this.id = job.id!;
    this.name = job.name;
    this.data = jobData(job);
    this.maxAttempts = job.opts.attempts ?? 1;
    this.enqueuedAt = job.timestamp;
  }

  async updateProgress(progress: JobProgress): Promise<void> {
    await this.job.updateProgress(progress);
    this.emit({ type: 'progress', id: this.id, name: this.name, progress });
  }

  log(line: string): Promise<void> {
    return logLine(this.job, line);
  }
}

export interface ConsumerSpec {
  readonly name: string;
  readonly handler: (job: QueueAdapterActiveJob) => Promise<unknown>;
  readonly options: QueueAdapterConsumeOptions;
}

export async function startConsumer(settings: ConsumerSettings, spec: ConsumerSpec): Promise<QueueAdapterConsumer> {
  const { name, handler, options } = spec;
  const redis = settings.connections.worker();
  const attempts = new WeakMap<Job, { attempt: number; final: boolean; error?: Error }>();
  const running = new Map<string, Running>();
  const emit = (event: QueueAdapterEvent): void => {
    options.onEvent(event);
    settings.events.publish(event);
  };

  /** Writes the record, retrying; false (reported) when every try failed. Never throws. */
  async function deadLetter(job: Job, error: Error, attempt: number): Promise<boolean> {
    const record = { queue: name, id: job.id!, name: job.name, data: jobData(job), error: { name: error.name, message: error.message, stack: error.stack }, attemptsMade: attempt, enqueuedAt: job.timestamp, failedAt: Date.now() };
    for (let i = 0; ; i += 1) {
      try {
        await putDeadLetter(redis, settings.layout.deadLetters, record);
        return true;
      } catch (err) {
        const wait = WRITE_RETRIES_MS[i];
        if (wait === undefined) {
          settings.report('dead-letter', new Error(`dead-letter write failed (${toError(err).message}); the job stays in BullMQ's failed set with its own error, and the dead-letter view imports it from there`, { cause: err }), { name: job.name, id: job.id! });
          return false;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  function moveBack(r: Running): Promise<void> {
    r.moved ??= r.job.moveToWait(r.token).then(
      () => undefined,
      (err: unknown) => settings.report('close', err, { name: r.job.name, id: r.job.id! }),
    );
    return r.moved;
  }

  let stopping = false;
  /** Wakes close() once no job runs (the drain), instead of a promise per job. */
  const drained = new Set<() => void>();
  const finish = (id: string): void => {
    running.delete(id);
    if (running.size === 0 && drained.size > 0) for (const wake of [...drained]) wake();
  };
  const noneRunning = (): Promise<void> =>
    running.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const wake = (): void => {
            drained.delete(wake);
            resolve();
          };
          drained.add(wake);
        });

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const attempt = job.attemptsMade + 1;
    const entry: Running = { job, token: token ?? '0' };
    // Fetched while this worker stops: back to waiting untouched.
    if (stopping) {
      await moveBack(entry);
      throw new WaitingError();
    }
    running.set(job.id!, entry);
    attempts.set(job, { attempt, final: false });
    const active = new ActiveJob(job, attempt, emit);
    try {
      const result = await handler(active);
      if (options.signal.aborted) {
        await moveBack(entry);
        throw new WaitingError();
      }
      return result;
    } catch (caught) {
      if (caught instanceof WaitingError) throw caught;
      // Shut down past the drain: the interruption is ours, not the job's failure.
      if (options.signal.aborted) {
        await moveBack(entry);
        throw new WaitingError();
      }
      const error = toError(caught);
      const final = options.isFinal(error) || attempt >= active.maxAttempts;
      attempts.set(job, { attempt, final, error });
      if (final) await deadLetter(job, error, attempt);
      if (final && attempt < active.maxAttempts) throw new UnrecoverableError(`${error.name}: ${error.message}`);
      throw error;
    } finally {
      finish(job.id!);
    }
  };

  // Learn whether any `events: 'all'` observer listens before the first job event.
  await settings.events.refresh();
  const worker = new EventsWorker(settings.layout.queueName(name), processor, {
    connection: redis,
    prefix: settings.layout.prefix,
    concurrency: options.concurrency,
    ...(options.limiter ? { limiter: { max: options.limiter.max, duration: options.limiter.durationMs } } : {}),
    ...(settings.lockDuration !== undefined ? { lockDuration: settings.lockDuration } : {}),
    ...(settings.stalledInterval !== undefined ? { stalledInterval: settings.stalledInterval } : {}),
    ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    settings: { backoffStrategy: cappedBackoff },
  });
  worker.on('completed', (job, result) => {
    const info = attempts.get(job);
    emit({ type: 'completed', id: job.id!, name: job.name, attempt: info?.attempt ?? job.attemptsMade, result });
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const info = attempts.get(job);
    if (!info) {
      // No processor run here: BullMQ failed the job itself (over its stall limit).
      settings.report('stall', error, { name: job.name, id: job.id! });
      void deadLetter(job, error, job.attemptsMade);
    }
    // The handler's own error, not the UnrecoverableError wrapper BullMQ was given.
    emit({ type: 'failed', id: job.id!, name: job.name, attempt: info?.attempt ?? job.attemptsMade, error: info?.error ?? error, final: info?.final ?? true });
  });
  // Connection errors are retried by ioredis; BullMQ re-emits them here.
  worker.on('error', (error) => settings.report('transport', error, { name }));
  await worker.waitUntilReady();

  return {
    get running() {
      return running.size;
    },
    async close(closeOptions: CloseOptions = {}) {
      // The drain is ours (the jobs this worker runs), not BullMQ's close(false): that one can wait
      // forever while Redis is unreachable, cannot be forced once begun, and leaves the lock and
      // stalled-check timers armed. So: stop fetching, wait for our jobs within the timeout, move
      // the rest back to waiting, then close(true), which stops BullMQ's timers.
      stopping = true;
      void worker.pause(true).catch(() => undefined);
      const done = closeOptions.force !== true && (await drainWithin(noneRunning(), closeOptions.timeoutMs ?? 10_000));
      if (!done) await drainWithin(Promise.all([...running.values()].map(moveBack)), 1000);
      if (!(await drainWithin(worker.close(true), 1000))) await drainWithin(worker.disconnect(), 1000);
    },
  };
}
