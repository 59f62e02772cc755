import { ClosedError, TimeoutError } from '@events/core';
import type { PlatformJourneys } from '@events/platform';
import { expect, it } from 'vitest';
import { HttpError } from './http-kit.js';
import { createJourneyApi } from './journey-api.js';

const failing = (error: Error): PlatformJourneys => ({
  mode: 'redis',
  search: () => Promise.reject(error),
  get: () => Promise.reject(error),
  stats: () => ({ recorded: 0, dropped: 0, pending: 0, evicted: 0 }),
});

it('a store past its deadline (or closed) is a 503, another failure stays a server fault', async () => {
  for (const error of [new TimeoutError('searching journeys in Redis', 2000), new ClosedError('journey store')]) {
    const api = createJourneyApi({ journeys: failing(error) });
    const searched = await api.search(new URL('http://x/api/journeys?q=a')).catch((e: unknown) => e);
    expect(searched).toBeInstanceOf(HttpError);
    expect((searched as HttpError).status).toBe(503);
    expect(((await api.journey('a').catch((e: unknown) => e)) as HttpError).status).toBe(503);
  }
  const broken = new Error('boom');
  await expect(createJourneyApi({ journeys: failing(broken) }).search(new URL('http://x/api/journeys'))).rejects.toBe(broken);
});
