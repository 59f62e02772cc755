/**
 * The journey store in this process's memory: for memory adapters, and for one-process apps. It
 * sees only the steps of this process's tiers. Bounded everywhere: `maxJourneys` journeys (the
 * least recently touched is evicted first), `maxStepsPerJourney` steps each (the oldest go),
 * `maxTotalSteps` over all, `maxIndexPerStep` index entries per step and `maxJourneysPerKey`
 * journeys per id or key. `record` only appends to a bounded buffer (full: dropped and counted),
 * so a tier's hot path pays a push; the buffer is indexed on the next turn of the event loop, and
 * before any read, so a read sees every step recorded before it.
 */
import { ClosedError, type JourneyStep } from '@events/core';
import { asStep, buildJourney, indexValues, summarize } from './tree.js';
import { JOURNEY_DEFAULTS, type Journey, type JourneyBounds, type JourneySearchOptions, type JourneyStore, type JourneySummary } from './types.js';

export interface MemoryJourneyOptions extends JourneyBounds {
  /** Steps kept over every journey; past it the least recently touched journeys go. Default: 200 000. */
  maxTotalSteps?: number;
  /** Steps waiting to be indexed; past it `record` drops (and counts). Default: 10 000. */
  maxBuffered?: number;
  /** The journal's `keysOf` (the platform's `journey.keys`). Default: none. */
  keysOf?: (name: string, payload: unknown) => readonly string[];
}

interface Entry {
  id: string;
  steps: JourneyStep[];
  /** Neighbours in recency order (a list, not Map order: a Map that is deleted from and set again keeps holes its iteration walks over). */
  older: Entry | undefined;
  newer: Entry | undefined;
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
  const journeys = new Map<string, Entry>();
  // Recency: the oldest journey is evicted first, the newest is listed first.
  let oldest: Entry | undefined;
  let newest: Entry | undefined;
  // id or key -> correlation ids, most recent last.
  const index = new Map<string, string[]>();
  let total = 0;
  let recorded = 0;
  let dropped = 0;
  let evicted = 0;
  let closed = false;
  const maxBuffered = options.maxBuffered ?? 10_000;
  let pending: JourneyStep[] = [];
  let scheduled = false;

  /** Indexes what `record` buffered; a malformed step (a foreign journal caller) is dropped here. */
  function drain(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    for (const step of batch) {
      if (asStep(step) === undefined) dropped += 1;
      else add(step);
    }
  }

  function unindex(value: string, correlationId: string): void {
    const ids = index.get(value);
    if (!ids) return;
    const at = ids.indexOf(correlationId);
    if (at !== -1) ids.splice(at, 1);
    if (ids.length === 0) index.delete(value);
  }

  function unlink(entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else newest = entry.older;
    entry.older = entry.newer = undefined;
  }

  function touch(entry: Entry): void {
    if (newest === entry) return;
    if (journeys.has(entry.id)) unlink(entry);
    entry.older = newest;
    if (newest) newest.newer = entry;
    newest = entry;
    oldest ??= entry;
  }

  function evictOldest(): void {
    const entry = oldest!;
    const correlationId = entry.id;
    unlink(entry);
    journeys.delete(correlationId);
    total -= entry.steps.length;
    dropped += entry.steps.length;
    evicted += 1;
    for (const value of entry.indexed) unindex(value, correlationId);
  }

  function add(step: JourneyStep): void {
    const id = step.correlationId;
    let entry = journeys.get(id);
    if (entry) touch(entry);
    else {
      entry = { id, steps: [], indexed: new Set(), truncated: false, older: undefined, newer: undefined };
      touch(entry);
      journeys.set(id, entry);
    }
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
        if (ids[ids.length - 1] !== id) {
          ids.splice(ids.indexOf(id), 1);
          ids.push(id);
        }
        continue;
      }
      entry.indexed.add(value);
      const ids = index.get(value);
      if (ids === undefined) {
        index.set(value, [id]);
        continue;
      }
      ids.push(id);
      if (ids.length > perKey) {
        const gone = ids.shift()!;
        journeys.get(gone)?.indexed.delete(value);
      }
    }
    while (journeys.size > maxJourneys || (total > maxTotal && journeys.size > 1)) evictOldest();
  }

  const open = (): void => {
    if (closed) throw new ClosedError('journey store');
    drain();
  };

  return {
    kind: 'memory',
    ...(options.keysOf ? { keysOf: options.keysOf } : {}),
    record(step) {
      recorded += 1;
      if (closed || pending.length >= maxBuffered) return void (dropped += 1);
      pending.push(step);
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain).unref();
      }
    },
    search(query: string, searchOptions: JourneySearchOptions = {}): Promise<JourneySummary[]> {
      try {
        open();
        const limit = Math.min(Math.max(1, Math.floor(searchOptions.limit ?? JOURNEY_DEFAULTS.searchLimit)), JOURNEY_DEFAULTS.maxSearchLimit);
        const q = query.trim();
        if (q.length > JOURNEY_DEFAULTS.maxQueryLength) return Promise.resolve([]);
        const ids: string[] = [];
        if (q === '') for (let e = newest; e && ids.length < limit; e = e.older) ids.push(e.id);
        else ids.push(...(index.get(q) ?? []));
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
    flush() {
      drain();
      return Promise.resolve();
    },
    stats: () => ({ recorded, dropped, pending: pending.length, evicted, journeys: journeys.size }),
    close() {
      closed = true;
      dropped += pending.length;
      pending = [];
      journeys.clear();
      index.clear();
      oldest = newest = undefined;
      total = 0;
      return Promise.resolve();
    },
  };
}
