/**
 * The JSON answers of the dashboard, over the queue's public API. The queue has no call that lists
 * job names, so the names shown are the union of: the `jobNames` option, names seen in this
 * process's job events, and names found in the dead-letter store. `?jobs=a,b` on a request can
 * pick among those names only: on BullMQ, counting a name creates a Queue object and writes a
 * `<prefix>:<name>:meta` key, so a name from a request must never reach `queue.counts` unchecked.
 */
import { validateJobName } from '@events/core';
import type { DeadLetter, DeadLetterQuery } from '@events/queue';
import type { Platform } from '@events/platform';
import { HttpError, MAX_IDS, optionalBoolean, optionalIds, optionalString } from './http.js';
import { preview, type LiveFeeds } from './live.js';

export const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
/** Listing the dead letters to learn job names is not free on BullMQ: at most every 5 s, 1,000 letters. */
const NAME_SCAN_EVERY_MS = 5000;
const NAME_SCAN_LIMIT = 1000;
/** Job names counted per answer: each is one counts call (one round trip on BullMQ). */
export const MAX_QUEUE_ROWS = 100;
/** Names in one `?jobs=` parameter. */
export const MAX_JOBS_PARAM = 50;

export interface ApiContext {
  platform: Platform;
  feeds: LiveFeeds;
  jobNames: readonly string[];
}

export function createApi(ctx: ApiContext) {
  const { platform, feeds } = ctx;
  const queue = platform.queue;
  let deadLetterNames: string[] = [];
  let scannedAt = 0;

  /** Every name the dashboard knows of: configured, seen in job events, or in the dead letters; each valid by the core rules. */
  async function knownJobNames(): Promise<string[]> {
    if (Date.now() - scannedAt > NAME_SCAN_EVERY_MS) {
      scannedAt = Date.now();
      const letters = await queue.deadLetters.list({ limit: NAME_SCAN_LIMIT });
      deadLetterNames = [...new Set(letters.map((l) => l.name))].filter(isJobName);
    }
    return [...new Set([...ctx.jobNames, ...feeds.jobNamesSeen().filter(isJobName), ...deadLetterNames])].sort();
  }

  /**
   * Counts per job name: the names `?jobs=` picks among the known ones (all of them without it), at
   * most MAX_QUEUE_ROWS. An unknown name in `?jobs=` is listed in `unknown` and never counted.
   */
  async function queues(url: URL, expose: boolean) {
    const asked = jobsParam(url);
    const known = await knownJobNames();
    const knownSet = new Set(known);
    const names = (asked ? asked.filter((n) => knownSet.has(n)) : known).slice(0, MAX_QUEUE_ROWS);
    const unknown = asked ? asked.filter((n) => !knownSet.has(n)) : [];
    const rows = await Promise.all(
      names.map(async (name) => {
        try {
          return { name, counts: await queue.counts(name) };
        } catch (error) {
          return { name, error: expose && error instanceof Error ? error.message : 'counts unavailable' };
        }
      }),
    );
    return { rows, unknown, truncated: (asked ?? known).length > MAX_QUEUE_ROWS };
  }

  return {
    async overview(url: URL, expose: boolean) {
      const [queueList, deadLetters] = await Promise.all([queues(url, expose), queue.deadLetters.count()]);
      const bus = feeds.bus();
      const channels = feeds.channels();
      return {
        at: new Date().toISOString(),
        adapters: { pubsub: platform.config.pubsub.adapter, bus: platform.config.bus.adapter, queue: platform.config.queue.adapter },
        queues: queueList.rows,
        ...(queueList.unknown.length > 0 ? { unknownJobs: queueList.unknown } : {}),
        deadLetters: { total: deadLetters },
        bus: { watched: feeds.watchesBus, total: bus.total, names: bus.names, stats: platform.bus.stats() },
        channels: { watched: feeds.watchesChannels, total: channels.total, channels: channels.channels },
      };
    },
    async queues(url: URL, expose: boolean) {
      const { rows, unknown, truncated } = await queues(url, expose);
      return { queues: rows, ...(unknown.length > 0 ? { unknown } : {}), ...(truncated ? { truncated } : {}) };
    },
    knownJobNames,
    bus: () => feeds.bus(),
    channels: () => feeds.channels(),
    jobs: () => feeds.jobs(),

    async listDeadLetters(url: URL) {
      const query: DeadLetterQuery = { name: param(url, 'name'), error: param(url, 'error') };
      const limit = limitParam(url);
      const [items, total] = await Promise.all([queue.deadLetters.list({ ...query, limit }), queue.deadLetters.count(query)]);
      return { total, limit, items: items.map(summary) };
    },
    /** One letter; its error's stack (server paths) only when `expose`. */
    async deadLetter(id: string, expose: boolean) {
      if (id.length > 256) throw new HttpError(400, 'a dead-letter id has at most 256 characters');
      const [letter] = await queue.deadLetters.list({ ids: [id] });
      if (!letter) throw new HttpError(404, 'no dead letter with that id');
      return detail(letter, expose);
    },
    /** `{ ids? | name?, error?, dryRun? }`: replays the matching letters as new jobs, at most MAX_IDS per request (press again for more). */
    async replay(body: Record<string, unknown>) {
      return queue.deadLetters.replay({ ...selection(body, 'replay'), limit: MAX_IDS, dryRun: optionalBoolean(body, 'dryRun') });
    },
    /** `{ ids? | name?, error? | all: true }`: removes the matching letters for good. */
    async discard(body: Record<string, unknown>) {
      return { discarded: await queue.deadLetters.discard(selection(body, 'discard')) };
    },
  };
}

export type Api = ReturnType<typeof createApi>;

function param(url: URL, key: string): string | undefined {
  const value = url.searchParams.get(key)?.trim();
  return value ? value : undefined;
}

/** The names of `?jobs=a,b`, each valid by the core job-name rules, at most MAX_JOBS_PARAM; undefined without the parameter. */
function jobsParam(url: URL): string[] | undefined {
  const raw = url.searchParams.get('jobs');
  if (raw === null) return undefined;
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length > MAX_JOBS_PARAM) throw new HttpError(400, `"jobs" names ${names.length} jobs; the limit is ${MAX_JOBS_PARAM}`);
  for (const name of names) validateJobName(name);
  return names;
}

function isJobName(name: string): boolean {
  try {
    validateJobName(name);
    return true;
  } catch {
    return false;
  }
}

function limitParam(url: URL): number {
  const raw = param(url, 'limit');
  if (raw === undefined) return DEFAULT_LIST_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new HttpError(400, `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  return limit;
}

/** Which letters a replay or discard acts on. A discard with no filter must say `all: true`: it cannot be undone. */
function selection(body: Record<string, unknown>, action: 'replay' | 'discard'): DeadLetterQuery {
  const query: DeadLetterQuery = { ids: optionalIds(body, 'ids'), name: optionalString(body, 'name'), error: optionalString(body, 'error') };
  const filtered = query.ids !== undefined || query.name !== undefined || query.error !== undefined;
  if (action === 'discard' && !filtered && !optionalBoolean(body, 'all')) {
    throw new HttpError(400, 'discard needs "ids", "name" or "error", or "all": true to discard every dead letter');
  }
  return query;
}

function summary(letter: DeadLetter) {
  return {
    id: letter.id,
    name: letter.name,
    error: { name: letter.error.name, message: letter.error.message },
    attemptsMade: letter.attemptsMade,
    enqueuedAt: letter.enqueuedAt.toISOString(),
    failedAt: letter.failedAt.toISOString(),
    payload: letter.envelope ? preview(letter.payload, 200) : preview(letter.raw, 200),
    decodable: letter.envelope !== undefined,
    ...(letter.replayOf ? { replayOf: letter.replayOf } : {}),
  };
}

function detail(letter: DeadLetter, expose: boolean) {
  const { stack, ...error } = letter.error;
  return {
    ...summary(letter),
    error: expose && stack !== undefined ? { ...error, stack } : error,
    payload: letter.payload,
    ...(letter.envelope ? { envelope: letter.envelope } : { raw: letter.raw }),
  };
}
