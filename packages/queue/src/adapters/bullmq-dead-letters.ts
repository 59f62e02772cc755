/**
 * The BullMQ adapter's dead-letter store, in Redis under the queue prefix (BullMQ's own failed
 * set is pruned by retention and cannot be queried by name, error or time):
 *
 *   <prefix>:#dead-letters          hash  job id -> record JSON
 *   <prefix>:#dead-letters:t        zset  job id scored by failedAt (ms)
 *   <prefix>:#dead-letters:n:<name> zset  the same, per job name
 *
 * `#` cannot appear in a job name, so these keys never collide with BullMQ's queue keys. Queries
 * push their page into Redis (`ZRANGEBYSCORE ... LIMIT offset count`). On a Redis Cluster the
 * three keys share one hash tag (bullmq-keys.ts), so every MULTI here stays on one slot; reading a
 * job of BullMQ's failed set goes to that job's queue slot, in a command of its own.
 *
 * Jobs that failed for good without our worker writing a record (a plain BullMQ worker failed
 * them, or our write failed) are still in BullMQ's failed set: before a query or a count, the
 * store imports the newest `IMPORT_SCAN` failed jobs of every registered job name that it does not
 * hold yet (at most once per `IMPORT_EVERY_MS`). Removing a letter also removes its job from
 * BullMQ's failed set, so a discarded or replayed letter is not imported again.
 */
import type { DeadLetterRange, DeadLetterRecord, DeadLetterStore } from '@events/core';
import type { Job, Queue } from 'bullmq';
import { parseStored } from '../job-format.js';
import type { RedisClient } from './bullmq-connection.js';
import { keyLayout, type DeadLetterKeys, type KeyLayout } from './bullmq-keys.js';

export const IMPORT_SCAN = 1000;
export const IMPORT_EVERY_MS = 1000;

/** The dead-letter keys on one Redis (on a cluster: `keyLayout(prefix, true).deadLetters`). */
export function deadLetterKeys(prefix: string): DeadLetterKeys {
  return keyLayout(prefix, false).deadLetters;
}

/** MULTI replies carry per-command errors; exec() itself resolves. A lost write must not pass as done. */
function checkExec(replies: Array<[Error | null, unknown]> | null): void {
  if (replies === null) throw new Error('dead-letter write aborted (MULTI discarded)');
  for (const [error] of replies) if (error) throw error;
}

/** A record as stored: `queue` = the job name whose BullMQ queue held the job (differs for an UnknownJobError). */
export type StoredRecord = DeadLetterRecord & { readonly queue?: string };

export async function putDeadLetter(redis: RedisClient, keys: DeadLetterKeys, record: StoredRecord): Promise<void> {
  checkExec(
    await redis
      .multi()
      .hset(keys.hash, record.id, JSON.stringify(record))
      .zadd(keys.byTime, record.failedAt, record.id)
      .zadd(keys.byName(record.name), record.failedAt, record.id)
      .exec(),
  );
}

/** A dead-letter record for a job BullMQ holds as failed. */
export interface FailedJobRef {
  /** The job name whose queue holds the job. */
  readonly name: string;
  /** The job's hash (`KeyLayout.jobKey`). */
  readonly jobKey: string;
  readonly id: string;
  /** The job as BullMQ read it; undefined when its data does not parse. */
  readonly job: Job | undefined;
}

export async function recordOfFailed(redis: RedisClient, ref: FailedJobRef): Promise<StoredRecord | undefined> {
  const { jobKey, name, id, job } = ref;
  if (job) {
    const stack = job.stacktrace?.at(-1);
    return {
      queue: name,
      id,
      name: job.name,
      data: { ok: true, value: job.data },
      error: { name: 'Error', message: job.failedReason || 'failed (no reason recorded)', ...(stack ? { stack } : {}) },
      attemptsMade: job.attemptsMade,
      enqueuedAt: job.timestamp,
      failedAt: job.finishedOn ?? Date.now(),
    };
  }
  // Data BullMQ cannot parse: read the hash ourselves and keep the raw text.
  const raw = await redis.hmget(jobKey, 'data', 'name', 'failedReason', 'attemptsMade', 'timestamp', 'finishedOn');
  if (raw[1] === null) return undefined;
  return {
    queue: name,
    id,
    name: raw[1] ?? name,
    data: parseStored(raw[0] ?? undefined),
    error: { name: 'Error', message: raw[2] || 'failed (no reason recorded)' },
    attemptsMade: Number(raw[3] ?? 0),
    enqueuedAt: Number(raw[4] ?? 0),
    failedAt: Number(raw[5] ?? Date.now()),
  };
}

function withoutQueue(record: StoredRecord): DeadLetterRecord {
  const { queue: _queue, ...rest } = record;
  return rest;
}

export interface StoreSettings {
  readonly layout: KeyLayout;
  readonly redis: () => RedisClient;
  /** A BullMQ queue to read a job name's queue with (never one that writes `meta`). */
  readonly reader: (name: string) => Queue;
  /** Registered job names whose BullMQ failed sets are imported. */
  readonly names: () => readonly string[];
}

export function createRedisDeadLetterStore(settings: StoreSettings): DeadLetterStore {
  const { layout } = settings;
  const keys = layout.deadLetters;
  const zkey = (range: DeadLetterRange): string => (range.name === undefined ? keys.byTime : keys.byName(range.name));
  const bounds = (range: DeadLetterRange): [string, string] => [
    range.from === undefined ? '-inf' : String(range.from),
    range.to === undefined ? '+inf' : String(range.to),
  ];
  let importedAt = 0;
  let importing: Promise<void> | undefined;

  async function importName(redis: RedisClient, name: string): Promise<void> {
    const q = settings.reader(name);
    const ids = await q.getRanges(['failed'], 0, IMPORT_SCAN - 1, false);
    if (ids.length === 0) return;
    const held = await redis.hmget(keys.hash, ...ids);
    for (let i = 0; i < ids.length; i += 1) {
      if (held[i] !== null) continue;
      const id = ids[i]!;
      let job: Job | undefined;
      try {
        job = await q.getJob(id);
      } catch {
        job = undefined; // undecodable data: read raw below
      }
      const record = await recordOfFailed(redis, { name, jobKey: layout.jobKey(name, id), id, job });
      if (record) await putDeadLetter(redis, keys, record);
    }
  }

  /** Imports BullMQ's failed jobs of the registered names (throttled; concurrent callers share one run). */
  function importFailed(): Promise<void> {
    if (Date.now() - importedAt < IMPORT_EVERY_MS) return Promise.resolve();
    importing ??= (async () => {
      const redis = settings.redis();
      for (const name of settings.names()) await importName(redis, name);
      importedAt = Date.now();
    })().finally(() => {
      importing = undefined;
    });
    return importing;
  }

  return {
    async put(record) {
      await putDeadLetter(settings.redis(), keys, record);
    },
    async query(range) {
      await importFailed();
      const redis = settings.redis();
      let ids: string[];
      if (range.ids) {
        // Named ids: check each one's score against the range, in one round trip.
        const tx = redis.pipeline();
        for (const id of range.ids) tx.zscore(zkey(range), id);
        const scores = (await tx.exec()) ?? [];
        const [lo, hi] = [range.from ?? -Infinity, range.to ?? Infinity];
        ids = range.ids
          .map((id, i) => ({ id, score: scores[i]?.[1] === null || scores[i]?.[1] === undefined ? NaN : Number(scores[i]![1]) }))
          .filter((e) => e.score >= lo && e.score <= hi)
          .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1))
          .map((e) => e.id)
          .slice(range.offset ?? 0, range.limit === undefined ? undefined : (range.offset ?? 0) + range.limit);
      } else if (range.limit !== undefined || range.offset !== undefined) {
        ids = await redis.zrangebyscore(zkey(range), ...bounds(range), 'LIMIT', range.offset ?? 0, range.limit ?? -1);
      } else {
        ids = await redis.zrangebyscore(zkey(range), ...bounds(range));
      }
      if (ids.length === 0) return [];
      const rows = await redis.hmget(keys.hash, ...ids);
      return rows.filter((row): row is string => row !== null).map((row) => withoutQueue(JSON.parse(row) as StoredRecord));
    },
    async count(range) {
      await importFailed();
      if (range.ids) return (await this.query({ ...range, limit: undefined, offset: undefined })).length;
      return settings.redis().zcount(zkey(range), ...bounds(range));
    },
    async remove(ids) {
      if (ids.length === 0) return 0;
      const redis = settings.redis();
      const rows = await redis.hmget(keys.hash, ...ids);
      const tx = redis.multi();
      const gone: StoredRecord[] = [];
      rows.forEach((row, i) => {
        if (row === null) return;
        const record = JSON.parse(row) as StoredRecord;
        gone.push(record);
        tx.zrem(keys.byTime, ids[i]!).zrem(keys.byName(record.name), ids[i]!).hdel(keys.hash, ids[i]!);
      });
      checkExec(await tx.exec());
      // Out of BullMQ's failed set too, or the next query would import it again.
      for (const record of gone) {
        const q = settings.reader(record.queue ?? record.name);
        if ((await q.getJobState(record.id)) === 'failed') await q.remove(record.id).catch(() => undefined);
      }
      return gone.length;
    },
  };
}
