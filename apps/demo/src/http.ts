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
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRateLimiter, type RateLimiter } from '@events/dashboard';
import { HttpError, readJsonObject, requestUrl, SECURITY_HEADERS, sendJson } from '@events/dashboard/http';
import { InvalidOptionError } from '@events/core';
import { isTenant } from './channels.js';
import { CLIENT_BUNDLE_PATH, type ClientBundle } from './client-bundle.js';
import type { UsersContext } from './contexts/users.js';
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
}

/** The demo's routes. Throws HttpError (or a validation error) for the caller's mistakes; guardListener answers them. */
export function createRequestHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const signups = createRateLimiter(deps.signupsPerMinute);
  return (req, res) => route(req, res, { ...deps, signups });
}

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
