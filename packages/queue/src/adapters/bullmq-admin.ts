/**
 * Job administration of the BullMQ adapter, through BullMQ's own Queue API (one BullMQ queue per
 * job name): lists by state (`getRanges`, then each job; a job whose data does not parse is listed
 * from its hash), retry in place (`Job.retry('failed')` with its attempts reset, then its dead
 * letter goes), `promote`, `remove`, `pause`/`resume` (BullMQ's queue pause: every worker of the
 * name stops taking jobs), and clean (candidates found by our own bounded scan, so a dry run and
 * a real run pick the same jobs, oldest first).
 *
 * Rates are our own counters, not BullMQ's `metrics` worker option: that one counts only
 * completed and failed jobs of workers started with it, and enqueues not at all. One hash per job
 * name, `<prefix>:#rates:<name>`, fields `<minute>:e|c|f`, incremented by each process's flush
 * (rates.ts); fields older than RATE_MINUTES are deleted on write, and the key expires after an
 * idle hour. One key per command, so it works on a Redis Cluster too.
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
  type JobProgress,
  type QueueAdapterAdmin,
  type RateBucket,
} from '@events/core';
import type { Job, JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseStored } from '../job-format.js';

/** Ids looked at per clean call (the candidates are the oldest of these). */
export const CLEAN_SCAN = 10_000;

type AdminRedis = Pick<Redis, 'pipeline' | 'hgetall' | 'hmget' | 'zscore' | 'zrangebyscore' | 'hkeys'>;

export interface BullmqAdminSettings {
  readonly prefix: string;
  reader(name: string): Queue;
  writer(name: string): Queue;
  redis(): AdminRedis;
  /** Runs one producer call with the adapter's reconnect bounds. */
  call<T>(what: string, command: () => Promise<T>): Promise<T>;
  readonly deadLetters: DeadLetterStore;
}

const TYPE: Record<AdminJobState, JobType> = { waiting: 'wait', prioritized: 'prioritized', delayed: 'delayed', active: 'active', completed: 'completed', failed: 'failed' };
/** Finished jobs newest first; the others in the order they will run. */
const ASC: Record<AdminJobState, boolean> = { waiting: true, prioritized: true, delayed: true, active: true, completed: false, failed: false };

/** `ctx.log` on BullMQ: the job's log list, trimmed to the newest MAX_JOB_LOG_LINES lines. */
export async function logLine(job: Job, line: string): Promise<void> {
  job.opts.keepLogs = MAX_JOB_LOG_LINES;
  await job.log(line.slice(0, MAX_JOB_LOG_LINE));
}

function toState(state: string): AdminJobState {
  // BullMQ's own names match ours; `waiting-children` (flows, unused here) counts as waiting.
  return state in TYPE ? (state as AdminJobState) : 'waiting';
}

export function createBullmqAdmin(s: BullmqAdminSettings): QueueAdapterAdmin {
  const ratesKey = (name: string): string => `${s.prefix}:#rates:${name}`;

  /** A delayed job's run time: BullMQ scores the delayed set by `timestamp * 4096 + counter`. */
  async function runAt(q: Queue, id: string): Promise<number | undefined> {
    const score = await s.redis().zscore(q.keys.delayed!, id);
    return score === null ? undefined : Math.floor(Number(score) / 4096);
  }

  function summary(job: Job, state: AdminJobState, delayedUntil?: number): AdminJobSummary {
    return {
      id: job.id!,
      name: job.name,
      state,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      priority: job.opts.priority ?? 0,
      enqueuedAt: job.timestamp,
      ...(job.processedOn ? { startedAt: job.processedOn } : {}),
      ...(job.finishedOn && (state === 'completed' || state === 'failed') ? { finishedAt: job.finishedOn } : {}),
      ...(delayedUntil !== undefined ? { runAt: delayedUntil } : {}),
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    };
  }

  /** A job and its state; undefined when absent. Data that does not parse: read from the hash. */
  async function load(name: string, id: string): Promise<{ job?: Job; raw?: Record<string, string>; state: AdminJobState } | undefined> {
    const q = s.reader(name);
    try {
      const job = await s.call('queue.admin', () => q.getJob(id));
      if (!job) return undefined;
      const state = await s.call('queue.admin', () => job.getState());
      if (state === 'unknown') return undefined;
      return { job, state: toState(state) };
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      const raw = await s.redis().hgetall(`${q.keys['']!}${id}`);
      const state = await s.call('queue.admin', () => q.getJobState(id));
      return { raw, state: toState(state) };
    }
  }

  function rawSummary(name: string, id: string, { raw = {}, state }: { raw?: Record<string, string>; state: AdminJobState }): AdminJobSummary {
    return { id, name: raw.name ?? name, state, attemptsMade: Number(raw.atm ?? 0), maxAttempts: 1, priority: Number(raw.priority ?? 0), enqueuedAt: Number(raw.timestamp ?? 0) };
  }

  async function ids(name: string, state: AdminJobState, [start, end]: readonly [number, number]): Promise<string[]> {
    return s.call('queue.admin', () => s.reader(name).getRanges([TYPE[state]], start, end, ASC[state]));
  }

  const admin: QueueAdapterAdmin = {
    async list(name, state, page: AdminPage) {
      const q = s.reader(name);
      const found = await ids(name, state, [page.offset, page.offset + page.limit - 1]);
      const rows = await Promise.all(
        found.map(async (id) => {
          const loaded = await load(name, id);
          if (!loaded) return undefined;
          if (!loaded.job) return rawSummary(name, id, { raw: loaded.raw, state });
          return summary(loaded.job, state, state === 'delayed' ? await runAt(q, id) : undefined);
        }),
      );
      return rows.filter((r): r is AdminJobSummary => r !== undefined);
    },
    async job(name, id): Promise<AdminJobDetail | undefined> {
      const loaded = await load(name, id);
      if (!loaded) return undefined;
      const q = s.reader(name);
      const { logs } = await s.call('queue.admin', () => q.getJobLogs(id, -MAX_JOB_LOG_LINES, -1, true));
      if (!loaded.job) {
        const raw = loaded.raw ?? {};
        return { ...rawSummary(name, id, { raw, state: loaded.state }), data: parseStored(raw.data), progress: 0, logs };
      }
      const job = loaded.job;
      const stack = job.stacktrace?.at(-1);
      return {
        ...summary(job, loaded.state, loaded.state === 'delayed' ? await runAt(q, id) : undefined),
        data: { ok: true, value: job.data },
        progress: job.progress as JobProgress,
        ...(loaded.state === 'completed' ? { result: job.returnvalue } : {}),
        ...(stack ? { stack } : {}),
        logs,
      };
    },
    async counts(name): Promise<AdminCounts> {
      const q = s.reader(name);
      const [c, paused] = await Promise.all([
        s.call('queue.admin', () => q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed')),
        s.call('queue.admin', () => q.isPaused()),
      ]);
      return { waiting: c.waiting ?? 0, prioritized: c.prioritized ?? 0, delayed: c.delayed ?? 0, active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, paused };
    },
    async retry(name, id) {
      const loaded = await load(name, id);
      if (!loaded?.job || loaded.state !== 'failed') return false;
      const job = loaded.job;
      await s.call('queue.admin', () => job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }));
      // After the move: the store removes a letter's job from the failed set, and it is not there now.
      await s.deadLetters.remove([id]);
      return true;
    },
    async promote(name, id) {
      const loaded = await load(name, id);
      if (!loaded?.job || loaded.state !== 'delayed') return false;
      const job = loaded.job;
      await s.call('queue.admin', () => job.promote());
      return true;
    },
    async remove(name, id) {
      const q = s.reader(name);
      const state = await s.call('queue.admin', () => q.getJobState(id));
      if (state === 'unknown' || state === 'active') return false;
      return (await s.call('queue.admin', () => q.remove(id))) === 1;
    },
    async pause(name) {
      await s.call('queue.admin', () => s.writer(name).pause());
    },
    async resume(name) {
      await s.call('queue.admin', () => s.writer(name).resume());
    },
    async clean(name, options: AdminCleanOptions) {
      const q = s.reader(name);
      const before = Date.now() - options.olderThanMs;
      const finished = options.state === 'completed' || options.state === 'failed';
      let candidates: string[];
      if (finished) {
        // Scored by finishedOn: the oldest first, pushed into Redis.
        candidates = await s.redis().zrangebyscore(q.keys[options.state]!, '-inf', before, 'LIMIT', 0, options.limit);
      } else {
        const scanned = await ids(name, options.state, [0, CLEAN_SCAN - 1]);
        const pipe = s.redis().pipeline();
        for (const id of scanned) pipe.hget(`${q.keys['']!}${id}`, 'timestamp');
        const stamps = (await pipe.exec()) ?? [];
        candidates = scanned
          .map((id, i) => ({ id, at: Number(stamps[i]?.[1] ?? NaN) }))
          .filter((e) => e.at <= before)
          .sort((a, b) => a.at - b.at)
          .slice(0, options.limit)
          .map((e) => e.id);
      }
      if (options.dryRun) return candidates;
      const removed: string[] = [];
      for (const id of candidates) if ((await s.call('queue.admin', () => q.remove(id))) === 1) removed.push(id);
      return removed;
    },
    async recordRates(buckets: readonly RateBucket[]) {
      const byName = new Map<string, RateBucket[]>();
      for (const b of buckets) byName.set(b.name, [...(byName.get(b.name) ?? []), b]);
      await Promise.all(
        [...byName].map(async ([name, list]) => {
          const key = ratesKey(name);
          const pipe = s.redis().pipeline();
          for (const b of list) {
            if (b.enqueued) pipe.hincrby(key, `${b.minute}:e`, b.enqueued);
            if (b.completed) pipe.hincrby(key, `${b.minute}:c`, b.completed);
            if (b.failed) pipe.hincrby(key, `${b.minute}:f`, b.failed);
          }
          pipe.expire(key, (RATE_MINUTES + 5) * 60);
          await pipe.exec();
          const oldest = Math.floor(Date.now() / 60_000) - RATE_MINUTES;
          const stale = (await s.redis().hkeys(key)).filter((f) => Number(f.split(':')[0]) < oldest);
          if (stale.length > 0) await s.redis().pipeline().hdel(key, ...stale).exec();
        }),
      );
    },
    async rates(name, fromMinute) {
      const fields = await s.redis().hgetall(ratesKey(name));
      const byMinute = new Map<number, { enqueued: number; completed: number; failed: number }>();
      for (const [field, value] of Object.entries(fields)) {
        const [m, kind] = field.split(':');
        const minute = Number(m);
        if (!Number.isInteger(minute) || minute < fromMinute) continue;
        const b = byMinute.get(minute) ?? { enqueued: 0, completed: 0, failed: 0 };
        if (kind === 'e') b.enqueued += Number(value);
        else if (kind === 'c') b.completed += Number(value);
        else if (kind === 'f') b.failed += Number(value);
        byMinute.set(minute, b);
      }
      return [...byMinute].sort(([a], [b]) => a - b).map(([minute, b]) => ({ name, minute, ...b }));
    },
  };
  return admin;
}
