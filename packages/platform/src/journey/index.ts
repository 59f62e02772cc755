/**
 * The journey store a platform runs with, from its resolved config: on the Redis of the pubsub tier
 * (else of the queue tier) when `journey` is `redis`, in memory when `memory`, none when `off`.
 * The Redis store is loaded on demand, so a memory-only application never loads ioredis.
 */
import type { ErrorHook } from '@events/core';
import type { ResolvedPlatformConfig } from '../config.js';
import { memoryJourneyStore } from './memory.js';
import type { JourneyStore } from './types.js';

export * from './types.js';
export { buildJourney, indexValues, summarize } from './tree.js';
export { memoryJourneyStore, type MemoryJourneyOptions } from './memory.js';
export type { RedisJourneyOptions } from './redis.js';

export interface PlatformJourneyOptions {
  /**
   * The values an operator searches a message by (an email), from its name and payload; asked once
   * per emit, enqueue and broadcast. At most 8 keys of 200 characters are kept. A throwing function
   * gives none. Default: none (messages are found by their ids only).
   */
  keys?: (name: string, payload: unknown) => readonly string[];
}

/** The store `config.journey` names, or undefined when journeys are off. */
export async function journeyStoreFor(config: ResolvedPlatformConfig, options: PlatformJourneyOptions & { onError?: ErrorHook } = {}): Promise<JourneyStore | undefined> {
  const keysOf = options.keys;
  if (config.journey === 'off') return undefined;
  if (config.journey === 'memory') return memoryJourneyStore(keysOf ? { keysOf } : {});
  const redis = config.pubsub.adapter === 'redis' ? config.pubsub : config.queue.adapter === 'bullmq' ? config.queue : undefined;
  // resolveConfig refuses `redis` without a Redis tier; memory is the safe answer if one slips by.
  if (!redis) return memoryJourneyStore(keysOf ? { keysOf } : {});
  const { redisJourneyStore } = await import('./redis.js');
  return redisJourneyStore({
    ...(redis.cluster ? { cluster: redis.cluster } : { url: redis.url }),
    // Beside the application's other keys: its namespace, else its BullMQ prefix.
    prefix: config.namespace ?? (config.queue.adapter === 'bullmq' ? config.queue.prefix : undefined) ?? 'events',
    ...(keysOf ? { keysOf } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}
