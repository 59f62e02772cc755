/**
 * The memory adapter: the BullMQ adapter's semantics (attempts, backoff, delay, priority, job id
 * idempotency, retention, schedules, dead letters, concurrency, rate limits) in one process, for
 * development and tests. Nothing survives the process: it is not durable.
 */
import { backoffDelay, drainWithin, DEFAULT_CLOSE_TIMEOUT_MS, type CloseOptions, type JobCounts, type JobRetention, type QueueAdapter, type QueueAdapterAdmin, type QueueAdapterConsumeOptions, type QueueAdapterConsumer, type QueueAdapterJob, type ResolvedJobOptions, type ScheduleSpec, type StoredJobInfo, wellFormedError } from '@events/core';
import { parseStored } from '../job-format.js';
import { appendLog, MemoryAdmin } from './memory-admin.js';
import type { Consumer, Handler, Lane, MemoryJob } from './memory-lane.js';
import { createMemoryDeadLetterStore } from './memory-dead-letters.js';
import { WaitingHeap } from './memory-heap.js';
import { MemorySchedules } from './memory-schedules.js';

export { createMemoryDeadLetterStore } from './memory-dead-letters.js';

export class MemoryQueueAdapter implements QueueAdapter {
  readonly kind = 'memory';
  readonly deadLetters = createMemoryDeadLetterStore();
  private readonly lanes = new Map<string, Lane>();
  /** Job administration (memory-admin.ts) over this adapter's lanes. */
  readonly admin: QueueAdapterAdmin = new MemoryAdmin({
    lanes: this.lanes,
    lane: (name) => this.lane(name),
    makeWaiting: (lane, job) => this.makeWaiting(lane, job),
    pump: (lane) => this.pump(lane),
    deadLetters: this.deadLetters,
  });
  private readonly schedules = new MemorySchedules();
  private seq = 0;

  async start(): Promise<void> {}

  health(): { connected: boolean } {
    return { connected: true };
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) this.lanes.set(name, (lane = { jobs: new Map(), paused: false, waiting: new WaitingHeap(), finished: { completed: [], failed: [] }, consumers: [] }));
    return lane;
  }

  /** Stores `raw` verbatim as a job's data in the lane `queue` (test hook for foreign or undecodable jobs). */
  injectRaw(job: { queue?: string; name: string; id: string; raw: string; options: ResolvedJobOptions }): void {
    this.store({ id: job.id, name: job.name, data: undefined, options: job.options }, job.raw, job.queue);
  }

  async add(jobs: readonly QueueAdapterJob[]): Promise<string[]> {
    return jobs.map((job) => this.store(job, JSON.stringify(job.data)));
  }

  private store(job: QueueAdapterJob, raw: string, laneName = job.name): string {
    const lane = this.lane(laneName);
    if (lane.jobs.has(job.id)) return job.id;
    const stored: MemoryJob = { id: job.id, name: job.name, raw, options: job.options, state: 'waiting', attemptsMade: 0, progress: 0, enqueuedAt: Date.now(), seq: (this.seq += 1) };
    lane.jobs.set(job.id, stored);
    if (job.options.delayMs > 0) this.delay(lane, stored, job.options.delayMs);
    else this.makeWaiting(lane, stored);
    return job.id;
  }

  private delay(lane: Lane, job: MemoryJob, ms: number): void {
    job.state = 'delayed';
    job.runAt = Date.now() + ms;
    job.timer = setTimeout(() => {
      job.timer = undefined;
      job.runAt = undefined;
      if (lane.jobs.get(job.id) === job) this.makeWaiting(lane, job);
    }, ms);
  }

  private makeWaiting(lane: Lane, job: MemoryJob): void {
    job.state = job.options.priority > 0 ? 'prioritized' : 'waiting';
    lane.waiting.push(job);
    this.pump(lane);
  }

  private pump(lane: Lane): void {
    if (lane.paused) return;
    for (const consumer of lane.consumers) {
      while (!consumer.closed && lane.waiting.length > 0 && consumer.active.size < consumer.options.concurrency) {
        const limiter = consumer.options.limiter;
        if (limiter) {
          const now = Date.now();
          consumer.starts = consumer.starts.filter((t) => t > now - limiter.durationMs);
          if (consumer.starts.length >= limiter.max) {
            if (!consumer.wake) {
              consumer.wake = setTimeout(() => {
                consumer.wake = undefined;
                this.pump(lane);
              }, consumer.starts[0]! + limiter.durationMs - now);
            }
            break;
          }
          consumer.starts.push(now);
        }
        const job = lane.waiting.pop()!;
        // Removed, or moved on by an admin action, since it was pushed: not waiting any more.
        if (lane.jobs.get(job.id) !== job || (job.state !== 'waiting' && job.state !== 'prioritized')) {
          if (limiter) consumer.starts.pop();
          continue;
        }
        const run = this.run(lane, consumer, job).finally(() => {
          consumer.active.delete(run);
          this.pump(lane);
        });
        consumer.active.set(run, job);
      }
    }
  }

  private async run(lane: Lane, consumer: Consumer, job: MemoryJob): Promise<void> {
    job.state = 'active';
    job.startedAt = Date.now();
    const token = {};
    job.run = token;
    const attempt = job.attemptsMade + 1;
    const onEvent = consumer.options.onEvent;
    const owned = (): boolean => job.run === token && lane.jobs.get(job.id) === job;
    /** Shut down past the drain: the interruption is ours, so the job waits again, its attempt not counted. */
    const interrupted = (): boolean => {
      if (!consumer.options.signal.aborted || !owned()) return false;
      job.run = undefined;
      this.makeWaiting(lane, job);
      return true;
    };
    try {
      const result = await consumer.handler({
        id: job.id,
        name: job.name,
        data: parseStored(job.raw),
        attempt,
        maxAttempts: job.options.attempts,
        enqueuedAt: job.enqueuedAt,
        updateProgress: async (progress) => {
          job.progress = progress;
          onEvent({ type: 'progress', id: job.id, name: job.name, progress });
        },
        log: async (line) => appendLog(job, line),
      });
      if (!owned() || interrupted()) return;
      job.attemptsMade = attempt;
      job.result = result;
      this.finish(lane, job, 'completed');
      onEvent({ type: 'completed', id: job.id, name: job.name, attempt, result });
    } catch (caught) {
      const error = wellFormedError(caught);
      if (!owned() || interrupted()) return;
      job.attemptsMade = attempt;
      job.failedReason = error.message;
      job.stack = error.stack;
      const final = consumer.options.isFinal(error) || attempt >= job.options.attempts;
      if (final) {
        await this.deadLetters.put({
          id: job.id,
          name: job.name,
          data: parseStored(job.raw),
          error: { name: error.name, message: error.message, stack: error.stack },
          attemptsMade: attempt,
          enqueuedAt: job.enqueuedAt,
          failedAt: Date.now(),
        });
        this.finish(lane, job, 'failed');
      } else {
        job.run = undefined;
        this.delay(lane, job, backoffDelay(job.options.backoff, attempt));
      }
      onEvent({ type: 'failed', id: job.id, name: job.name, attempt, error, final });
    }
  }

  private finish(lane: Lane, job: MemoryJob, state: 'completed' | 'failed'): void {
    job.state = state;
    job.run = undefined;
    job.finishedAt = Date.now();
    const list = lane.finished[state];
    list.push(job.id);
    const retention: JobRetention = state === 'completed' ? job.options.removeOnComplete : job.options.removeOnFail;
    if (retention === false) return;
    const keepCount = retention === true ? 0 : (retention.count ?? Infinity);
    const minFinished = retention === true || retention.ageMs === undefined ? -Infinity : Date.now() - retention.ageMs;
    while (list.length > keepCount) lane.jobs.delete(list.shift()!);
    while (list.length > 0 && (lane.jobs.get(list[0]!)?.finishedAt ?? 0) < minFinished) lane.jobs.delete(list.shift()!);
  }

  async consume(name: string, handler: Handler, options: QueueAdapterConsumeOptions): Promise<QueueAdapterConsumer> {
    const lane = this.lane(name);
    const consumer: Consumer = { handler, options, active: new Map(), starts: [], closed: false };
    lane.consumers.push(consumer);
    this.pump(lane);
    return {
      get running() {
        return consumer.active.size;
      },
      close: async (closeOptions: CloseOptions = {}) => {
        consumer.closed = true;
        clearTimeout(consumer.wake);
        const at = lane.consumers.indexOf(consumer);
        if (at !== -1) lane.consumers.splice(at, 1);
        if (!closeOptions.force) await drainWithin(Promise.all(consumer.active.keys()), closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
        // Past the drain: the jobs still running go back to waiting, their attempt not counted
        // (what the BullMQ adapter does), and their late outcome is ignored.
        for (const job of consumer.active.values()) {
          if (job.state !== 'active' || lane.jobs.get(job.id) !== job) continue;
          job.run = undefined;
          this.makeWaiting(lane, job);
        }
      },
    };
  }

  async schedule(id: string, spec: ScheduleSpec, template: Omit<QueueAdapterJob, 'id'>): Promise<void> {
    this.schedules.add(`${template.name}\0${id}`, spec, (at) => {
      this.store({ ...template, id: `repeat-${id}-${at}` }, JSON.stringify(template.data));
    });
  }

  async unschedule(name: string, id: string): Promise<boolean> {
    return this.schedules.remove(`${name}\0${id}`);
  }

  async getJob(name: string, id: string): Promise<StoredJobInfo | undefined> {
    const job = this.lanes.get(name)?.jobs.get(id);
    if (!job) return undefined;
    return {
      id: job.id,
      name: job.name,
      state: job.state,
      data: parseStored(job.raw),
      attemptsMade: job.attemptsMade,
      progress: job.progress,
      ...(job.state === 'completed' ? { result: job.result } : {}),
      ...(job.failedReason !== undefined ? { failedReason: job.failedReason } : {}),
    };
  }

  async counts(name: string): Promise<JobCounts> {
    const counts = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    for (const job of this.lanes.get(name)?.jobs.values() ?? []) {
      counts[job.state === 'prioritized' ? 'waiting' : job.state] += 1;
    }
    return counts;
  }

  async close(options: CloseOptions = {}): Promise<void> {
    this.schedules.clear();
    const closing = [...this.lanes.values()].flatMap((lane) => lane.consumers.map((c) => Promise.all(c.active.keys())));
    if (!options.force) await drainWithin(Promise.all(closing), options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    for (const lane of this.lanes.values()) for (const job of lane.jobs.values()) clearTimeout(job.timer);
  }
}

/** The memory adapter, as a value: `createQueue({ adapter: memoryQueue() })` (the default). */
export function memoryQueue(): MemoryQueueAdapter {
  return new MemoryQueueAdapter();
}

/** The same as `memoryQueue()` (older name). */
export const createMemoryAdapter = memoryQueue;
