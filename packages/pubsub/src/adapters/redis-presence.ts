/**
 * Presence storage of the Redis adapter. Per channel two keys, hash-tagged on the transport
 * channel so both live in one slot of a Redis Cluster (the slot of the channel itself when its
 * name holds no `{`):
 *
 * - `{<namespace>:<channel>}:presence`       sorted set: member id -> expiry time (ms, Redis clock)
 * - `{<namespace>:<channel>}:presence:info`  hash: member id -> JSON description
 *
 * Each call is one Lua script over those two keys, so it is atomic, and it reads the time from
 * Redis (`TIME`): the nodes' own clocks never decide who expired. A node rewrites its members
 * every heartbeat; a member whose node stopped (killed, cut off) is not listed once its expiry
 * passed and is removed by the next `list` on that channel (lazily, or by any node's periodic
 * sweep). Both keys expire by themselves 1 s after the last member could have, so a channel
 * nobody touches again leaves nothing behind.
 */
import type { PubSubPresenceRecord, PubSubPresenceStore } from '@events/core';

/** The one command this store needs: a `Redis` or a `Cluster` from ioredis fits. */
export interface RedisPresenceClient {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const UPSERT = `${NOW}
local ttl = tonumber(ARGV[1])
local added = {}
for i = 2, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then added[#added + 1] = ARGV[i] end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
local keep = ttl + 1000
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
end
return added`;

const REMOVE = `local out = {}
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or ''
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return out`;

const LIST = `${NOW}
local gone = {}
local sweep = tonumber(ARGV[2])
if sweep > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, sweep)) do
    gone[#gone + 1] = id
    gone[#gone + 1] = redis.call('HGET', KEYS[2], id) or ''
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
local after = string.format('(%d', now)
local total = redis.call('ZCOUNT', KEYS[1], after, '+inf')
local live = {}
local limit = tonumber(ARGV[1])
if limit > 0 and total > 0 then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], after, '+inf', 'LIMIT', 0, limit)
  if #ids > 0 then
    local data = redis.call('HMGET', KEYS[2], unpack(ids))
    for i, id in ipairs(ids) do
      live[#live + 1] = id
      live[#live + 1] = data[i] or ''
    end
  end
end
return { total, live, gone }`;

/** Members written per script call, so one call never holds Redis long. */
const CHUNK = 500;

/** The two keys of a transport channel. */
export function presenceKeys(key: string): [string, string] {
  return [`{${key}}:presence`, `{${key}}:presence:info`];
}

function pairs(flat: unknown): PubSubPresenceRecord[] {
  const list = Array.isArray(flat) ? (flat as unknown[]) : [];
  const out: PubSubPresenceRecord[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push({ id: String(list[i]), data: String(list[i + 1]) });
  return out;
}

/** `client()` is the adapter's publisher connection of the moment (absent before start). */
export function redisPresenceStore(client: () => RedisPresenceClient | undefined): PubSubPresenceStore {
  const run = (script: string, key: string, args: (string | number)[]): Promise<unknown> => {
    const c = client();
    if (!c) return Promise.reject(new Error('the Redis pubsub adapter is not started'));
    return c.eval(script, 2, ...presenceKeys(key), ...args);
  };
  return {
    async upsert(key, members, ttlMs) {
      const added: string[] = [];
      for (let i = 0; i < members.length; i += CHUNK) {
        const args: (string | number)[] = [ttlMs];
        for (const m of members.slice(i, i + CHUNK)) args.push(m.id, m.data);
        const reply = await run(UPSERT, key, args);
        if (Array.isArray(reply)) added.push(...reply.map(String));
      }
      return added;
    },
    async remove(key, ids) {
      const removed: PubSubPresenceRecord[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) removed.push(...pairs(await run(REMOVE, key, ids.slice(i, i + CHUNK))));
      return removed;
    },
    async list(key, limit, maxSweep) {
      const reply = (await run(LIST, key, [limit, maxSweep])) as [number, unknown, unknown];
      return { total: Number(reply[0]), members: pairs(reply[1]), expired: pairs(reply[2]) };
    },
  };
}
