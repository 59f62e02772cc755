/**
 * The BullMQ adapter: one plain BullMQ queue per job name (`:` in a name is stored as `%3A`, since
 * BullMQ refuses it in queue names), plain workers, ioredis connections. Durable and at-least-once:
 * a worker that dies mid-job loses its lock and BullMQ's stalled-job check hands the job to another
 * worker. Redis must not evict keys (`maxmemory-policy noeviction`): eviction silently loses jobs
 * and locks, so start() refuses any other policy unless `evictionPolicy: 'warn'`.
 */
import {
  ConfigError,
  type CloseOptions,
  type JobCounts,
  type QueueAdapter,
  type QueueAdapterActiveJob,
  type QueueAdapterConsumeOptions,
  type QueueAdapterConsumer,
  type QueueAdapterEvent,
  type QueueAdapterJob,
  type ScheduleSpec,
  type StoredJobData,
  type StoredJobInfo,
} from '@events/core';
import { Queue, UnrecoverableError, Worker, type Job, type JobJson } from 'bullmq';
import { Redis } from 'ioredis';
import { parseStored } from '../job-format.js';
import { createRedisDeadLetterStore } from './bullmq-dead-letters.js';
import { createEventPublisher, watchEvents } from './bullmq-events.js';
import { cappedBackoff, toJobsOptions } from './bullmq-options.js';

export { cappedBackoff, toBullBackoff } from './bullmq-options.js';

export interface BullmqAdapterOptions {
  /** Redis URL for the connections the adapter opens. Default: `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Your own ioredis connection. The adapter uses it for queues and dead letters, duplicates it
   * with `maxRetriesPerRequest: null` for workers (BullMQ needs that), and does not close it.
   * Default: none (the adapter opens its own from `url`).
   */
  connection?: Redis;
  /** Key prefix of every key (BullMQ's and the dead letters'). Default: `bull`. */
  prefix?: string;
  /** What to do when Redis's `maxmemory-policy` is not `noeviction`. Default: `refuse`. */
  evictionPolicy?: 'refuse' | 'warn';
  /** Called with warnings (eviction policy, CONFIG not allowed). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Lock time of an active job, renewed while it runs; a dead worker's jobs return after it. Default: 30 000 ms. */
  lockDuration?: number;
  /** How often workers look for stalled jobs. Default: 30 000 ms. */
  stalledInterval?: number;
  /** Stalls a job may suffer before it fails. Default: 1. */
  maxStalledCount?: number;
}

/** BullMQ queue name for a job name. */
export function bullmqQueueName(jobName: string): string {
  return jobName.replaceAll(':', '%3A');
}

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

function toError(caught: unknown): Error {
  return caught instanceof Error ? caught : new Error(String(caught));
}

export function createBullmqAdapter(options: BullmqAdapterOptions = {}): QueueAdapter {
  const prefix = options.prefix ?? 'bull';
  const warn = options.onWarning ?? ((m: string) => console.warn(`[@events/queue] ${m}`));
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const owned: Redis[] = [];
  const client = options.connection ?? track(new Redis(url));
  // Workers block on Redis and must wait through outages instead of failing commands.
  const workerClient = track(options.connection ? options.connection.duplicate({ maxRetriesPerRequest: null }) : new Redis(url, { maxRetriesPerRequest: null }));
  const queues = new Map<string, Queue>();
  const workers = new Set<Worker>();
  const deadLetters = createRedisDeadLetterStore(client, prefix);
  const events = createEventPublisher(client, prefix);

  function track(redis: Redis): Redis {
    owned.push(redis);
    // ioredis reconnects by itself; an 'error' while Redis is away is expected, not fatal.
    redis.on('error', () => undefined);
    return redis;
  }

  function queueFor(name: string): Queue {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(bullmqQueueName(name), { connection: client, prefix });
      // Without a listener an EventEmitter 'error' (Redis away) would crash the process.
      q.on('error', () => undefined);
      queues.set(name, q);
    }
    return q;
  }

  async function checkEviction(): Promise<void> {
    let policy: string | undefined;
    try {
      const reply = (await client.config('GET', 'maxmemory-policy')) as string[];
      policy = reply[1];
    } catch (err) {
      warn(`cannot read maxmemory-policy (${(err as Error).message}); make sure it is noeviction`);
      return;
    }
    if (policy === 'noeviction') return;
    const message = `Redis maxmemory-policy is "${policy}", not "noeviction": evictions silently lose jobs and locks`;
    if (options.evictionPolicy === 'warn') warn(message);
    else throw new ConfigError(`${message}. Set it to noeviction, or pass evictionPolicy: 'warn'.`);
  }

  async function deadLetter(job: Job, error: Error, attempt: number): Promise<void> {
    const broken = undecodable.get(job);
    const data: StoredJobData = broken ? { ok: false, ...broken } : { ok: true, value: job.data };
    await deadLetters.put({
      id: job.id!,
      name: job.name,
      data,
      error: { name: error.name, message: error.message, stack: error.stack },
      attemptsMade: attempt,
      enqueuedAt: job.timestamp,
      failedAt: Date.now(),
    });
  }

  const adapter: QueueAdapter = {
    kind: 'bullmq',
    deadLetters,
    async start() {
      await checkEviction();
    },
    async add(jobs) {
      if (jobs.length === 1) {
        // One job: Queue.add is one EVALSHA; addBulk would wrap it in a MULTI pipeline (3x the CPU).
        const job = jobs[0]!;
        await queueFor(job.name).add(job.name, job.data, toJobsOptions(job.id, job.options));
        return [job.id];
      }
      const byName = new Map<string, QueueAdapterJob[]>();
      for (const job of jobs) {
        const list = byName.get(job.name);
        if (list) list.push(job);
        else byName.set(job.name, [job]);
      }
      await Promise.all(
        [...byName].map(([name, list]) => queueFor(name).addBulk(list.map((j) => ({ name, data: j.data, opts: toJobsOptions(j.id, j.options) })))),
      );
      return jobs.map((j) => j.id);
    },
    async consume(name, handler, consumeOptions: QueueAdapterConsumeOptions): Promise<QueueAdapterConsumer> {
      const attempts = new WeakMap<Job, { attempt: number; final: boolean }>();
      const emit = (event: QueueAdapterEvent): void => {
        consumeOptions.onEvent(event);
        events.publish(event);
      };
      const processor = async (job: Job): Promise<unknown> => {
        const attempt = job.attemptsMade + 1;
        const maxAttempts = job.opts.attempts ?? 1;
        const broken = undecodable.get(job);
        const active: QueueAdapterActiveJob = {
          id: job.id!,
          name: job.name,
          data: broken ? { ok: false, ...broken } : { ok: true, value: job.data },
          attempt,
          maxAttempts,
          enqueuedAt: job.timestamp,
          updateProgress: async (progress) => {
            await job.updateProgress(progress);
            emit({ type: 'progress', id: job.id!, name: job.name, progress });
          },
        };
        attempts.set(job, { attempt, final: false });
        try {
          return await handler(active);
        } catch (caught) {
          const error = toError(caught);
          const final = consumeOptions.isFinal(error) || attempt >= maxAttempts;
          attempts.set(job, { attempt, final });
          // Written before BullMQ moves the job: a crash in between re-runs the job, and the
          // record (keyed by job id) is overwritten rather than lost.
          if (final) await deadLetter(job, error, attempt);
          if (final && attempt < maxAttempts) throw new UnrecoverableError(`${error.name}: ${error.message}`);
          throw error;
        }
      };
      // Learn whether any `events: 'all'` observer listens before the first job event.
      await events.refresh();
      const worker = new EventsWorker(bullmqQueueName(name), processor, {
        connection: workerClient,
        prefix,
        concurrency: consumeOptions.concurrency,
        ...(consumeOptions.limiter ? { limiter: { max: consumeOptions.limiter.max, duration: consumeOptions.limiter.durationMs } } : {}),
        ...(options.lockDuration !== undefined ? { lockDuration: options.lockDuration } : {}),
        ...(options.stalledInterval !== undefined ? { stalledInterval: options.stalledInterval } : {}),
        ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
        settings: { backoffStrategy: cappedBackoff },
      });
      workers.add(worker);
      worker.on('completed', (job, result) => {
        const info = attempts.get(job);
        emit({ type: 'completed', id: job.id!, name: job.name, attempt: info?.attempt ?? job.attemptsMade, result });
      });
      worker.on('failed', (job, error) => {
        if (!job) return;
        const info = attempts.get(job);
        // No processor run: BullMQ failed the job itself (over its stall limit). Dead-letter it here.
        if (!info) void deadLetter(job, error, job.attemptsMade).catch(() => undefined);
        emit({ type: 'failed', id: job.id!, name: job.name, attempt: info?.attempt ?? job.attemptsMade, error, final: info?.final ?? true });
      });
      // Connection errors are retried by ioredis; BullMQ re-emits them here and we must not crash.
      worker.on('error', () => undefined);
      await worker.waitUntilReady();
      return {
        async close(closeOptions: CloseOptions = {}) {
          workers.delete(worker);
          if (closeOptions.force) return worker.close(true);
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), closeOptions.timeoutMs ?? 10_000)));
          const outcome = await Promise.race([worker.close(), late]);
          clearTimeout(timer);
          // Jobs still running keep their lock until it expires; stalled-job recovery re-runs them.
          if (outcome === 'late') await worker.disconnect();
        },
      };
    },
    async watch(onEvent) {
      const subscriber = track(client.duplicate());
      const unwatch = await watchEvents(subscriber, prefix, onEvent);
      events.listenerJoined();
      return unwatch;
    },
    async schedule(id, spec: ScheduleSpec, template) {
      const repeat = spec.every !== undefined ? { every: spec.every } : { pattern: spec.cron!, ...(spec.tz ? { tz: spec.tz } : {}) };
      const opts = toJobsOptions(undefined, template.options);
      await queueFor(template.name).upsertJobScheduler(id, repeat, { name: template.name, data: template.data, opts });
    },
    async unschedule(name, id) {
      return queueFor(name).removeJobScheduler(id);
    },
    async getJob(name, id): Promise<StoredJobInfo | undefined> {
      const q = queueFor(name);
      let job: Job | undefined;
      try {
        job = await q.getJob(id);
      } catch {
        const raw = await client.hget(`${prefix}:${bullmqQueueName(name)}:${id}`, 'data');
        return raw === null ? undefined : { id, name, state: 'waiting', data: parseStored(raw), attemptsMade: 0, progress: 0 };
      }
      if (!job) return undefined;
      const state = await job.getState();
      return {
        id,
        name: job.name,
        state: state === 'prioritized' || state === 'waiting-children' || state === 'unknown' ? 'waiting' : state,
        data: { ok: true, value: job.data },
        attemptsMade: job.attemptsMade,
        progress: job.progress as StoredJobInfo['progress'],
        ...(state === 'completed' ? { result: job.returnvalue } : {}),
        ...(job.failedReason ? { failedReason: job.failedReason } : {}),
      };
    },
    async counts(name): Promise<JobCounts> {
      // BullMQ 6 keeps the jobs of a paused queue in 'wait': there is no 'paused' count any more.
      const c = await queueFor(name).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
    },
    async close(closeOptions: CloseOptions = {}) {
      await Promise.all([...workers].map((w) => w.close(closeOptions.force === true)));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await Promise.all(owned.map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
  return adapter;
}
