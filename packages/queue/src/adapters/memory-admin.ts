/**
 * Job administration of the memory adapter: the same meaning as on BullMQ and PostgreSQL (see
 * QueueAdapterAdmin), over the adapter's lanes. Rates live in a bounded map: RATE_MINUTES minutes
 * per job name, at most MAX_RATE_NAMES names (the least recently counted is forgotten).
 */
import {
  MAX_JOB_LOG_LINE,
  MAX_JOB_LOG_LINES,
  RATE_MINUTES,
  type AdminCleanOptions,
  type AdminCounts,
  type AdminJobDetail,
  type AdminJobState,
  type AdminJobSummary,
  type AdminPage,
  type DeadLetterStore,
  type QueueAdapterAdmin,
  type RateBucket,
} from '@events/core';
import { parseStored } from '../job-format.js';
import type { Lane, MemoryJob } from './memory-lane.js';

const MAX_RATE_NAMES = 1000;

export interface MemoryAdminHost {
  readonly lanes: ReadonlyMap<string, Lane>;
  lane(name: string): Lane;
  makeWaiting(lane: Lane, job: MemoryJob): void;
  pump(lane: Lane): void;
  readonly deadLetters: DeadLetterStore;
}

/** Appends one line to a job's log, keeping the newest MAX_JOB_LOG_LINES lines. */
export function appendLog(job: MemoryJob, line: string): void {
  const logs = (job.logs ??= []);
  logs.push(String(line).slice(0, MAX_JOB_LOG_LINE));
  if (logs.length > MAX_JOB_LOG_LINES) logs.splice(0, logs.length - MAX_JOB_LOG_LINES);
}

function summary(job: MemoryJob): AdminJobSummary {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.options.attempts,
    priority: job.options.priority,
    enqueuedAt: job.enqueuedAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt !== undefined && (job.state === 'completed' || job.state === 'failed') ? { finishedAt: job.finishedAt } : {}),
    ...(job.state === 'delayed' && job.runAt !== undefined ? { runAt: job.runAt } : {}),
    ...(job.failedReason !== undefined ? { failedReason: job.failedReason } : {}),
  };
}

/** The order a state is listed in: finished jobs newest first; the others in the order they will run. */
function order(state: AdminJobState): (a: MemoryJob, b: MemoryJob) => number {
  if (state === 'completed' || state === 'failed') return (a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.seq - a.seq;
  if (state === 'delayed') return (a, b) => (a.runAt ?? 0) - (b.runAt ?? 0) || a.seq - b.seq;
  if (state === 'prioritized') return (a, b) => a.options.priority - b.options.priority || a.seq - b.seq;
  return (a, b) => a.seq - b.seq;
}

export class MemoryAdmin implements QueueAdapterAdmin {
  private readonly rateStore = new Map<string, Map<number, RateBucket>>();

  constructor(private readonly host: MemoryAdminHost) {}

  private jobsIn(name: string, state: AdminJobState): MemoryJob[] {
    return [...(this.host.lanes.get(name)?.jobs.values() ?? [])].filter((j) => j.state === state).sort(order(state));
  }

  async list(name: string, state: AdminJobState, page: AdminPage): Promise<AdminJobSummary[]> {
    if (page.offset === 0 && page.limit === 1) {
      // The head alone (the queue's metrics ask it every refresh): one pass, no sort of the whole lane.
      const before = order(state);
      let head: MemoryJob | undefined;
      for (const job of this.host.lanes.get(name)?.jobs.values() ?? []) if (job.state === state && (!head || before(job, head) < 0)) head = job;
      return head ? [summary(head)] : [];
    }
    return this.jobsIn(name, state).slice(page.offset, page.offset + page.limit).map(summary);
  }

  async job(name: string, id: string): Promise<AdminJobDetail | undefined> {
    const job = this.host.lanes.get(name)?.jobs.get(id);
    if (!job) return undefined;
    return {
      ...summary(job),
      data: parseStored(job.raw),
      progress: job.progress,
      ...(job.state === 'completed' ? { result: job.result } : {}),
      ...(job.stack !== undefined ? { stack: job.stack } : {}),
      logs: [...(job.logs ?? [])],
    };
  }

  async counts(name: string): Promise<AdminCounts> {
    const lane = this.host.lanes.get(name);
    const counts = { waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    for (const job of lane?.jobs.values() ?? []) counts[job.state] += 1;
    return { ...counts, paused: lane?.paused ?? false };
  }

  async retry(name: string, id: string): Promise<boolean> {
    const lane = this.host.lanes.get(name);
    const job = lane?.jobs.get(id);
    if (!lane || !job || job.state !== 'failed') return false;
    const finished = lane.finished.failed;
    const at = finished.indexOf(id);
    if (at !== -1) finished.splice(at, 1);
    job.attemptsMade = 0;
    job.finishedAt = undefined;
    await this.host.deadLetters.remove([id]);
    this.host.makeWaiting(lane, job);
    return true;
  }

  async promote(name: string, id: string): Promise<boolean> {
    const lane = this.host.lanes.get(name);
    const job = lane?.jobs.get(id);
    if (!lane || !job || job.state !== 'delayed') return false;
    clearTimeout(job.timer);
    job.timer = undefined;
    job.runAt = undefined;
    this.host.makeWaiting(lane, job);
    return true;
  }

  async remove(name: string, id: string): Promise<boolean> {
    const lane = this.host.lanes.get(name);
    const job = lane?.jobs.get(id);
    if (!lane || !job || job.state === 'active') return false;
    clearTimeout(job.timer);
    lane.jobs.delete(id);
    if (job.state === 'completed' || job.state === 'failed') {
      const list = lane.finished[job.state];
      const at = list.indexOf(id);
      if (at !== -1) list.splice(at, 1);
    }
    // A waiting job stays in the heap and is skipped when popped (it is no longer in `jobs`).
    return true;
  }

  async pause(name: string): Promise<void> {
    this.host.lane(name).paused = true;
  }

  async resume(name: string): Promise<void> {
    const lane = this.host.lanes.get(name);
    if (!lane?.paused) return;
    lane.paused = false;
    this.host.pump(lane);
  }

  async clean(name: string, options: AdminCleanOptions): Promise<string[]> {
    const before = Date.now() - options.olderThanMs;
    const finished = options.state === 'completed' || options.state === 'failed';
    const candidates = this.jobsIn(name, options.state)
      .filter((j) => (finished ? (j.finishedAt ?? 0) : j.enqueuedAt) < before)
      .sort((a, b) => (finished ? (a.finishedAt ?? 0) - (b.finishedAt ?? 0) : a.enqueuedAt - b.enqueuedAt))
      .slice(0, options.limit);
    if (!options.dryRun) for (const job of candidates) await this.remove(name, job.id);
    return candidates.map((j) => j.id);
  }

  async recordRates(buckets: readonly RateBucket[]): Promise<void> {
    const oldest = Math.floor(Date.now() / 60_000) - RATE_MINUTES;
    for (const b of buckets) {
      let series = this.rateStore.get(b.name);
      if (series) this.rateStore.delete(b.name);
      series ??= new Map();
      this.rateStore.set(b.name, series);
      const had = series.get(b.minute);
      series.set(b.minute, { name: b.name, minute: b.minute, enqueued: (had?.enqueued ?? 0) + b.enqueued, completed: (had?.completed ?? 0) + b.completed, failed: (had?.failed ?? 0) + b.failed });
      for (const minute of series.keys()) if (minute < oldest) series.delete(minute);
    }
    while (this.rateStore.size > MAX_RATE_NAMES) this.rateStore.delete(this.rateStore.keys().next().value!);
  }

  async rates(name: string, fromMinute: number): Promise<RateBucket[]> {
    return [...(this.rateStore.get(name)?.values() ?? [])].filter((b) => b.minute >= fromMinute).sort((a, b) => a.minute - b.minute);
  }
}
