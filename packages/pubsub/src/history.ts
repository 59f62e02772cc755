/**
 * Opt-in channel history: which channels keep one (`history: { 'chat:*': { size, ttlMs } }`), the
 * bounds of a resume, and the strict reading of a `since` position, which may come from a hostile
 * websocket client. The resume itself is in history-stream.ts; storage is the adapter's
 * (adapters/memory-history.ts, adapters/redis-history.ts).
 */
import { compileChannelPattern, InvalidOptionError, isChannelPattern, type PubSubHistoryWindow, validateChannelName } from '@events/core';
import type { StreamPosition } from './types.js';

/** History kept per channel pattern (or plain channel): the first pattern that matches wins. */
export type HistoryOptions = Readonly<Record<string, HistoryWindowOptions>>;

export interface HistoryWindowOptions {
  /** Newest messages kept per channel (Redis trims with `MAXLEN ~`, so a few more may stay). 1 to 1 000 000. */
  size: number;
  /** The whole history of a channel is dropped this long after its last message (then a new epoch starts). 1 000 ms to 30 days. */
  ttlMs: number;
}

export interface HistoryReplayOptions {
  /** Most messages one resume (or one catch-up after an outage) replays; a longer miss is `too-old`. Default: 1000. */
  maxMessages?: number;
  /** Deadline of one history read; past it the resume reports `unavailable`. Default: 2000 ms. */
  timeoutMs?: number;
  /** Live messages held while history is read; past it the resume reports `too-old`. Default: 10 000. */
  maxBuffered?: number;
}

export const MAX_HISTORY_SIZE = 1_000_000;
export const MAX_HISTORY_TTL_MS = 30 * 24 * 3600_000;
const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

export function isEpoch(value: unknown): value is string {
  return typeof value === 'string' && EPOCH.test(value);
}

/** Which channels keep history, and how much; validated once at construction. */
export class HistoryPolicy {
  readonly maxMessages: number;
  readonly timeoutMs: number;
  readonly maxBuffered: number;
  private readonly rules: ReadonlyArray<{ match: (channel: string) => boolean; window: PubSubHistoryWindow }>;
  private readonly cache = new Map<string, PubSubHistoryWindow | null>();

  constructor(options: HistoryOptions | undefined, replay: HistoryReplayOptions = {}) {
    this.maxMessages = positiveInt('historyReplay.maxMessages', replay.maxMessages ?? 1000, [100_000]);
    this.timeoutMs = positiveInt('historyReplay.timeoutMs', replay.timeoutMs ?? 2000, [600_000]);
    this.maxBuffered = positiveInt('historyReplay.maxBuffered', replay.maxBuffered ?? 10_000, [1_000_000]);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidOptionError('history', 'must be an object of channel patterns');
    this.rules = Object.entries(options ?? {}).map(([topic, w]) => {
      if (isChannelPattern(topic)) compileChannelPattern(topic);
      else validateChannelName(topic);
      const window = {
        size: positiveInt(`history["${topic}"].size`, w?.size, [MAX_HISTORY_SIZE]),
        ttlMs: positiveInt(`history["${topic}"].ttlMs`, w?.ttlMs, [MAX_HISTORY_TTL_MS, 1000]),
      };
      return { match: isChannelPattern(topic) ? compileChannelPattern(topic) : (c: string) => c === topic, window };
    });
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /** The window of `channel`, or undefined when it keeps no history. */
  windowFor(channel: string): PubSubHistoryWindow | undefined {
    if (this.rules.length === 0) return undefined;
    let window = this.cache.get(channel);
    if (window === undefined) {
      window = this.rules.find((r) => r.match(channel))?.window ?? null;
      // Bounded: a cache, not a registry; cleared when it fills.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(channel, window);
    }
    return window ?? undefined;
  }
}

function positiveInt(name: string, value: unknown, [max, min = 1]: [max: number, min?: number]): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Reads a `since` position strictly: an object with an integer `offset` from 0 to 2^53-1 and an
 * `epoch` of 1-64 letters, digits, `_` or `-`. Extra fields are ignored; anything else throws
 * InvalidOptionError naming the field. The returned object is fresh (no prototype tricks survive).
 */
export function parsePosition(value: unknown, name = 'since'): StreamPosition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError(name, 'must be an object { offset, epoch }');
  const { offset, epoch } = value as Record<string, unknown>;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidOptionError(`${name}.offset`, `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  if (!isEpoch(epoch)) throw new InvalidOptionError(`${name}.epoch`, 'must be 1-64 letters, digits, _ or -');
  return { offset, epoch };
}
