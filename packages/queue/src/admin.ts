/**
 * `queue.admin`: job administration with one meaning on every adapter (memory, BullMQ,
 * PostgreSQL), for an operator's dashboard. Written once over the adapter's QueueAdapterAdmin:
 * argument checks and page bounds, dead letters as one more state (`dead`, from the dead-letter
 * store), the envelope's ids and the failure's stack in a job's detail, and rates as per-second
 * figures over the last hour. Actions resolve to false when the job is not in a state the action
 * applies to (nothing changes then).
 */
import {
  InvalidOptionError,
  RATE_MINUTES,
  validateJobName,
  type AdminCounts,
  type AdminJobDetail,
  type AdminJobState,
  type AdminJobSummary,
  type CleanableState,
  type Envelope,
  type QueueAdapter,
  type QueueAdapterAdmin,
} from '@events/core';
import { toDeadLetter } from './dead-letters.js';
import { decodeJobData } from './job-format.js';

/** The states `list` takes: the backend's, and `dead` (the dead-letter store, oldest failure first). */
export type JobListState = AdminJobState | 'dead';
export const JOB_LIST_STATES: readonly JobListState[] = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'dead'];
export const CLEANABLE_STATES: readonly CleanableState[] = ['waiting', 'prioritized', 'delayed', 'completed', 'failed'];
/** Jobs per page at most. */
export const MAX_ADMIN_PAGE = 100;
/** Jobs one clean call removes at most. */
export const MAX_CLEAN = 1000;
const MAX_OFFSET = 1_000_000;

export type ListedJob = Omit<AdminJobSummary, 'state' | 'maxAttempts' | 'priority'> & {
  readonly state: JobListState;
  /** Absent for a dead letter (the store does not keep it). */
  readonly maxAttempts?: number;
  readonly priority?: number;
};

export interface JobPage {
  readonly name: string;
  readonly state: JobListState;
  readonly offset: number;
  readonly limit: number;
  /** Jobs in that state now (the page may already be out of date by the time it is read). */
  readonly total: number;
  readonly jobs: readonly ListedJob[];
}

export type JobDetail = Omit<AdminJobDetail, 'state' | 'maxAttempts' | 'priority'> &
  Pick<ListedJob, 'state' | 'maxAttempts' | 'priority'> & {
    /** The decoded envelope's ids and headers; undefined when the data is not a decodable job. */
    readonly envelope?: Pick<Envelope, 'id' | 'occurredAt' | 'correlationId' | 'causationId' | 'headers'>;
    readonly payload?: unknown;
    /** Also in the dead-letter store (the failure's record, with its stack). */
    readonly deadLetter: boolean;
  };

export type QueueCounts = AdminCounts & { readonly dead: number };

export interface RatePoint {
  /** Start of the minute, epoch ms. */
  readonly at: number;
  /** Per second, averaged over the minute (the current minute: over its seconds so far). */
  readonly enqueued: number;
  readonly completed: number;
  readonly failed: number;
}

export interface RateSeries {
  readonly name: string;
  /** One point per minute, oldest first, the current minute last; minutes without jobs are zeros. */
  readonly points: readonly RatePoint[];
  /** Job totals over the whole series. */
  readonly totals: { readonly enqueued: number; readonly completed: number; readonly failed: number };
}

export interface CleanOptions {
  readonly state: CleanableState;
  /** Only jobs finished (completed, failed) or enqueued (the others) at least this long ago. */
  readonly olderThanMs: number;
  /** At most this many, the oldest first. Default and limit: MAX_CLEAN. */
  readonly limit?: number;
  /** Report what would go; remove nothing. Default: false. */
  readonly dryRun?: boolean;
}

export interface QueueAdmin {
  list(name: string, state: JobListState, page?: { offset?: number; limit?: number }): Promise<JobPage>;
  /** A job of the backend, else its dead letter; undefined when neither holds the id. */
  job(name: string, id: string): Promise<JobDetail | undefined>;
  counts(name: string): Promise<QueueCounts>;
  /** A failed job back to waiting, in place (same id, attempts from 0); its dead letter goes. */
  retry(name: string, id: string): Promise<boolean>;
  /** A delayed job runs now. */
  promote(name: string, id: string): Promise<boolean>;
  /** Removes a job that is not active. */
  remove(name: string, id: string): Promise<boolean>;
  /** No worker (of any process) starts a job of `name` until resumed. */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  clean(name: string, options: CleanOptions): Promise<{ readonly dryRun: boolean; readonly ids: readonly string[] }>;
  /** Enqueued, completed and failed (for good) jobs per second, per minute, over the last `minutes` (default and limit 60). */
  rates(name: string, options?: { minutes?: number }): Promise<RateSeries>;
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new InvalidOptionError('id', 'must be a non-empty string of at most 256 characters');
}

function checkInt(option: string, value: number, [min, max]: readonly [number, number]): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidOptionError(option, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function envelopeOf(detail: { data: AdminJobDetail['data']; id: string; name: string; enqueuedAt: number }): Pick<JobDetail, 'envelope' | 'payload'> {
  try {
    const { id, occurredAt, correlationId, causationId, headers, payload } = decodeJobData(detail.data, detail);
    return { envelope: { id, occurredAt, headers, ...(correlationId ? { correlationId } : {}), ...(causationId ? { causationId } : {}) }, payload };
  } catch {
    return {};
  }
}

export function createQueueAdmin(ready: (action: string) => Promise<QueueAdapter>): QueueAdmin {
  async function open(action: string, name: string): Promise<{ adapter: QueueAdapter; admin: QueueAdapterAdmin }> {
    validateJobName(name);
    const adapter = await ready(action);
    if (!adapter.admin) throw new InvalidOptionError('adapter', `the ${adapter.kind} queue adapter has no job administration`);
    return { adapter, admin: adapter.admin };
  }

  return {
    async list(name, state, page = {}) {
      if (!JOB_LIST_STATES.includes(state)) throw new InvalidOptionError('state', `must be one of ${JOB_LIST_STATES.join(', ')}`);
      const offset = checkInt('offset', page.offset ?? 0, [0, MAX_OFFSET]);
      const limit = checkInt('limit', page.limit ?? 20, [1, MAX_ADMIN_PAGE]);
      const { adapter, admin } = await open('admin.list', name);
      if (state === 'dead') {
        const [records, total] = await Promise.all([adapter.deadLetters.query({ name, offset, limit }), adapter.deadLetters.count({ name })]);
        const jobs = records.map((r): ListedJob => ({ id: r.id, name: r.name, state: 'dead', attemptsMade: r.attemptsMade, enqueuedAt: r.enqueuedAt, finishedAt: r.failedAt, failedReason: r.error.message }));
        return { name, state, offset, limit, total, jobs };
      }
      const [jobs, counts] = await Promise.all([admin.list(name, state, { offset, limit }), admin.counts(name)]);
      return { name, state, offset, limit, total: counts[state], jobs };
    },
    async job(name, id) {
      checkId(id);
      const { adapter, admin } = await open('admin.job', name);
      const [detail, [record]] = await Promise.all([admin.job(name, id), adapter.deadLetters.query({ ids: [id], name })]);
      if (detail) {
        const stack = detail.stack ?? (detail.state === 'failed' ? record?.error.stack : undefined);
        return { ...detail, ...(stack !== undefined ? { stack } : {}), ...envelopeOf(detail), deadLetter: record !== undefined };
      }
      if (!record) return undefined;
      const letter = toDeadLetter(record);
      return {
        id,
        name: record.name,
        state: 'dead',
        attemptsMade: record.attemptsMade,
        enqueuedAt: record.enqueuedAt,
        finishedAt: record.failedAt,
        failedReason: record.error.message,
        data: record.data,
        progress: 0,
        ...(record.error.stack !== undefined ? { stack: record.error.stack } : {}),
        logs: [],
        ...(letter.envelope ? envelopeOf({ data: record.data, id, name: record.name, enqueuedAt: record.enqueuedAt }) : {}),
        deadLetter: true,
      };
    },
    async counts(name) {
      const { adapter, admin } = await open('admin.counts', name);
      const [counts, dead] = await Promise.all([admin.counts(name), adapter.deadLetters.count({ name })]);
      return { ...counts, dead };
    },
    async retry(name, id) {
      checkId(id);
      return (await open('admin.retry', name)).admin.retry(name, id);
    },
    async promote(name, id) {
      checkId(id);
      return (await open('admin.promote', name)).admin.promote(name, id);
    },
    async remove(name, id) {
      checkId(id);
      return (await open('admin.remove', name)).admin.remove(name, id);
    },
    async pause(name) {
      await (await open('admin.pause', name)).admin.pause(name);
    },
    async resume(name) {
      await (await open('admin.resume', name)).admin.resume(name);
    },
    async clean(name, options) {
      if (!CLEANABLE_STATES.includes(options.state)) throw new InvalidOptionError('state', `must be one of ${CLEANABLE_STATES.join(', ')}`);
      const olderThanMs = checkInt('olderThanMs', options.olderThanMs, [0, 10 * 365 * 86_400_000]);
      const limit = checkInt('limit', options.limit ?? MAX_CLEAN, [1, MAX_CLEAN]);
      const dryRun = options.dryRun === true;
      const { admin } = await open('admin.clean', name);
      return { dryRun, ids: await admin.clean(name, { state: options.state, olderThanMs, limit, dryRun }) };
    },
    async rates(name, options = {}) {
      const minutes = checkInt('minutes', options.minutes ?? RATE_MINUTES, [1, RATE_MINUTES]);
      const { admin } = await open('admin.rates', name);
      const now = Date.now();
      const current = Math.floor(now / 60_000);
      const from = current - minutes + 1;
      const stored = new Map((await admin.rates(name, from)).map((b) => [b.minute, b]));
      const totals = { enqueued: 0, completed: 0, failed: 0 };
      const points: RatePoint[] = [];
      for (let m = from; m <= current; m += 1) {
        const b = stored.get(m);
        const seconds = m === current ? Math.max(1, (now - m * 60_000) / 1000) : 60;
        const e = b?.enqueued ?? 0;
        const c = b?.completed ?? 0;
        const f = b?.failed ?? 0;
        totals.enqueued += e;
        totals.completed += c;
        totals.failed += f;
        points.push({ at: m * 60_000, enqueued: e / seconds, completed: c / seconds, failed: f / seconds });
      }
      return { name, points, totals };
    },
  };
}
