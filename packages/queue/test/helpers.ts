/** Queue-only test helpers; the shared ones (waitFor, randomId, REDIS_URL) are in @events/testing. */
import { Redis } from 'ioredis';
import { REDIS_URL, randomId } from '@events/testing';

/** Every queue test's keys live under one recognisable `evq-test-*` namespace. */
export function randomPrefix(): string {
  return randomId('evq-test');
}

/** Deletes every key under `prefix:` (SCAN + DEL, never FLUSHDB). */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
