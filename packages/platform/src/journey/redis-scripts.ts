/**
 * The Redis journey store's one write: a batch of steps grouped by journey, applied atomically in
 * one round trip, with every bound kept inside Redis. Every key of the store shares one hash tag
 * (`{journey}`), so on a Redis Cluster the script touches one slot; the keys it builds from the
 * prefix are in that slot too (P is `<prefix>:{journey}`, the prefix being the platform's
 * namespace, else its BullMQ prefix, else `events`):
 *
 *   P:j:<correlation id>  list of the journey's steps (JSON), the newest `maxSteps` kept
 *   P:x:<correlation id>  set of the index values pointing at the journey (for eviction), at most `maxValues`
 *   P:i:<value>           sorted set value -> correlation ids by last touch, at most `perKey`
 *   P:recent              sorted set of journeys by last touch, at most `maxJourneys`: past it
 *                         the least recently touched are deleted with their index entries
 *
 * Every key gets the TTL again at each write, so a quiet store empties itself.
 */

/** KEYS[1] = recent; ARGV = prefix, ttlMs, maxSteps, perKey, maxValues, maxJourneys, batch (JSON). */
export const WRITE_SCRIPT = `
local p = ARGV[1]
local ttl = tonumber(ARGV[2])
local maxSteps = tonumber(ARGV[3])
local perKey = tonumber(ARGV[4])
local maxValues = tonumber(ARGV[5])
local maxJourneys = tonumber(ARGV[6])
local batch = cjson.decode(ARGV[7])
for _, j in ipairs(batch) do
  local cid = j[1]
  local at = j[2]
  local list = p .. 'j:' .. cid
  local steps = j[3]
  for i = 1, #steps, 100 do
    redis.call('RPUSH', list, unpack(steps, i, math.min(i + 99, #steps)))
  end
  redis.call('LTRIM', list, -maxSteps, -1)
  redis.call('PEXPIRE', list, ttl)
  local xkey = p .. 'x:' .. cid
  for _, v in ipairs(j[4]) do
    local keep = true
    if redis.call('SADD', xkey, v) == 1 and redis.call('SCARD', xkey) > maxValues then
      redis.call('SREM', xkey, v)
      keep = false
    end
    if keep then
      local ikey = p .. 'i:' .. v
      -- Only a new member can push the key past its bound.
      if redis.call('ZADD', ikey, at, cid) == 1 then redis.call('ZREMRANGEBYRANK', ikey, 0, -perKey - 1) end
      redis.call('PEXPIRE', ikey, ttl)
    end
  end
  redis.call('PEXPIRE', xkey, ttl)
  redis.call('ZADD', KEYS[1], at, cid)
end
redis.call('PEXPIRE', KEYS[1], ttl)
local excess = redis.call('ZCARD', KEYS[1]) - maxJourneys
local evicted = 0
if excess > 0 then
  for _, cid in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do
    local xkey = p .. 'x:' .. cid
    for _, v in ipairs(redis.call('SMEMBERS', xkey)) do
      redis.call('ZREM', p .. 'i:' .. v, cid)
    end
    redis.call('DEL', xkey, p .. 'j:' .. cid)
    redis.call('ZREM', KEYS[1], cid)
    evicted = evicted + 1
  end
end
return evicted
`;
