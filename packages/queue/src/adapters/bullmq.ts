/**
 * The BullMQ adapter, as a value: `createQueue({ adapter: bullmqQueue({ url, prefix }) })`. One
 * plain BullMQ queue per job name (`:` in a name is stored as `%3A`), plain workers, ioredis
 * connections opened at `start()` (a failed start closes them; start may be retried). Durable and
 * at-least-once: a worker that dies mid-job loses its lock and BullMQ's stalled-job check hands
 * the job to another worker. Redis must not evict keys (`maxmemory-policy noeviction`): eviction
 * silently loses jobs and locks, so start() refuses any other policy unless `evictionPolicy: 'warn'`.
 * While Redis is unreachable an enqueue waits (bounded, capped) for the reconnect, never in an
 * unbounded client-side buffer; close settles within its timeout whatever Redis does.
 *
 * On a Redis Cluster (`cluster: { nodes }`) each job name's keys carry a hash tag (bullmq-keys.ts):
 * one queue on one slot, as BullMQ needs, several names spread over the primaries. Replication is
 * asynchronous, so a failover can lose enqueues the old primary had confirmed; `durableEnqueue`
 * (bullmq-durable.ts) makes an enqueue wait for replicas with WAIT.
 */
import {
  ConfigError,
  InvalidOptionError,
  drainWithin,
  type CloseOptions,
  type JobCounts,
  type QueueAdapter,
  type QueueAdapterContext,
  type QueueAdapterJob,
  type ScheduleSpec,
  type StoredJobInfo,
} from '@events/core';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseStored } from '../job-format.js';
import { Connections } from './bullmq-connection.js';
import { startConsumer } from './bullmq-consumer.js';
import { createBullmqAdmin } from './bullmq-admin.js';
import { createRedisDeadLetterStore } from './bullmq-dead-letters.js';
import { addReplicated, type DurableEnqueueOptions } from './bullmq-durable.js';
import { createEventPublisher, watchEvents, type EventPublisher } from './bullmq-events.js';
import { checkEviction } from './bullmq-eviction.js';
import { keyLayout } from './bullmq-keys.js';
import { toJobsOptions } from './bullmq-options.js';
import { QueueObjects } from './bullmq-queues.js';

export { cappedBackoff, toBullBackoff } from './bullmq-options.js';
export { bullmqQueueName } from './bullmq-queues.js';
export { keyLayout, keySlot, type KeyLayout } from './bullmq-keys.js';
export { NotReplicatedError, type DurableEnqueueOptions } from './bullmq-durable.js';

export interface BullmqAdapterOptions {
  /** Redis URL for the connections the adapter opens. Default: `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Your own ioredis connection, used as a template: the adapter duplicates it (its host, TLS and
   * auth settings) for its producer connection (offline queue off) and its worker connection
   * (`maxRetriesPerRequest: null`, which BullMQ needs), and never closes yours. Default: none.
   */
  connection?: Redis;
  /**
   * A Redis Cluster instead of `url`: `nodes` are seed `host:port` addresses (one live seed is
   * enough; list several). Keys get a hash tag per job name (see docs/queue.md). Default: none.
   */
  cluster?: { readonly nodes: readonly string[] };
  /**
   * Wait for replicas after each enqueue (`WAIT`), so a failover right after the enqueue cannot
   * lose the job; an enqueue not confirmed in time rejects with NotReplicatedError. Costs one
   * round trip of up to `timeoutMs` per enqueue. Default: off.
   */
  durableEnqueue?: DurableEnqueueOptions;
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
  /** Longest wait for Redis at `start()`. Default: 10 000 ms. */
  startTimeoutMs?: number;
  /** Enqueues (and other producer calls) waiting at once for Redis to come back; the next gets BackpressureError at once. Default: 1 000. */
  maxWaitingEnqueues?: number;
  /** Read-only BullMQ queue objects kept for names this process only reads (`counts`, `getJob`). Default: 32. */
  maxReaders?: number;
}

export const BULLMQ_DEFAULTS = { url: 'redis://127.0.0.1:6379', prefix: 'bull', startTimeoutMs: 10_000, maxWaitingEnqueues: 1000, maxReaders: 32 } as const;

/** Jobs one enqueueMany may store: one MULTI of that many scripts, held in memory while sent. */
export const MAX_JOBS_PER_ADD = 10_000;

/** Producer calls that are not enqueues (reads, schedules) wait for a reconnect at most this long. */
const CALL_TIMEOUT_MS = 5_000;

function checkClusterOptions(options: BullmqAdapterOptions, prefix: string): void {
  const nodes = options.cluster?.nodes;
  if (nodes === undefined) return;
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every((n) => typeof n === 'string' && /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(n))) {
    throw new InvalidOptionError('bullmqQueue cluster.nodes', 'must list one or more host:port seeds, e.g. ["127.0.0.1:7000"]');
  }
  if (options.connection) throw new InvalidOptionError('bullmqQueue cluster', 'cannot be given with connection: pass one of them');
  if (/[{}]/.test(prefix)) throw new InvalidOptionError('bullmqQueue prefix', `"${prefix}" holds a hash tag; on a cluster the adapter tags each job name's keys itself (a tag in the prefix would put every queue on one slot)`);
}

function durableSettings(d: DurableEnqueueOptions | undefined): { replicas: number; timeoutMs: number } | undefined {
  if (d === undefined) return undefined;
  const replicas = d.replicas ?? 1;
  const timeoutMs = d.timeoutMs ?? 1000;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) throw new InvalidOptionError('bullmqQueue durableEnqueue.replicas', 'must be an integer from 1 to 100');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) throw new InvalidOptionError('bullmqQueue durableEnqueue.timeoutMs', 'must be an integer from 1 to 60000 (ms)');
  return { replicas, timeoutMs };
}

export function bullmqQueue(options: BullmqAdapterOptions = {}): QueueAdapter {
  const prefix = options.prefix ?? BULLMQ_DEFAULTS.prefix;
  checkClusterOptions(options, prefix);
  const durable = durableSettings(options.durableEnqueue);
  const layout = keyLayout(prefix, options.cluster !== undefined);
  const warn = options.onWarning ?? ((m: string) => console.warn(`[@events/queue] ${m}`));
  const noContext: QueueAdapterContext = { report: () => undefined, names: () => [], signal: new AbortController().signal };
  let context = noContext;
  let connections: Connections | undefined;
  let queues: QueueObjects | undefined;
  let events: EventPublisher | undefined;
  const consumers = new Set<{ close(o?: CloseOptions): Promise<void> }>();
  const registered = new Set<string>();

  function open(): { connections: Connections; queues: QueueObjects; events: EventPublisher } {
    if (!connections || !queues || !events) throw new ConfigError('the BullMQ queue adapter is not started (call queue.start())');
    return { connections, queues, events };
  }

  /** A producer call, bounded: waits for a reconnect in the capped line, then runs. */
  function call<T>(what: string, command: () => Promise<T>, bounds: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    return open().connections.run(command, { what, timeoutMs: bounds.timeoutMs ?? CALL_TIMEOUT_MS, ...(bounds.signal ? { signal: bounds.signal } : {}) });
  }

  const names = (): string[] => [...new Set([...registered, ...context.names()])];
  const deadLetters = createRedisDeadLetterStore({ layout, redis: () => open().connections.producer(), reader: (n) => open().queues.reader(n), names });

  /** Runs one add; with durableEnqueue, then WAITs for the replicas on the connection that carried it. */
  function stored<T>(name: string, ids: readonly string[], add: () => Promise<T>): () => Promise<T> {
    if (!durable) return add;
    return () => addReplicated({ client: open().connections.producer(), key: layout.jobKey(name, ids[0] ?? ''), jobIds: ids, ...durable }, add);
  }

  const adapter: QueueAdapter = {
    kind: 'bullmq',
    deadLetters,
    // Job administration (bullmq-admin.ts), on the same queue objects and producer connection.
    admin: createBullmqAdmin({
      prefix,
      reader: (n) => open().queues.reader(n),
      writer: (n) => open().queues.writer(n),
      redis: () => open().connections.producer() as Redis,
      call: (what, command) => call(what, command),
      deadLetters,
    }),
    async start(ctx) {
      context = ctx ?? noContext;
      connections = new Connections({
        url: options.url ?? BULLMQ_DEFAULTS.url,
        ...(options.connection ? { connection: options.connection } : {}),
        ...(options.cluster ? { cluster: options.cluster.nodes } : {}),
        maxWaiting: options.maxWaitingEnqueues ?? BULLMQ_DEFAULTS.maxWaitingEnqueues,
        onError: (error) => context.report('transport', error),
      });
      queues = new QueueObjects(() => open().connections.producer(), layout, options.maxReaders ?? BULLMQ_DEFAULTS.maxReaders);
      events = createEventPublisher(connections.producer(), prefix);
      await connections.open(options.startTimeoutMs ?? BULLMQ_DEFAULTS.startTimeoutMs, context.signal);
      await checkEviction(connections.producer(), { mode: options.evictionPolicy ?? 'refuse', warn });
    },
    health() {
      const c = connections;
      return { connected: c?.connected ?? false, counts: { waitingForConnection: c?.waiting ?? 0, ...(queues?.counts ?? { queues: 0, readers: 0 }) } };
    },
    async add(jobs, addOptions = {}) {
      if (jobs.length > MAX_JOBS_PER_ADD) {
        throw new InvalidOptionError('enqueueMany', `at most ${MAX_JOBS_PER_ADD} jobs per call, got ${jobs.length}; nothing was stored: split the batch`);
      }
      const { queues: q } = open();
      const bounds = { ...(addOptions.timeoutMs !== undefined ? { timeoutMs: addOptions.timeoutMs } : {}), ...(addOptions.signal ? { signal: addOptions.signal } : {}) };
      for (const job of jobs) registered.add(job.name);
      if (jobs.length === 1) {
        // One job: Queue.add is one EVALSHA; addBulk would wrap it in a MULTI pipeline (3x the CPU).
        const job = jobs[0]!;
        await call('queue.enqueue', stored(job.name, [job.id], () => q.writer(job.name).add(job.name, job.data, toJobsOptions(job.id, job.options))), bounds);
        return [job.id];
      }
      const byName = new Map<string, QueueAdapterJob[]>();
      for (const job of jobs) {
        const list = byName.get(job.name);
        if (list) list.push(job);
        else byName.set(job.name, [job]);
      }
      await Promise.all(
        [...byName].map(([name, list]) =>
          call('queue.enqueueMany', stored(name, list.map((j) => j.id), () => q.writer(name).addBulk(list.map((j) => ({ name, data: j.data, opts: toJobsOptions(j.id, j.options) })))), bounds),
        ),
      );
      return jobs.map((j) => j.id);
    },
    async consume(name, handler, consumeOptions) {
      const { connections: c, queues: q, events: e } = open();
      registered.add(name);
      q.writer(name);
      const consumer = await startConsumer(
        { layout, connections: c, events: e, report: (kind, error, facts) => context.report(kind, error, facts), lockDuration: options.lockDuration, stalledInterval: options.stalledInterval, maxStalledCount: options.maxStalledCount },
        { name, handler, options: consumeOptions },
      );
      const tracked = {
        get running() {
          return consumer.running;
        },
        async close(closeOptions?: CloseOptions) {
          consumers.delete(tracked);
          await consumer.close(closeOptions);
        },
      };
      consumers.add(tracked);
      return tracked;
    },
    async watch(onEvent) {
      const { connections: c, events: e } = open();
      const unwatch = await watchEvents(c.extra(), prefix, onEvent);
      e.listenerJoined();
      return unwatch;
    },
    async schedule(id, spec: ScheduleSpec, template) {
      const { queues: q } = open();
      registered.add(template.name);
      const repeat = spec.every !== undefined ? { every: spec.every } : { pattern: spec.cron!, ...(spec.tz ? { tz: spec.tz } : {}) };
      const opts = toJobsOptions(undefined, template.options);
      await call('queue.schedule', () => q.writer(template.name).upsertJobScheduler(id, repeat, { name: template.name, data: template.data, opts }));
    },
    async unschedule(name, id) {
      return call('queue.unschedule', () => open().queues.reader(name).removeJobScheduler(id));
    },
    async getJob(name, id): Promise<StoredJobInfo | undefined> {
      const q = open().queues.reader(name);
      let job: Job | undefined;
      try {
        job = await call('queue.getJob', () => q.getJob(id));
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        const raw = await call('queue.getJob', () => open().connections.producer().hget(layout.jobKey(name, id), 'data'));
        return raw === null ? undefined : { id, name, state: 'waiting', data: parseStored(raw), attemptsMade: 0, progress: 0 };
      }
      if (!job) return undefined;
      const state = await call('queue.getJob', () => job.getState());
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
      const c = await call('queue.counts', () => open().queues.reader(name).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'));
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
    },
    async close(closeOptions: CloseOptions = {}) {
      const timeoutMs = closeOptions.timeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      const left = (): number => Math.max(0, deadline - Date.now());
      const c = connections;
      const q = queues;
      connections = undefined;
      queues = undefined;
      events = undefined;
      await drainWithin(Promise.all([...consumers].map((w) => w.close({ ...closeOptions, timeoutMs: left() }))), left() + 2000);
      consumers.clear();
      if (q) await drainWithin(q.close(), left());
      // quit() within what is left; then every connection is dropped, reachable or not.
      if (c) await c.close(left(), closeOptions.force === true);
    },
  };
  return adapter;
}

/** The same as `bullmqQueue(options)` (older name). */
export const createBullmqAdapter = bullmqQueue;
