/**
 * The dead-letter view: every job that failed for good (attempts used up, a DoNotRetryError, a
 * timeout on the last attempt, data that cannot be decoded) with its payload, error, attempts and
 * timestamps. Queries, replay and discard are written here once over the adapter's store.
 */
import { InvalidOptionError, sleep, type DeadLetterRange, type DeadLetterRecord, type DeadLetterStore, type Envelope } from '@events/core';
import { decodeJobData } from './job-format.js';

export interface DeadLetterQuery {
  /** Only this job name. Default: all names. */
  name?: string;
  /** Error class name (`TypeError`, `DecodeError`) or a substring of the message. Default: any. */
  error?: string;
  /** Failed at or after. Default: no lower bound. */
  from?: Date | number;
  /** Failed at or before. Default: no upper bound. */
  to?: Date | number;
  /** Only these failed job ids. Default: any. */
  ids?: readonly string[];
  /** At most this many, oldest failure first. Default: no limit. */
  limit?: number;
}

export interface DeadLetter {
  /** The failed job's id. */
  readonly id: string;
  readonly name: string;
  /** The decoded envelope, or undefined when the stored data could not be decoded (see `raw`). */
  readonly envelope?: Envelope;
  readonly payload: unknown;
  /** The stored text when it is not a decodable job. */
  readonly raw?: string;
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
  readonly attemptsMade: number;
  readonly enqueuedAt: Date;
  readonly failedAt: Date;
  /** Id of the job this one was a replay of. */
  readonly replayOf?: string;
}

export interface ReplayOptions extends DeadLetterQuery {
  /** Report what would be replayed; change nothing. Default: false. */
  dryRun?: boolean;
  /** Enqueue at most this many replays per second. Default: no limit. */
  ratePerSecond?: number;
  /** Keep the dead letters after replaying them. Default: false (a replayed letter is removed). */
  keep?: boolean;
}

export interface ReplayResult {
  readonly dryRun: boolean;
  /** Original id -> id of the new job (`undefined` new id on a dry run). */
  readonly replayed: ReadonlyArray<{ readonly from: string; readonly id?: string; readonly name: string }>;
  /** Letters not replayed: data not decodable, or no worker serves their name (UnknownJobError). */
  readonly skipped: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

export interface DeadLetters {
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>;
  count(query?: DeadLetterQuery): Promise<number>;
  /** Enqueues a copy of each matching letter as a new job with a new id and `headers.replayOf`. */
  replay(options?: ReplayOptions): Promise<ReplayResult>;
  /** Removes the matching letters for good; resolves to how many. */
  discard(query?: DeadLetterQuery): Promise<number>;
}

function toMs(value: Date | number | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) throw new InvalidOptionError(option, 'must be a Date or epoch milliseconds');
  return ms;
}

export function toDeadLetter(record: DeadLetterRecord): DeadLetter {
  let envelope: Envelope | undefined;
  try {
    envelope = { ...decodeJobData(record.data, record), id: record.id };
  } catch {
    envelope = undefined;
  }
  return {
    id: record.id,
    name: record.name,
    payload: envelope?.payload,
    ...(envelope ? { envelope } : { raw: record.data.ok ? JSON.stringify(record.data.value) : record.data.raw }),
    error: record.error,
    attemptsMade: record.attemptsMade,
    enqueuedAt: new Date(record.enqueuedAt),
    failedAt: new Date(record.failedAt),
    ...(envelope?.headers.replayOf ? { replayOf: envelope.headers.replayOf } : {}),
  };
}

type Enqueue = (letter: DeadLetter & { envelope: Envelope }) => Promise<string>;

/** Records fetched per store query while a filter the store cannot apply (error text) is on. */
export const DEAD_LETTER_PAGE = 500;
/** Most ids one query may name. */
export const MAX_QUERY_IDS = 10_000;

export function createDeadLetters(getStore: () => Promise<DeadLetterStore>, enqueue: Enqueue): DeadLetters {
  function range(query: DeadLetterQuery): DeadLetterRange {
    if (query.ids !== undefined && (!Array.isArray(query.ids) || query.ids.length > MAX_QUERY_IDS)) {
      throw new InvalidOptionError('ids', `must be an array of at most ${MAX_QUERY_IDS} ids`);
    }
    return { name: query.name, from: toMs(query.from, 'from'), to: toMs(query.to, 'to'), ...(query.ids ? { ids: query.ids } : {}) };
  }

  async function find(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0)) {
      throw new InvalidOptionError('limit', `must be an integer >= 0, got ${query.limit}`);
    }
    const base = range(query);
    const store = await getStore();
    const limit = query.limit ?? Infinity;
    const error = query.error;
    const ids = query.ids ? new Set(query.ids) : undefined;
    const keep = (r: DeadLetterRecord): boolean => (!ids || ids.has(r.id)) && (error === undefined || r.error.name === error || r.error.message.includes(error));
    if (error === undefined) {
      // Every filter is the store's: one query, its LIMIT pushed down.
      const records = await store.query(query.limit === undefined ? base : { ...base, limit: query.limit });
      return records.filter(keep).slice(0, limit).map(toDeadLetter);
    }
    // The error filter is ours: page through the store, never the whole range at once.
    const out: DeadLetter[] = [];
    for (let offset = 0; out.length < limit; offset += DEAD_LETTER_PAGE) {
      const page = await store.query({ ...base, limit: DEAD_LETTER_PAGE, offset });
      for (const r of page) if (out.length < limit && keep(r)) out.push(toDeadLetter(r));
      if (page.length < DEAD_LETTER_PAGE) break;
    }
    return out;
  }

  /**
   * Visits the matching letters page by page (never the whole range at once). `visit` resolves
   * true when it removed the letter: the next page's offset counts only the letters still there.
   * Letters that fail after the walk began (a replay failing again) are not visited.
   */
  async function walk(query: DeadLetterQuery, visit: (letter: DeadLetter) => Promise<boolean>): Promise<void> {
    const started = Date.now();
    const base = { ...range(query), to: Math.min(toMs(query.to, 'to') ?? started, started) };
    const store = await getStore();
    const ids = query.ids ? new Set(query.ids) : undefined;
    const limit = query.limit ?? Infinity;
    let visited = 0;
    let kept = 0;
    for (;;) {
      const page = await store.query({ ...base, limit: DEAD_LETTER_PAGE, offset: kept });
      for (const r of page) {
        const matches = (!ids || ids.has(r.id)) && (query.error === undefined || r.error.name === query.error || r.error.message.includes(query.error));
        if (!matches || visited >= limit) {
          kept += 1;
          continue;
        }
        visited += 1;
        if (!(await visit(toDeadLetter(r)))) kept += 1;
      }
      if (page.length < DEAD_LETTER_PAGE || visited >= limit) return;
    }
  }

  return {
    list: find,
    async count(query = {}) {
      if (query.error === undefined && query.limit === undefined) return (await getStore()).count(range(query));
      return (await find(query)).length;
    },
    async replay(options = {}) {
      if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) {
        throw new InvalidOptionError('ratePerSecond', `must be > 0, got ${options.ratePerSecond}`);
      }
      const replayed: Array<{ from: string; id?: string; name: string }> = [];
      const skipped: Array<{ id: string; reason: string }> = [];
      const gapMs = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
      const store = await getStore();
      await walk(options, async (letter) => {
        if (!letter.envelope) {
          skipped.push({ id: letter.id, reason: `undecodable data (${letter.error.message})` });
          return false;
        }
        if (letter.error.name === 'UnknownJobError') {
          // Its name has no worker in the queue it was found in: a replay would wait there forever.
          skipped.push({ id: letter.id, reason: `no worker serves "${letter.name}" where it was found (${letter.error.message}); enqueue its payload under a job name a worker serves, then discard it` });
          return false;
        }
        if (options.dryRun) {
          replayed.push({ from: letter.id, name: letter.name });
          return false;
        }
        if (gapMs > 0 && replayed.length > 0) await sleep(gapMs);
        const id = await enqueue(letter as DeadLetter & { envelope: Envelope });
        replayed.push({ from: letter.id, id, name: letter.name });
        if (options.keep) return false;
        await store.remove([letter.id]);
        return true;
      });
      return { dryRun: options.dryRun === true, replayed, skipped };
    },
    async discard(query = {}) {
      const store = await getStore();
      let removed = 0;
      await walk(query, async (letter) => {
        const n = await store.remove([letter.id]);
        removed += n;
        return n > 0;
      });
      return removed;
    },
  };
}
