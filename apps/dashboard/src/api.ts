/**
 * The JSON answers of the dashboard, over the queue's public API. The queue has no call that lists
 * job names, so the names shown are the union of: the `jobNames` option, `?jobs=a,b` on the
 * request, names seen in this process's job events, and names found in the dead-letter store.
 */
import type { DeadLetter, DeadLetterQuery } from '@events/queue';
import type { Platform } from '@events/platform';
import { HttpError, optionalBoolean, optionalIds, optionalString } from './http.js';
import { preview, type LiveFeeds } from './live.js';

export const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
/** Listing the dead letters to learn job names is not free on BullMQ: at most every 5 s, 1,000 letters. */
const NAME_SCAN_EVERY_MS = 5000;
const NAME_SCAN_LIMIT = 1000;

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

  async function knownJobNames(extra: readonly string[]): Promise<string[]> {
    if (Date.now() - scannedAt > NAME_SCAN_EVERY_MS) {
      scannedAt = Date.now();
      const letters = await queue.deadLetters.list({ limit: NAME_SCAN_LIMIT });
      deadLetterNames = [...new Set(letters.map((l) => l.name))];
    }
    return [...new Set([...ctx.jobNames, ...extra, ...feeds.jobNamesSeen(), ...deadLetterNames])].sort();
  }

  async function queues(extra: readonly string[]) {
    const names = await knownJobNames(extra);
    return Promise.all(
      names.map(async (name) => {
        try {
          return { name, counts: await queue.counts(name) };
        } catch (error) {
          return { name, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  }

  return {
    async overview(url: URL) {
      const [queueList, deadLetters] = await Promise.all([queues(jobsParam(url)), queue.deadLetters.count()]);
      const bus = feeds.bus();
      const channels = feeds.channels();
      return {
        at: new Date().toISOString(),
        adapters: { pubsub: platform.config.pubsub.adapter, bus: platform.config.bus.adapter, queue: platform.config.queue.adapter },
        queues: queueList,
        deadLetters: { total: deadLetters },
        bus: { watched: feeds.watchesBus, total: bus.total, names: bus.names, stats: platform.bus.stats() },
        channels: { watched: feeds.watchesChannels, total: channels.total, channels: channels.channels },
      };
    },
    queues: (url: URL) => queues(jobsParam(url)),
    bus: () => feeds.bus(),
    channels: () => feeds.channels(),
    jobs: () => feeds.jobs(),

    async listDeadLetters(url: URL) {
      const query: DeadLetterQuery = { name: param(url, 'name'), error: param(url, 'error') };
      const limit = limitParam(url);
      const [items, total] = await Promise.all([queue.deadLetters.list({ ...query, limit }), queue.deadLetters.count(query)]);
      return { total, limit, items: items.map(summary) };
    },
    async deadLetter(id: string) {
      const [letter] = await queue.deadLetters.list({ ids: [id] });
      if (!letter) throw new HttpError(404, `no dead letter with id ${id}`);
      return detail(letter);
    },
    /** `{ ids? | name?, error?, dryRun? }`: replays the matching letters as new jobs. */
    async replay(body: Record<string, unknown>) {
      return queue.deadLetters.replay({ ...selection(body, 'replay'), dryRun: optionalBoolean(body, 'dryRun') });
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

function jobsParam(url: URL): string[] {
  return (url.searchParams.get('jobs') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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

function detail(letter: DeadLetter) {
  return {
    ...summary(letter),
    error: letter.error,
    payload: letter.payload,
    ...(letter.envelope ? { envelope: letter.envelope } : { raw: letter.raw }),
  };
}
