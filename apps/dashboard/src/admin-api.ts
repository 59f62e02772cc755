/**
 * The dashboard's job administration answers, over `queue.admin`. A job name from a request must
 * be one the dashboard knows (see api.ts): an unknown name is answered 404 and never reaches the
 * queue, so a request cannot make the backend create anything. Every id, state, page and age is
 * checked here before the queue checks it again; a job not in a state an action applies to is 409.
 */
import type { CleanableState } from '@events/core';
import type { JobListState } from '@events/queue';
import { CLEANABLE_STATES, JOB_LIST_STATES, MAX_ADMIN_PAGE, MAX_CLEAN } from '@events/queue';
import type { Platform } from '@events/platform';
import { HttpError, optionalBoolean } from './http.js';
import type { LiveFeeds } from './live.js';

/** Job names searched per `find`, and charted per `rates` answer. */
export const MAX_FIND_NAMES = 100;
export const MAX_RATE_NAMES = 20;
const MAX_ID = 256;

export interface AdminApiContext {
  platform: Platform;
  feeds: LiveFeeds;
  knownJobNames(): Promise<string[]>;
}

export type AdminAction = 'retry' | 'promote' | 'remove' | 'pause' | 'resume' | 'clean';
export const ADMIN_ACTIONS: readonly AdminAction[] = ['retry', 'promote', 'remove', 'pause', 'resume', 'clean'];

function str(value: unknown, key: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new HttpError(400, `"${key}" must be a non-empty string of at most ${max} characters`);
  return value;
}

function int(raw: unknown, key: string, { fallback, range: [min, max] }: { fallback: number; range: readonly [number, number] }): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `"${key}" must be an integer from ${min} to ${max}`);
  return n;
}

/** What an action answers: `changed` for retry, promote and remove; `paused`; a clean's ids (also a dry run's). */
export interface AdminActionResult {
  readonly changed?: true;
  readonly paused?: boolean;
  readonly dryRun?: boolean;
  readonly count?: number;
  readonly ids?: readonly string[];
}

export function createAdminApi(ctx: AdminApiContext) {
  const admin = ctx.platform.queue.admin;

  /** The name, if the dashboard knows it; 404 otherwise. */
  async function known(value: unknown): Promise<string> {
    const name = str(value, 'name', 200);
    if (!(await ctx.knownJobNames()).includes(name)) throw new HttpError(404, 'no such job name (the dashboard knows the names in jobNames, job events and dead letters)');
    return name;
  }

  const changed = (ok: boolean, what: string): { changed: true } => {
    if (!ok) throw new HttpError(409, `the job is not ${what}`);
    return { changed: true };
  };

  return {
    /** `?name=&state=&offset=&limit=`: a page of jobs of one state, with every state's count. */
    async jobs(url: URL) {
      const name = await known(url.searchParams.get('name'));
      const state = url.searchParams.get('state') ?? 'waiting';
      if (!(JOB_LIST_STATES as readonly string[]).includes(state)) throw new HttpError(400, `"state" must be one of ${JOB_LIST_STATES.join(', ')}`);
      const offset = int(url.searchParams.get('offset'), 'offset', { fallback: 0, range: [0, 1_000_000] });
      const limit = int(url.searchParams.get('limit'), 'limit', { fallback: 20, range: [1, MAX_ADMIN_PAGE] });
      const [page, counts] = await Promise.all([admin.list(name, state as JobListState, { offset, limit }), admin.counts(name)]);
      return { ...page, counts };
    },
    /** `?name=&id=`: one job; the stack (server paths) only when `expose`. */
    async job(url: URL, expose: boolean) {
      const name = await known(url.searchParams.get('name'));
      const id = str(url.searchParams.get('id'), 'id', MAX_ID);
      const job = await admin.job(name, id);
      if (!job) throw new HttpError(404, 'no job with that id under that name');
      const { stack, ...rest } = job;
      return expose && stack !== undefined ? { ...rest, stack } : rest;
    },
    /** `?id=`: where an id is: jobs of the known names (at most MAX_FIND_NAMES) and recent bus events. */
    async find(url: URL) {
      const id = str(url.searchParams.get('id')?.trim(), 'id', MAX_ID);
      const names = (await ctx.knownJobNames()).slice(0, MAX_FIND_NAMES);
      // One cheap read per name (getJob), and one dead-letter lookup for ids no backend holds.
      const found = await Promise.all(names.map(async (name) => ({ name, job: await ctx.platform.queue.getJob(name, id).catch(() => undefined) })));
      const jobs: Array<{ name: string; id: string; state: string }> = found.filter((f) => f.job !== undefined).map((f) => ({ name: f.name, id, state: f.job!.state }));
      if (jobs.length === 0) for (const letter of await ctx.platform.queue.deadLetters.list({ ids: [id] })) jobs.push({ name: letter.name, id, state: 'dead' });
      const busEvents = ctx.feeds.bus().events.filter((e) => e.id === id);
      return { id, jobs, busEvents };
    },
    /** `?names=a,b`: per-second rates over the last hour (default: the first MAX_RATE_NAMES known names). */
    async rates(url: URL) {
      const knownNames = await ctx.knownJobNames();
      const asked = url.searchParams.get('names');
      const names = asked === null ? knownNames.slice(0, MAX_RATE_NAMES) : [...new Set(asked.split(',').map((s) => s.trim()).filter(Boolean))];
      if (names.length > MAX_RATE_NAMES) throw new HttpError(400, `at most ${MAX_RATE_NAMES} names per request`);
      const unknown = names.filter((n) => !knownNames.includes(n));
      if (unknown.length > 0) throw new HttpError(404, `no such job name: ${unknown.slice(0, 3).join(', ').slice(0, 300)}`);
      return { series: await Promise.all(names.map((n) => admin.rates(n))) };
    },
    /** Runs one action from a POST body; resolves to the answer (also what the action log records). */
    async act(action: AdminAction, body: Record<string, unknown>): Promise<AdminActionResult> {
      const name = await known(body.name);
      switch (action) {
        case 'retry':
          return changed(await admin.retry(name, str(body.id, 'id', MAX_ID)), 'failed (a dead letter whose job is gone is replayed instead)');
        case 'promote':
          return changed(await admin.promote(name, str(body.id, 'id', MAX_ID)), 'delayed');
        case 'remove':
          return changed(await admin.remove(name, str(body.id, 'id', MAX_ID)), 'there, or it is active');
        case 'pause':
          await admin.pause(name);
          return { paused: true };
        case 'resume':
          await admin.resume(name);
          return { paused: false };
        case 'clean': {
          const state = body.state;
          if (typeof state !== 'string' || !(CLEANABLE_STATES as readonly string[]).includes(state)) throw new HttpError(400, `"state" must be one of ${CLEANABLE_STATES.join(', ')}`);
          const olderThanMs = int(body.olderThanMs, 'olderThanMs', { fallback: -1, range: [0, 10 * 365 * 86_400_000] });
          if (olderThanMs < 0) throw new HttpError(400, '"olderThanMs" is required');
          const limit = int(body.limit, 'limit', { fallback: MAX_CLEAN, range: [1, MAX_CLEAN] });
          const result = await admin.clean(name, { state: state as CleanableState, olderThanMs, limit, dryRun: optionalBoolean(body, 'dryRun') });
          return { dryRun: result.dryRun, count: result.ids.length, ids: result.ids };
        }
      }
    },
  };
}

export type AdminApi = ReturnType<typeof createAdminApi>;
