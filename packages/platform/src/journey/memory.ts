/**
 * The journey store in this process's memory: for memory adapters, and for one-process apps. It
 * sees only the steps of this process's tiers. Bounded everywhere: `maxJourneys` journeys (the
 * least recently touched is evicted first), `maxStepsPerJourney` steps each (the oldest go),
 * `maxTotalSteps` over all, `maxIndexPerStep` index entries per step and `maxJourneysPerKey`
 * journeys per id or key. `record` is a few map operations: it never throws and never waits.
 */
import { ClosedError, type JourneyStep } from '@events/core';
import { asStep, buildJourney, indexValues, summarize } from './tree.js';
import { JOURNEY_DEFAULTS, type Journey, type JourneyBounds, type JourneySearchOptions, type JourneyStore, type JourneySummary } from './types.js';

export interface MemoryJourneyOptions extends JourneyBounds {
  /** Steps kept over every journey; past it the least recently touched journeys go. Default: 200 000. */
  maxTotalSteps?: number;
  /** The journal's `keysOf` (the platform's `journey.keys`). Default: none. */
  keysOf?: (name: string, payload: unknown) => readonly string[];
}

interface Entry {
  steps: JourneyStep[];
  /** Index values that point at this journey, so eviction can take them back. */
  indexed: Set<string>;
  truncated: boolean;
}

export function memoryJourneyStore(options: MemoryJourneyOptions = {}): JourneyStore {
  const maxJourneys = options.maxJourneys ?? JOURNEY_DEFAULTS.maxJourneys;
  const maxSteps = options.maxStepsPerJourney ?? JOURNEY_DEFAULTS.maxStepsPerJourney;
  const maxIndex = options.maxIndexPerStep ?? JOURNEY_DEFAULTS.maxIndexPerStep;
  const perKey = options.maxJourneysPerKey ?? JOURNEY_DEFAULTS.maxJourneysPerKey;
  const maxTotal = options.maxTotalSteps ?? 200_000;
  // Map order is recency: a touched journey is deleted and set again, so the first is the oldest.
  const journeys = new Map<string, Entry>();
  // id or key -> correlation ids, most recent last.
  const index = new Map<string, string[]>();
  let total = 0;
  let recorded = 0;
  let dropped = 0;
  let evicted = 0;
  let closed = false;

  function unindex(value: string, correlationId: string): void {
    const ids = index.get(value);
    if (!ids) return;
    const at = ids.indexOf(correlationId);
    if (at !== -1) ids.splice(at, 1);
    if (ids.length === 0) index.delete(value);
  }

  function evictOldest(): void {
    const [correlationId, entry] = journeys.entries().next().value as [string, Entry];
    journeys.delete(correlationId);
    total -= entry.steps.length;
    dropped += entry.steps.length;
    evicted += 1;
    for (const value of entry.indexed) unindex(value, correlationId);
  }

  function add(step: JourneyStep): void {
    const id = step.correlationId;
    let entry = journeys.get(id);
    if (entry) journeys.delete(id);
    else entry = { steps: [], indexed: new Set(), truncated: false };
    journeys.set(id, entry);
    entry.steps.push(step);
    total += 1;
    if (entry.steps.length > maxSteps) {
      entry.steps.shift();
      entry.truncated = true;
      total -= 1;
      dropped += 1;
    }
    for (const value of indexValues(step, maxIndex)) {
      if (entry.indexed.has(value)) {
        // Most recent last, so a key's newest journey survives its bound.
        const ids = index.get(value)!;
        ids.splice(ids.indexOf(id), 1);
        ids.push(id);
        continue;
      }
      entry.indexed.add(value);
      const ids = index.get(value) ?? [];
      ids.push(id);
      index.set(value, ids);
      if (ids.length > perKey) {
        const gone = ids.shift()!;
        journeys.get(gone)?.indexed.delete(value);
      }
    }
    while (journeys.size > maxJourneys || (total > maxTotal && journeys.size > 1)) evictOldest();
  }

  const open = (): void => {
    if (closed) throw new ClosedError('journey store');
  };

  return {
    kind: 'memory',
    ...(options.keysOf ? { keysOf: options.keysOf } : {}),
    record(step) {
      recorded += 1;
      // A malformed step (a foreign journal caller) is lost, never thrown into the tier.
      if (closed || asStep(step) === undefined) return void (dropped += 1);
      add(step);
    },
    search(query: string, searchOptions: JourneySearchOptions = {}): Promise<JourneySummary[]> {
      try {
        open();
        const limit = Math.min(Math.max(1, Math.floor(searchOptions.limit ?? JOURNEY_DEFAULTS.searchLimit)), JOURNEY_DEFAULTS.maxSearchLimit);
        const q = query.trim();
        if (q.length > JOURNEY_DEFAULTS.maxQueryLength) return Promise.resolve([]);
        // Recency order ends with the most recently touched journey.
        const ids = q === '' ? [...journeys.keys()].slice(-limit) : [...(index.get(q) ?? [])];
        const found = ids
          .filter((id) => journeys.has(id))
          .map((id) => summarize(id, journeys.get(id)!.steps))
          .sort((a, b) => b.lastAt - a.lastAt);
        return Promise.resolve(found.slice(0, limit));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    get(correlationId: string): Promise<Journey | undefined> {
      try {
        open();
        const entry = journeys.get(correlationId);
        return Promise.resolve(entry ? buildJourney(correlationId, entry.steps, entry.truncated) : undefined);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    flush: () => Promise.resolve(),
    stats: () => ({ recorded, dropped, pending: 0, evicted, journeys: journeys.size }),
    close() {
      closed = true;
      journeys.clear();
      index.clear();
      total = 0;
      return Promise.resolve();
    },
  };
}
