/**
 * The memory journey store against the shared store suite, and what only it promises: the total
 * step bound and eviction of the least recently touched journey.
 */
import { expect, it } from 'vitest';
import { memoryJourneyStore } from '../src/journey/index.js';
import { journeyStoreSuite, signupSteps } from './journey-suite.js';

journeyStoreSuite('memory', (bounds) => {
  const store = memoryJourneyStore(bounds);
  return Promise.resolve({
    store,
    held: async () => {
      const journeys = store.stats().journeys ?? 0;
      let maxPerKey = 0;
      for (const key of ['a@x.io', 'b@x.io', 'c@x.io', 'd@x.io']) maxPerKey = Math.max(maxPerKey, (await store.search(key, { limit: 100 })).length);
      return { journeys, maxPerKey };
    },
    cleanup: () => store.close(),
  });
});

it('memory: evicts the least recently touched journey, with its index entries; keeps the total step bound', async () => {
  const store = memoryJourneyStore({ maxJourneys: 2, maxTotalSteps: 100 });
  for (const step of signupSteps('a', 'a@x.io')) store.record(step);
  for (const step of signupSteps('b', 'b@x.io')) store.record(step);
  // Touching `a` makes `b` the least recent one.
  store.record({ ...signupSteps('a', 'a@x.io')[0]!, envelopeId: 'a-late' });
  for (const step of signupSteps('c', 'c@x.io')) store.record(step);
  expect((await store.search('', { limit: 10 })).map((s) => s.correlationId).sort()).toEqual(['a', 'c']);
  expect(await store.search('b@x.io')).toEqual([]);
  expect(await store.search('b-job')).toEqual([]);
  expect(store.stats()).toMatchObject({ evicted: 1, journeys: 2 });

  const small = memoryJourneyStore({ maxTotalSteps: 10 });
  for (const id of ['p', 'q', 'r']) for (const step of signupSteps(id, `${id}@x.io`)) small.record(step);
  expect((await small.search('', { limit: 10 })).map((s) => s.correlationId)).toEqual(['r']);
  await store.close();
  await small.close();
  await expect(store.search('')).rejects.toThrow(/closed/);
});

it('memory: record only buffers (bounded, drops counted); a read sees every step recorded before it', async () => {
  const store = memoryJourneyStore({ maxBuffered: 100 });
  const steps = Array.from({ length: 1000 }, (_, i) => ({ ...signupSteps(`b${i}`, 'b@x.io')[0]! }));
  for (const step of steps) expect(store.record(step)).toBeUndefined();
  expect(store.stats()).toMatchObject({ recorded: 1000, pending: 100, dropped: 900 });
  // No flush: the read indexes the buffer first.
  expect((await store.search('b0')).map((s) => s.correlationId)).toEqual(['b0']);
  expect(store.stats().pending).toBe(0);
  expect(await store.search('b100')).toEqual([]);
  await store.close();
});
