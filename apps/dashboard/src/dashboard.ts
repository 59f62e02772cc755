/**
 * createDashboard: a page over the three tiers of one platform, to mount in any node:http server.
 *
 *   const dashboard = createDashboard({ platform });
 *   http.createServer((req, res) => { if (dashboard.handle(req, res)) return; ...app... });
 *
 * Everything is read through the tiers' public APIs, so the page shows the same in-process memory
 * tiers as the application it is mounted in, or the brokers a standalone run is configured for.
 * The dashboard never closes the platform: its owner does.
 *
 * Routes under `basePath` (default `/dashboard`):
 *   GET  /                         the page (index.html, app.js, style.css)
 *   GET  /api/overview?jobs=a,b    adapters, counts per job name, dead-letter total, bus and channel counters
 *   GET  /api/queues?jobs=a,b      counts per job name
 *   GET  /api/dead-letters?name=&error=&limit=   {total, limit, items}
 *   GET  /api/dead-letters/:id     one letter with payload, envelope and error (stack included)
 *   POST /api/dead-letters/replay  {ids? | name?, error?, dryRun?}  -> ReplayResult
 *   POST /api/dead-letters/discard {ids? | name?, error? | all: true} -> {discarded}
 *   GET  /api/bus                  recent bus events (newest first) and counters per event name
 *   GET  /api/channels             recent pubsub messages and counters/rates per channel
 *   GET  /api/jobs                 recent job events of this process
 *   GET  /api/stream               server-sent events: `batch` = {bus, channel, job, dropped}
 *
 * There is no login: mount it behind your own auth, or pass `authorize`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventsError, InvalidOptionError } from '@events/core';
import type { Platform, PlatformMaps } from '@events/platform';
import { createApi } from './api.js';
import { HttpError, readJsonObject, sendJson, sendStatic, STATIC_FILES } from './http.js';
import { createLiveFeeds } from './live.js';
import { createEventStream } from './stream.js';

export interface DashboardOptions<M extends PlatformMaps = PlatformMaps> {
  /** The platform to show. The dashboard subscribes to its bus and pubsub but never closes it. */
  platform: Platform<M>;
  /** Path the dashboard is served under. Default: `/dashboard`. */
  basePath?: string;
  /**
   * Job names to show counts for. The queue cannot list its names, so names are otherwise only
   * learnt from job events in this process and from the dead letters. Default: `[]`.
   */
  jobNames?: readonly string[];
  /**
   * Label of the dashboard's transient `#` bus subscription (it shares events with no group and
   * leaves no queue behind on RabbitMQ), or `false` to leave the bus alone. Default: `dashboard`.
   */
  busGroup?: string | false;
  /**
   * Glob of the pubsub channels to watch, or `false` to leave pubsub alone. On Redis, `*` receives
   * every PUBLISH on the server, other applications' included. Default: `*`.
   */
  channelPattern?: string | false;
  /** Items kept per live feed (bus events, pubsub messages, job events). Default: 200. */
  historySize?: number;
  /** Event names and channels with counters; the least recently seen is forgotten beyond. Default: 500. */
  maxTracked?: number;
  /** Decides per request whether it may be served; false answers 403. Default: every request is allowed. */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** Errors with nowhere else to go (a failed subscription, a 500). Default: console.error. */
  onError?: (error: Error) => void;
}

export interface Dashboard {
  /** Serves the request when its path is under `basePath` and returns true; otherwise returns false and leaves it alone. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Resolves once the live subscriptions (bus `#`, pubsub `*`) are registered; rejects if one failed. */
  ready(): Promise<void>;
  /** Ends the live streams and cancels the dashboard's subscriptions. Idempotent. */
  close(): Promise<void>;
}

export function createDashboard<M extends PlatformMaps>(options: DashboardOptions<M>): Dashboard {
  // The dashboard handles any name, channel and event, so it works on the untyped view of the tiers.
  const platform = options.platform as unknown as Platform;
  const base = normalizeBasePath(options.basePath ?? '/dashboard');
  const onError = options.onError ?? ((error: Error) => console.error('[dashboard]', error));
  const feeds = createLiveFeeds(platform, {
    busGroup: options.busGroup ?? 'dashboard',
    channelPattern: options.channelPattern ?? '*',
    historySize: positive('historySize', options.historySize ?? 200),
    maxTracked: positive('maxTracked', options.maxTracked ?? 500),
    onError,
  });
  const stream = createEventStream(feeds, { flushMs: 250, maxBatch: 100, maxBufferedBytes: 1024 * 1024 });
  const api = createApi({ platform, feeds, jobNames: options.jobNames ?? [] });
  let closing: Promise<void> | undefined;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (options.authorize && !(await options.authorize(req))) throw new HttpError(403, 'forbidden');
    const path = url.pathname.slice(base.length) || '/';
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/')) {
      if (closing) throw new HttpError(503, 'dashboard closed');
      const route = path.slice('/api'.length);
      if (method === 'POST') {
        if (route === '/dead-letters/replay') return sendJson(res, 200, await api.replay(await readJsonObject(req)));
        if (route === '/dead-letters/discard') return sendJson(res, 200, await api.discard(await readJsonObject(req)));
        throw new HttpError(404, `no such endpoint: POST ${url.pathname}`);
      }
      if (method !== 'GET') throw new HttpError(405, 'use GET (or POST for replay and discard)');
      if (route === '/stream') return stream.serve(req, res);
      if (route === '/overview') return sendJson(res, 200, await api.overview(url));
      if (route === '/queues') return sendJson(res, 200, { queues: await api.queues(url) });
      if (route === '/bus') return sendJson(res, 200, api.bus());
      if (route === '/channels') return sendJson(res, 200, api.channels());
      if (route === '/jobs') return sendJson(res, 200, api.jobs());
      if (route === '/dead-letters') return sendJson(res, 200, await api.listDeadLetters(url));
      const one = /^\/dead-letters\/([^/]+)$/.exec(route);
      if (one) return sendJson(res, 200, await api.deadLetter(decodeURIComponent(one[1]!)));
      throw new HttpError(404, `no such endpoint: GET ${url.pathname}`);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'use GET');
    const file = path === '/' ? '/index.html' : path;
    if (!STATIC_FILES.has(file)) throw new HttpError(404, `no such page: ${url.pathname}`);
    return sendStatic(req, res, file);
  }

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === base && base !== '') {
        // The page uses relative URLs (app.js, api/...), which need the trailing slash.
        res.writeHead(302, { location: `${base}/${url.search}` });
        res.end();
        return true;
      }
      if (!url.pathname.startsWith(`${base}/`)) return false;
      route(req, res, url).catch((error: unknown) => {
        const status = statusOf(error);
        if (status === 500) onError(error instanceof Error ? error : new Error(String(error)));
        if (!res.headersSent) sendJson(res, status, { error: error instanceof Error ? error.message : String(error), ...codeOf(error) });
        else res.end();
      });
      return true;
    },
    ready: () => feeds.ready,
    close() {
      closing ??= (async () => {
        stream.close();
        await feeds.close();
      })();
      return closing;
    },
  };
}

function normalizeBasePath(path: string): string {
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(path)) {
    throw new InvalidOptionError('basePath', `must start with "/" and hold only URL path characters, got ${JSON.stringify(path)}`);
  }
  return path.replace(/\/+$/, '');
}

function positive(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidOptionError(option, `must be an integer >= 1, got ${value}`);
  return value;
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  // Bad names, patterns and options from the request are the caller's mistake, not the server's.
  if (error instanceof EventsError && ['INVALID_OPTION', 'INVALID_NAME', 'INVALID_PATTERN'].includes(error.code)) return 400;
  return 500;
}

function codeOf(error: unknown): { code?: string } {
  return error instanceof EventsError ? { code: error.code } : {};
}
