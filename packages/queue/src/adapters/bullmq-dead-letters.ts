/**
 * The BullMQ adapter's dead-letter store, in Redis under the queue prefix (BullMQ's own failed
 * set is pruned by retention and cannot be queried by name, error or time):
 *
 *   <prefix>:#dead-letters          hash  job id -> record JSON
 *   <prefix>:#dead-letters:t        zset  job id scored by failedAt (ms)
 *   <prefix>:#dead-letters:n:<name> zset  the same, per job name
 *
 * `#` cannot appear in a job name, so these keys never collide with BullMQ's queue keys.
 */
import type { DeadLetterRange, DeadLetterRecord, DeadLetterStore } from '@events/core';
import type { Redis } from 'ioredis';

export function deadLetterKeys(prefix: string): { hash: string; byTime: string; byName: (name: string) => string } {
  const base = `${prefix}:#dead-letters`;
  return { hash: base, byTime: `${base}:t`, byName: (name) => `${base}:n:${name}` };
}

export function createRedisDeadLetterStore(redis: Redis, prefix: string): DeadLetterStore {
  const keys = deadLetterKeys(prefix);
  const zkey = (range: DeadLetterRange): string => (range.name === undefined ? keys.byTime : keys.byName(range.name));
  const bounds = (range: DeadLetterRange): [string, string] => [
    range.from === undefined ? '-inf' : String(range.from),
    range.to === undefined ? '+inf' : String(range.to),
  ];
  return {
    async put(record) {
      await redis
        .multi()
        .hset(keys.hash, record.id, JSON.stringify(record))
        .zadd(keys.byTime, record.failedAt, record.id)
        .zadd(keys.byName(record.name), record.failedAt, record.id)
        .exec();
    },
    async query(range) {
      const ids = await redis.zrangebyscore(zkey(range), ...bounds(range));
      if (ids.length === 0) return [];
      const rows = await redis.hmget(keys.hash, ...ids);
      return rows.filter((row): row is string => row !== null).map((row) => JSON.parse(row) as DeadLetterRecord);
    },
    async count(range) {
      return redis.zcount(zkey(range), ...bounds(range));
    },
    async remove(ids) {
      if (ids.length === 0) return 0;
      const rows = await redis.hmget(keys.hash, ...ids);
      const tx = redis.multi();
      rows.forEach((row, i) => {
        if (row === null) return;
        const { name } = JSON.parse(row) as DeadLetterRecord;
        tx.zrem(keys.byTime, ids[i]!).zrem(keys.byName(name), ids[i]!).hdel(keys.hash, ids[i]!);
      });
      await tx.exec();
      return rows.filter((row) => row !== null).length;
    },
  };
}
