/**
 * Channel history on Redis: a stream per channel, written by one Lua script that also publishes,
 * so a message is never live without being in history, nor in history without having been
 * published. Keys (one hash slot per channel, the same as the channel's own, so it holds on Redis
 * Cluster in sharded mode):
 *
 * - `_pubsub:history:{<channel>}`: a stream, entry id `<offset>-0`, field `d` = the message bytes,
 *   trimmed with `MAXLEN ~ size`;
 * - `_pubsub:history-meta:{<channel>}`: a hash, `e` = epoch, `o` = newest offset.
 *
 * (A channel that has a hash tag of its own keeps it: `_pubsub:history:<channel>`.) Both expire
 * `ttlMs` after the last write. A stream that vanished while its meta stayed (eviction) starts a new
 * epoch at the next publish, as does a meta that expired; reads never write. The live message is the history entry behind a small header:
 * `\0h<offset>:<epoch>\n` then the bytes (see docs/pubsub.md, wire format).
 */
import { createHash } from 'node:crypto';
import { EMPTY_HISTORY_EPOCH, InvalidOptionError, type PubSubAdapterHistory, type PubSubAdapterMessage, type PubSubStreamPosition } from '@events/core';
import { newEpoch } from './memory-history.js';

type Arg = string | Buffer | number;

/** The script commands history needs; a `Redis` or a `Cluster` from ioredis has them. */
export interface RedisHistoryClient {
  readonly status: string;
  once(event: 'ready', listener: () => void): unknown;
  removeListener(event: 'ready', listener: () => void): unknown;
  evalsha(sha: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  evalshaBuffer(sha: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  evalBuffer(script: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
  /** On a `Cluster`: its primaries, each of which must know the scripts. */
  nodes?(role: 'master'): RedisHistoryClient[];
}

// KEYS: stream, meta. ARGV: channel, data, size, ttlMs, fresh epoch, sharded ('1' or '0').
const PUBLISH = `
local e = redis.call('HGET', KEYS[2], 'e')
if (not e) or (redis.call('EXISTS', KEYS[1]) == 0 and tonumber(redis.call('HGET', KEYS[2], 'o')) > 0) then
  e = ARGV[5]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', e, 'o', 0)
end
local o = redis.call('HINCRBY', KEYS[2], 'o', 1)
local id = string.format('%d', o)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id .. '-0', 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local framed = '\\0h' .. id .. ':' .. e .. '\\n' .. ARGV[2]
local n
if ARGV[6] == '1' then n = redis.call('SPUBLISH', ARGV[1], framed) else n = redis.call('PUBLISH', ARGV[1], framed) end
return {o, e, n}
`;

// KEYS: stream, meta. ARGV: after, limit. Returns {epoch, top, first, id1, data1, ...}. Read-only:
// a channel without history now (no meta, or a stream lost while its meta stayed) is reported as
// the empty epoch, and the next PUBLISH starts a new one; a read never creates a key.
const READ = `
local e = redis.call('HGET', KEYS[2], 'e')
local top = tonumber(redis.call('HGET', KEYS[2], 'o') or '0')
if (not e) or (top > 0 and redis.call('EXISTS', KEYS[1]) == 0) then
  return {ARGV[3], 0, 1}
end
local first = top + 1
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #oldest > 0 then first = tonumber(string.match(oldest[1][1], '^(%d+)')) end
local out = {e, top, first}
if tonumber(ARGV[2]) > 0 then
  local from = math.max(tonumber(ARGV[1]) + 1, first)
  local entries = redis.call('XRANGE', KEYS[1], string.format('%d', from), '+', 'COUNT', ARGV[2])
  for _, entry in ipairs(entries) do
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2][2]
  end
end
return out
`;

const sha1 = (script: string): string => createHash('sha1').update(script).digest('hex');
const SHA = { publish: sha1(PUBLISH), read: sha1(READ) };

const loaded = new WeakMap<RedisHistoryClient, Promise<void>>();

/** Runs a script by its hash, sending its text once when Redis does not know it yet. */
async function run(client: RedisHistoryClient, which: 'publish' | 'read', [keys, args]: [keys: readonly string[], args: readonly Arg[]]): Promise<unknown> {
  const buffers = which === 'read';
  try {
    return await (buffers ? client.evalshaBuffer(SHA.read, keys.length, ...keys, ...args) : client.evalsha(SHA.publish, keys.length, ...keys, ...args));
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    loaded.delete(client); // Redis lost its scripts (a restart): load them again before the next publish
    const script = buffers ? READ : PUBLISH;
    return buffers ? client.evalBuffer(script, keys.length, ...keys, ...args) : client.eval(script, keys.length, ...keys, ...args);
  }
}

/**
 * Loads both scripts once per connection (on every primary of a cluster) before the first publish.
 * Without it the first broadcasts of a burst would get NOSCRIPT and be sent again as EVAL, behind
 * later ones that found the script: offsets in another order than the calls. (After a Redis
 * restart or a failover to a primary without them, the EVAL fallback below still applies.)
 */
function preload(client: RedisHistoryClient): Promise<void> {
  let done = loaded.get(client);
  if (!done) {
    const targets = typeof client.nodes === 'function' ? client.nodes('master') : [client];
    done = Promise.all(targets.flatMap((node) => [node.script('LOAD', PUBLISH), node.script('LOAD', READ)])).then(
      () => undefined,
      // Not connected now: the EVALSHA fails or falls back by itself, and the next publish loads again.
      () => void loaded.delete(client),
    );
    loaded.set(client, done);
  }
  return done;
}

/** Redis' hash tag of a key or channel: the text between the first `{` and the next `}`, when not empty. */
function hashTag(name: string): string | undefined {
  const open = name.indexOf('{');
  if (open === -1) return undefined;
  const close = name.indexOf('}', open + 1);
  return close > open + 1 ? name.slice(open + 1, close) : undefined;
}

/** The stream and meta keys of a channel, in the channel's own hash slot. */
export function historyKeys(channel: string, sharded: boolean): [stream: string, meta: string] {
  let tagged: string;
  if (hashTag(channel) !== undefined) tagged = channel;
  else if (!channel.includes('}')) tagged = `{${channel}}`;
  else if (sharded) throw new InvalidOptionError('history', `channel "${channel}" has a "}" but no hash tag: its history cannot share its hash slot`);
  // Unsharded, a PUBLISH reaches the whole cluster: only the two keys need one slot, and they do.
  else tagged = `{${channel}}`;
  return [`_pubsub:history:${tagged}`, `_pubsub:history-meta:${tagged}`];
}

const HEADER = /^([1-9][0-9]{0,15}):([A-Za-z0-9_-]{1,64})$/;

/**
 * Reads the history header of a live message. Bytes without one are returned as they came; a
 * header that does not parse (a forged or foreign one) is left in place, so the decoder refuses it.
 */
export function unframe(channel: string, data: Buffer): Omit<PubSubAdapterMessage, 'pattern'> {
  if (data.length < 5 || data[0] !== 0 || data[1] !== 0x68) return { channel, data };
  const end = data.indexOf(0x0a, 2);
  if (end === -1 || end > 100) return { channel, data };
  const match = HEADER.exec(data.toString('latin1', 2, end));
  const offset = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(offset)) return { channel, data };
  return { channel, data: data.subarray(end + 1), position: { offset, epoch: match[2]! } };
}

const toInt = (value: unknown): number => (typeof value === 'number' ? value : Number(String(value)));

/**
 * Resolves once the connection is ready. After an outage the subscriber connection may be back
 * (and `resubscribed` sent) before this one: the catch-up read waits for it, within its deadline.
 */
function whenReady(client: RedisHistoryClient): { ready: Promise<void>; cancel(): void } {
  if (client.status === 'ready') return { ready: Promise.resolve(), cancel: () => undefined };
  let listener: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => client.once('ready', (listener = resolve)));
  return { ready, cancel: () => void client.removeListener('ready', listener!) };
}

async function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisHistoryParts {
  /** The publisher connection of the current start attempt, if any. */
  client(): RedisHistoryClient | undefined;
  sharded: boolean;
  /** How many of the PUBLISH's receivers are this node's own subscriptions (not counted). */
  own(channel: string): number;
}

/** The `history` member of the Redis adapter. */
export function redisHistory(parts: RedisHistoryParts): PubSubAdapterHistory {
  const client = (): RedisHistoryClient => {
    const c = parts.client();
    if (!c) throw new Error('the Redis pubsub adapter is not started');
    return c;
  };
  return {
    async publishWithHistory(channel, data, window) {
      const keys = historyKeys(channel, parts.sharded);
      const c = client();
      // Every call awaits the same promise, so they go on in call order: offsets follow the calls.
      await preload(c);
      const reply = (await run(c, 'publish', [keys, [channel, data, window.size, window.ttlMs, newEpoch(), parts.sharded ? '1' : '0']])) as [number, string, number];
      const position: PubSubStreamPosition = { offset: toInt(reply[0]), epoch: String(reply[1]) };
      return { receivers: Math.max(0, toInt(reply[2]) - parts.own(channel)), position };
    },
    async readHistory(channel, { after, limit, timeoutMs }) {
      const keys = historyKeys(channel, parts.sharded);
      const c = client();
      const connection = whenReady(c);
      const read = connection.ready.then(() => run(c, 'read', [keys, [after, limit, EMPTY_HISTORY_EPOCH]]));
      let reply: unknown[];
      try {
        reply = (await withDeadline(read, timeoutMs, `history of "${channel}"`)) as unknown[];
      } finally {
        connection.cancel();
      }
      const entries: Array<{ offset: number; data: Buffer }> = [];
      for (let i = 3; i + 1 < reply.length; i += 2) {
        entries.push({ offset: Number(String(reply[i]).split('-')[0]), data: reply[i + 1] as Buffer });
      }
      return { epoch: String(reply[0]), top: toInt(reply[1]), first: toInt(reply[2]), entries };
    },
  };
}

/** `unframe` for a message already read as one (the cluster adapter's shard subscribers hand those over). */
export function unframeMessage(message: PubSubAdapterMessage): PubSubAdapterMessage {
  if (message.data[0] !== 0 || message.position) return message;
  return { ...message, ...unframe(message.channel, message.data) };
}
