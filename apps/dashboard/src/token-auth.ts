/**
 * createTokenAuth: the simplest login that is not open, for a dashboard without an application
 * login to sit behind (the demo, the standalone `npm run dashboard`). One secret token, random
 * unless given; a caller sends it as `Authorization: Bearer <token>`, or opens the login link once
 * (`/login?token=...`), which sets an HttpOnly, SameSite=Strict cookie holding a value derived from
 * the token (never the token itself) and redirects to the dashboard.
 *
 * An application with its own login does not need this: pass `authorize(req)` that checks its
 * session instead (docs/security.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '@events/core';
import { createRateLimiter, type AuthorizeResult } from './guard.js';
import { HttpError, SECURITY_HEADERS } from './http-kit.js';

export interface TokenAuthOptions {
  /** The secret. Default: 32 random bytes, base64url (printed by the caller at start). At least 16 characters. */
  token?: string;
  /** Name of the login cookie. Default: `events_dashboard`. */
  cookieName?: string;
  /** Path the cookie is sent for, and the redirect after login. Default: `/dashboard`. */
  basePath?: string;
  /** Lifetime of the login cookie. Default: 12 hours. */
  maxAgeSeconds?: number;
  /** Login attempts per client address per minute; past it 429. Default: 10. */
  loginsPerMinute?: number;
}

export interface TokenAuth {
  readonly token: string;
  /** The `authorize` hook for createDashboard: 401 with how to log in, unless the bearer or the cookie is right. */
  authorize(req: IncomingMessage): AuthorizeResult;
  /** The login link's path and query for this token (`/login?token=...`), to print at start. */
  loginPath(): string;
  /** Serves `GET /login?token=...` (sets the cookie, redirects to the dashboard). Throws HttpError on a wrong token. */
  login(req: IncomingMessage, res: ServerResponse, url: URL): void;
}

export function createTokenAuth(options: TokenAuthOptions = {}): TokenAuth {
  const token = options.token ?? randomBytes(32).toString('base64url');
  if (token.length < 16) throw new InvalidOptionError('token', `must have at least 16 characters, got ${token.length}`);
  const cookieName = options.cookieName ?? 'events_dashboard';
  const basePath = (options.basePath ?? '/dashboard').replace(/\/+$/, '');
  const maxAge = options.maxAgeSeconds ?? 12 * 3600;
  const limiter = createRateLimiter(options.loginsPerMinute ?? 10);
  // The cookie holds a value derived from the token: a stolen cookie does not reveal the token.
  const session = createHmac('sha256', token).update('events dashboard session').digest('base64url');
  const howTo = 'log in with the link printed at start (/login?token=...), or send "Authorization: Bearer <token>"';

  return {
    token,
    authorize(req) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      if (bearer !== undefined) return same(bearer, token) ? { user: 'token (bearer)' } : { deny: 401, message: `wrong token: ${howTo}` };
      const cookie = readCookie(req.headers.cookie, cookieName);
      if (cookie !== undefined && same(cookie, session)) return { user: 'token (login cookie)' };
      return { deny: 401, message: howTo };
    },
    loginPath: () => `/login?token=${encodeURIComponent(token)}`,
    login(req, res, url) {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      const wait = limiter.take(req.socket.remoteAddress ?? 'unknown');
      if (wait > 0) throw new HttpError(429, `too many login attempts: try again in ${wait} s`, { headers: { 'retry-after': String(wait) } });
      if (!same(url.searchParams.get('token') ?? '', token)) throw new HttpError(401, `wrong token: ${howTo}`);
      res.writeHead(302, {
        ...SECURITY_HEADERS,
        'set-cookie': `${cookieName}=${session}; Path=${basePath || '/'}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`,
        'cache-control': 'no-store',
        location: `${basePath}/`,
      });
      res.end();
    },
  };
}

/** Compares in constant time for equal lengths (a length mismatch says nothing useful: the token is random). */
function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
