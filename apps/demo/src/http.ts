/**
 * The demo's HTTP surface on node:http: the static page, a JSON API, a health check and the
 * dashboard's login link. Bodies go through the one bounded reader of @events/dashboard/http
 * (JSON only: a plain cross-site form cannot sign anyone up).
 *
 *   POST /api/signup  {email, tenant}  -> 201 {userId, tenant, email, channel}
 *   GET  /api/audit?tenant=acme        -> 200 {records: AuditRecord[]}
 *   GET  /healthz                      -> 200 {status: 'ok', adapters, roles, users, tiers}; 503 when closing or a tier is down
 *   GET  /login?token=...              -> sets the dashboard's login cookie, redirects to /dashboard/
 *   GET  /vendor/pubsub-client.js      -> the browser build of @events/pubsub/client (and its .map)
 *   GET  /metrics                      -> the platform's metrics, Prometheus text format (dashboard token; 404 when DEMO_METRICS=off)
 *
 * Each request runs inside an HTTP server span (withServerSpan), so a signup's emit is its child.
 */
import { readFile } from 'node:fs/promises';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRateLimiter, type Authorize, type RateLimiter } from '@events/dashboard';
import { HttpError, readJsonObject, requestUrl, SECURITY_HEADERS, sendJson } from '@events/dashboard/http';
import { InvalidOptionError } from '@events/core';
import { isTenant } from './channels.js';
import { CLIENT_BUNDLE_PATH, type ClientBundle } from './client-bundle.js';
import type { UsersContext } from './contexts/users.js';
import type { MetricsHandler } from './telemetry.js';
import type { AuditRecord } from './types.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
/** Largest signup body: 16 KiB. */
export const MAX_SIGNUP_BYTES = 16 * 1024;
/** Longest wait for a signup body: 5 s. */
export const SIGNUP_BODY_TIMEOUT_MS = 5000;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const STATIC = new Set(['/index.html', '/app.js', '/style.css', '/favicon.svg']);

export interface ApiDeps {
  users: UsersContext;
  /** Reads the audit context's records of one tenant (wherever that context runs). */
  audit(tenant: string): Promise<AuditRecord[]>;
  /** The health facts, and whether they are good. */
  health(): { ok: boolean; body: Record<string, unknown> };
  /** The page's websocket client, served at CLIENT_BUNDLE_PATH. */
  clientBundle: ClientBundle;
  /** False once shutdown began: new signups get 503 while in-flight ones finish. */
  accepting(): boolean;
  /** Serves the dashboard's login link. */
  login(req: IncomingMessage, res: ServerResponse, url: URL): void;
  /** Signups per client address per minute; past it 429. */
  signupsPerMinute: number;
  /** Serves GET /metrics; none: 404. */
  metrics?: MetricsHandler | undefined;
  /** Who may read /metrics: the dashboard's token check. Without it /metrics is 404. */
  authorize?: Authorize | undefined;
}

/** The demo's routes. Throws HttpError (or a validation error) for the caller's mistakes; guardListener answers them. */
export function createRequestHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const signups = createRateLimiter(deps.signupsPerMinute);
  const routed = { ...deps, signups };
  return (req, res) => withServerSpan(req, res, () => route(req, res, routed));
}

/** `http.route` of a request: its path when it is one of ours (a low-cardinality set), else none. */
function routeOf(path: string): string | undefined {
  if (ROUTES.has(path) || STATIC.has(path)) return path;
  return path === '/' ? '/' : undefined;
}
const ROUTES = new Set(['/healthz', '/login', '/metrics', '/api/signup', '/api/audit', CLIENT_BUNDLE_PATH, `${CLIENT_BUNDLE_PATH}.map`]);

async function route(req: IncomingMessage, res: ServerResponse, deps: ApiDeps & { signups: RateLimiter }): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname;
  if (path === '/healthz') {
    const { ok, body } = deps.health();
    return sendJson(res, ok && deps.accepting() ? 200 : 503, body);
  }
  if (path === '/login') return deps.login(req, res, url);
  if (path === '/api/signup') {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    if (!deps.accepting()) throw new HttpError(503, 'shutting down');
    const wait = deps.signups.take(req.socket.remoteAddress ?? 'unknown');
    if (wait > 0) throw new HttpError(429, `too many signups from this address: try again in ${wait} s`, { headers: { 'retry-after': String(wait) } });
    const body = await readJsonObject(req, { maxBytes: MAX_SIGNUP_BYTES, timeoutMs: SIGNUP_BODY_TIMEOUT_MS, expected: '{email, tenant}' });
    try {
      return sendJson(res, 201, await deps.users.signup({ email: body.email, tenant: body.tenant }));
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new HttpError(400, error.message);
      throw error;
    }
  }
  if (path === '/api/audit') {
    const tenant = url.searchParams.get('tenant');
    if (!isTenant(tenant)) throw new HttpError(400, 'GET /api/audit?tenant=<tenant>: the tenant is required (lowercase letters, digits, dashes)');
    return sendJson(res, 200, { tenant, records: await deps.audit(tenant) });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
  if (path === '/metrics') {
    if (!deps.metrics || !deps.authorize) throw new HttpError(404, 'metrics are off (DEMO_METRICS=off)');
    // Operational data (names, rates, depths): the dashboard's token, like the dashboard itself.
    const verdict = await deps.authorize(req);
    if (verdict === false || (typeof verdict === 'object' && 'deny' in verdict)) {
      const denied = verdict === false ? { deny: 403, message: undefined } : verdict;
      throw new HttpError(denied.deny, denied.message ?? 'not allowed', { headers: { 'www-authenticate': 'Bearer' } });
    }
    return deps.metrics(req, res);
  }
  if (path === CLIENT_BUNDLE_PATH || path === `${CLIENT_BUNDLE_PATH}.map`) {
    const map = path.endsWith('.map');
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': map ? 'application/json' : TYPES['.js']!, 'cache-control': 'no-cache' });
    return void res.end(req.method === 'HEAD' ? undefined : map ? deps.clientBundle.map : deps.clientBundle.js);
  }
  const file = path === '/' ? '/index.html' : path;
  if (!STATIC.has(file)) throw new HttpError(404, 'no such page');
  const body = await readFile(join(PUBLIC_DIR, file));
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const tracer = trace.getTracer('@events/demo');

/**
 * Runs `handle` inside a SERVER span named `<method> <route>` (semantic conventions for HTTP),
 * continuing the caller's `traceparent` when there is one. The span ends when the response is
 * closed, so the status the guard answered a thrown HttpError with is the one recorded; 5xx marks
 * it failed. Without an SDK the span is the API's non-recording one and nothing else is done.
 * The query string is never recorded (the login link carries the token there).
 */
export async function withServerSpan(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
  const parent = propagation.extract(context.active(), req.headers);
  const method = KNOWN_METHODS.has(req.method ?? '') ? req.method! : '_OTHER';
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const route = routeOf(path);
  const attributes: Attributes = { 'http.request.method': method, 'url.path': path, 'url.scheme': 'http' };
  if (route !== undefined) attributes['http.route'] = route;
  if (req.socket.remoteAddress) attributes['client.address'] = req.socket.remoteAddress;
  const span = tracer.startSpan(route === undefined ? method : `${method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent);
  if (span.isRecording()) {
    res.once('close', () => {
      const status = res.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
  }
  try {
    await context.with(trace.setSpan(parent, span), handle);
  } catch (error) {
    // The guard answers it; a 5xx's cause is kept on the span (a caller's 4xx is not a server error).
    if (!(error instanceof HttpError && error.status < 500) && span.isRecording()) span.recordException(error instanceof Error ? error : String(error));
    throw error;
  }
}
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
