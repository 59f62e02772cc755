/**
 * createDashboard: a page over the three tiers of one platform, to mount in any node:http server.
 *
 *   const dashboard = createDashboard({ platform, authorize: (req) => isAdmin(req) });
 *   http.createServer((req, res) => { if (dashboard.handle(req, res)) return; ...app... });
 *
 * Everything is read through the tiers' public APIs, so the page shows the same in-process memory
 * tiers as the application it is mounted in, or the brokers a standalone run is configured for.
 * The dashboard never closes the platform: its owner does.
 *
 * Closed by default: it refuses to start without `authorize` unless `insecure: true`; it answers
 * only requests whose Host is allowed (DNS rebinding) and API requests from its own origin (CSRF);
 * POST bodies are JSON only; every answer carries a CSP with `frame-ancestors 'none'` and
 * `nosniff`; stack traces and error messages of 5xx answers reach authorized callers only; replay
 * and discard are rate-limited per caller and logged with who asked. `handle` never throws: a
 * request it cannot parse is answered 400 and reported through `onError`.
 *
 * Routes under `basePath` (default `/dashboard`):
 *   GET  /                         the page (index.html, app.js, style.css)
 *   GET  /api/overview?jobs=a,b    adapters, counts per job name, dead-letter total, bus and channel counters
 *   GET  /api/queues?jobs=a,b      counts per job name (`jobs` picks among the known names only)
 *   GET  /api/health               each tier's health facts
 *   GET  /api/dead-letters?name=&error=&limit=   {total, limit, items}
 *   GET  /api/dead-letters/:id     one letter with payload, envelope and error (stack for authorized callers)
 *   POST /api/dead-letters/replay  {ids? | name?, error?, dryRun?}  -> ReplayResult
 *   POST /api/dead-letters/discard {ids? | name?, error? | all: true} -> {discarded}
 *   GET  /api/bus                  recent bus events (newest first) and counters per event name
 *   GET  /api/channels             recent pubsub messages and counters/rates per channel
 *   GET  /api/jobs                 recent job events of this process
 *   GET  /api/stream               server-sent events: `ready` once live, then `batch` = {bus, channel, job, dropped}
 *   GET  /api/admin/jobs?name=&state=&offset=&limit=   a page of jobs of one state, with the counts of every state
 *   GET  /api/admin/job?name=&id=  one job: data, attempts, progress, logs, error (stack for authorized callers), timings, envelope ids
 *   GET  /api/admin/find?id=       where an id is: jobs of the known names, recent bus events
 *   GET  /api/admin/rates?names=   enqueued/completed/failed per second, per minute, over the last hour
 *   GET  /api/journeys?q=&limit=   journeys by correlation id, envelope id, job id or key (an email); the most recent without q
 *   GET  /api/journeys/:correlationId  one journey: every message's steps, attempts and errors as a causal tree
 *   POST /api/admin/{retry,promote,remove} {name, id}; /api/admin/{pause,resume} {name};
 *        /api/admin/clean {name, state, olderThanMs, limit?, dryRun?}   (rate-limited and logged like replay)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { consoleErrorHook, createErrorReporter, createId, InvalidOptionError, type ErrorHook } from '@events/core';
import type { Platform, PlatformMaps } from '@events/platform';
import { ADMIN_ACTIONS, createAdminApi, type AdminAction } from './admin-api.js';
import { createApi } from './api.js';
import { createJourneyApi, sendSafeJson } from './journey-api.js';
import { asHttpError, logAction, normalizeBasePath, positive } from './dashboard-kit.js';
import { authorizeRequest, checkOrigin, createRateLimiter, hostName, isHostAllowed, type Authorize, type Caller } from './guard.js';
import { platformHealth } from './health.js';
import { decodePathSegment, escapeControl, HttpError, requestUrl, sendError } from './http-kit.js';
import { readJsonObject, sendJson, sendStatic, STATIC_FILES } from './http.js';
import { createLiveFeeds } from './live.js';
import { createEventStream } from './stream.js';

export type { Authorize, AuthorizeResult, Caller } from './guard.js';
export { createRateLimiter, type RateLimiter } from './guard.js';
export { componentHealth, platformHealth, type PlatformHealth, type TierHealth } from './health.js';
export { createTokenAuth, type TokenAuth, type TokenAuthOptions } from './token-auth.js';

export interface DashboardOptions<M extends PlatformMaps = PlatformMaps> {
  /** The platform to show. The dashboard subscribes to its bus and pubsub but never closes it. */
  platform: Platform<M>;
  /**
   * Decides per request whether it may be served: `true` or `{ user }` lets it in (the user is named
   * in the action log), `false` answers 403, `{ deny: 401, message }` answers 401 with a message.
   * Check the application's own session or token here (docs/security.md). Each call has
   * `authorizeTimeoutMs`; a throwing hook refuses the request. Default: none, and then
   * createDashboard throws unless `insecure` is true.
   */
  authorize?: Authorize;
  /**
   * Serve every request without `authorize` (anonymous: no stack traces, but replay and discard are
   * open to whoever reaches the port). For a dashboard on a trusted loopback port only. Default: false.
   */
  insecure?: boolean;
  /**
   * Host names (no port) the dashboard answers to, besides `localhost`, `*.localhost` and IP
   * addresses; `.example.com` allows its subdomains, `*` any host (only behind a proxy that checks
   * Host itself). Any other Host is refused 403, which defeats DNS rebinding. Default: `[]`.
   */
  allowedHosts?: readonly string[];
  /** Origins (`https://ops.example.com`) that may call `/api/*` besides the page's own. Default: `[]`. */
  allowedOrigins?: readonly string[];
  /** Longest wait for `authorize`; past it the request is answered 503. Default: 5 000 ms. */
  authorizeTimeoutMs?: number;
  /** Actions (replay, discard, retry, promote, remove, pause, resume, clean) per caller per minute (a token bucket); past it 429 with Retry-After. Default: 30. */
  actionsPerMinute?: number;
  /** Event streams (`/api/stream`) open at once; one more is answered 503. Default: 50. */
  maxStreams?: number;
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
  /**
   * Errors with nowhere else to go, as `{ tier: 'dashboard', kind, error }`: `request` (a request
   * that cannot be parsed), `handler` (a 500, with its `ref`), `authorize` (the hook threw or timed
   * out), `subscription` (a live feed failed), `stream`. Default: consoleErrorHook() (rate-limited).
   */
  onError?: ErrorHook;
  /** Every action, with who asked and what came of it. Default: one line on stdout. */
  onAction?: (action: DashboardAction) => void;
}

/** One action, as the action log records it. */
export interface DashboardAction {
  readonly action: 'replay' | 'discard' | AdminAction;
  readonly user: string;
  readonly address: string;
  readonly request: Readonly<Record<string, unknown>>;
  readonly result:
    | { readonly replayed?: number; readonly skipped?: number; readonly discarded?: number; readonly dryRun?: boolean; readonly changed?: boolean; readonly paused?: boolean; readonly count?: number }
    | { readonly error: string };
  readonly at: Date;
}

export interface Dashboard {
  /** Serves the request when its path is under `basePath` (or cannot be parsed) and returns true; otherwise returns false and leaves it alone. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Resolves once the live subscriptions (bus `#`, pubsub `*`) are registered; rejects if one failed. */
  ready(): Promise<void>;
  /** Ends the live streams and cancels the dashboard's subscriptions. Idempotent. */
  close(): Promise<void>;
}

export function createDashboard<M extends PlatformMaps>(options: DashboardOptions<M>): Dashboard {
  if (!options.authorize && options.insecure !== true) {
    throw new InvalidOptionError(
      'authorize',
      'is required: the dashboard can replay and discard jobs. Pass authorize(req) that checks your session or token (docs/security.md), or insecure: true for a trusted loopback port',
    );
  }
  // The dashboard handles any name, channel and event, so it works on the untyped view of the tiers.
  const platform = options.platform as unknown as Platform;
  const base = normalizeBasePath(options.basePath ?? '/dashboard');
  const reporter = createErrorReporter('dashboard', options.onError ?? consoleErrorHook());
  const onAction = options.onAction ?? logAction;
  const allowedHosts = [...(options.allowedHosts ?? [])];
  const allowedOrigins = [...(options.allowedOrigins ?? [])];
  const authorizeTimeoutMs = positive('authorizeTimeoutMs', options.authorizeTimeoutMs ?? 5000);
  const limiter = createRateLimiter(positive('actionsPerMinute', options.actionsPerMinute ?? 30));
  const feeds = createLiveFeeds(platform, {
    busGroup: options.busGroup ?? 'dashboard',
    channelPattern: options.channelPattern ?? '*',
    historySize: positive('historySize', options.historySize ?? 200),
    maxTracked: positive('maxTracked', options.maxTracked ?? 500),
    onError: (error) => reporter.report('subscription', error),
  });
  const stream = createEventStream(feeds, {
    flushMs: 250,
    maxBatch: 100,
    maxBufferedBytes: 1024 * 1024,
    maxClients: positive('maxStreams', options.maxStreams ?? 50),
    onError: (error) => reporter.report('stream', error),
  });
  const api = createApi({ platform, feeds, jobNames: (options.jobNames ?? []).map(String) });
  const adminApi = createAdminApi({ platform, feeds, knownJobNames: api.knownJobNames });
  const journeyApi = createJourneyApi(platform, { ownGroup: options.busGroup === false ? undefined : (options.busGroup ?? 'dashboard') });
  let closing: Promise<void> | undefined;

  async function act(req: IncomingMessage, caller: Caller, action: DashboardAction['action']): Promise<unknown> {
    const wait = limiter.take(caller.authorized ? `user:${caller.user}` : `address:${caller.address}`);
    if (wait > 0) throw new HttpError(429, `too many actions: try again in ${wait} s`, { headers: { 'retry-after': String(wait) } });
    const body = await readJsonObject(req);
    const record = (result: DashboardAction['result']): void => {
      try {
        onAction({ action, user: caller.user, address: caller.address, request: body, result, at: new Date() });
      } catch (error) {
        reporter.report('handler', error);
      }
    };
    try {
      if (action !== 'replay' && action !== 'discard') {
        const answer = await adminApi.act(action, body);
        // The log gets the count of a clean, not its ids.
        const { changed, paused, dryRun, count } = answer;
        record({ changed, paused, dryRun, count });
        return answer;
      }
      if (action === 'replay') {
        const result = await api.replay(body);
        record({ replayed: result.replayed.length, skipped: result.skipped.length, dryRun: result.dryRun });
        return result;
      }
      const result = await api.discard(body);
      record({ discarded: result.discarded });
      return result;
    } catch (error) {
      record({ error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, { url, caller }: { url: URL; caller: Caller }): Promise<void> {
    const path = url.pathname.slice(base.length) || '/';
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/')) {
      if (closing) throw new HttpError(503, 'dashboard closed');
      const route = path.slice('/api'.length);
      if (method === 'POST') {
        if (route === '/dead-letters/replay') return sendJson(res, 200, await act(req, caller, 'replay'));
        if (route === '/dead-letters/discard') return sendJson(res, 200, await act(req, caller, 'discard'));
        const admin = /^\/admin\/([a-z]+)$/.exec(route)?.[1];
        if (admin && (ADMIN_ACTIONS as readonly string[]).includes(admin)) return sendJson(res, 200, await act(req, caller, admin as AdminAction));
        throw new HttpError(404, 'no such endpoint');
      }
      if (method !== 'GET') throw new HttpError(405, 'use GET (or POST for actions)');
      if (route === '/stream') return stream.serve(req, res);
      if (route === '/overview') return sendJson(res, 200, await api.overview(url, caller.authorized));
      if (route === '/queues') return sendJson(res, 200, await api.queues(url, caller.authorized));
      if (route === '/health') return sendJson(res, 200, platformHealth(platform, { expose: caller.authorized }));
      if (route === '/bus') return sendJson(res, 200, api.bus());
      if (route === '/channels') return sendJson(res, 200, api.channels());
      if (route === '/jobs') return sendJson(res, 200, api.jobs());
      if (route === '/dead-letters') return sendJson(res, 200, await api.listDeadLetters(url));
      if (route === '/admin/jobs') return sendJson(res, 200, await adminApi.jobs(url));
      if (route === '/admin/job') return sendJson(res, 200, await adminApi.job(url, caller.authorized));
      if (route === '/admin/find') return sendJson(res, 200, await adminApi.find(url));
      if (route === '/admin/rates') return sendJson(res, 200, await adminApi.rates(url));
      if (route === '/journeys') return sendSafeJson(res, 200, await journeyApi.search(url));
      const journey = /^\/journeys\/([^/]+)$/.exec(route);
      if (journey) return sendSafeJson(res, 200, await journeyApi.journey(decodePathSegment(journey[1]!)));
      const one = /^\/dead-letters\/([^/]+)$/.exec(route);
      if (one) return sendJson(res, 200, await api.deadLetter(decodePathSegment(one[1]!), caller.authorized));
      throw new HttpError(404, 'no such endpoint');
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'use GET');
    const file = path === '/' ? '/index.html' : path;
    if (!STATIC_FILES.has(file)) throw new HttpError(404, 'no such page');
    return sendStatic(req, res, file);
  }

  /** Every check, then the route; whatever fails is answered here and never escapes. */
  async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let caller: Caller | undefined;
    try {
      if (!isHostAllowed(hostName(req.headers.host), allowedHosts)) throw new HttpError(403, 'this host name is not allowed: add it to the dashboard\'s "allowedHosts"');
      if (url.pathname.startsWith(`${base}/api/`)) checkOrigin(req, allowedOrigins);
      caller = await authorizeRequest(req, options.authorize, { timeoutMs: authorizeTimeoutMs, onHookError: (error) => reporter.report('authorize', error) });
      await route(req, res, { url, caller });
    } catch (error) {
      const known = asHttpError(error);
      const ref = known ? undefined : createId();
      if (!known) reporter.report('handler', error, { id: ref, detail: { method: req.method ?? '', path: url.pathname.slice(0, 200) } });
      sendError(res, known ?? error, { expose: caller?.authorized ?? false, ...(ref ? { ref } : {}) });
    }
  }

  return {
    handle(req, res) {
      try {
        let url: URL;
        try {
          url = requestUrl(req);
        } catch (error) {
          // Not a URL anyone can serve: answered here rather than handed to the application.
          reporter.report('request', error, { detail: { target: escapeControl(String(req.url).slice(0, 200)) } });
          sendError(res, error);
          return true;
        }
        if (url.pathname === base && base !== '') {
          // The page uses relative URLs (app.js, api/...), which need the trailing slash.
          res.writeHead(302, { location: `${base}/${url.search}` });
          res.end();
          return true;
        }
        if (!url.pathname.startsWith(`${base}/`)) return false;
        void serve(req, res, url);
        return true;
      } catch (error) {
        reporter.report('handler', error);
        res.destroy();
        return true;
      }
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
