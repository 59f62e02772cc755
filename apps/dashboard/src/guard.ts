/**
 * Who may talk to the dashboard: the Host allow-list (defeats DNS rebinding: a page on
 * `evil.example` that resolves to 127.0.0.1 sends `Host: evil.example`), the Origin check (defeats
 * cross-site requests and websocket-style hijacking of the event stream), the `authorize` hook with
 * a deadline, and a per-caller rate limit for the actions that change state.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { HttpError } from './http-kit.js';

/**
 * What `authorize` answers: `true` or `{ user }` lets the request in (`user` names the caller in the
 * action log); `false` refuses it with 403; `{ deny: 401 | 403, message? }` refuses it with that
 * status and message (say how to log in on a 401).
 */
export type AuthorizeResult = boolean | { readonly user: string } | { readonly deny: 401 | 403; readonly message?: string };
export type Authorize = (req: IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>;

/** The caller of one request, once let in. */
export interface Caller {
  /** True when `authorize` let the request in; false for an anonymous request of an `insecure` dashboard. */
  readonly authorized: boolean;
  /** `user` from `authorize`, `authorized` when it answered `true`, `anonymous` without `authorize`. */
  readonly user: string;
  /** The peer's address (the proxy's, behind a reverse proxy). */
  readonly address: string;
}

/** The host part of a Host header, lowercased, without the port; undefined when malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const ip = value.slice(1, end);
    return end > 0 && isIPv6(ip) && /^(:\d{1,5})?$/.test(value.slice(end + 1)) ? `[${ip}]` : undefined;
  }
  const match = /^([a-z0-9.-]{1,253})(:\d{1,5})?$/.exec(value);
  return match?.[1];
}

/**
 * Whether `host` (from hostName) may be served. Always: `localhost`, `*.localhost` and IP literals
 * (DNS rebinding needs a name the attacker controls). Besides: each entry of `allowed`, exact, or
 * every subdomain for an entry starting with `.`; `*` lets every host in.
 */
export function isHostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined) return false;
  if (host === 'localhost' || host.endsWith('.localhost') || isIPv4(host) || (host.startsWith('[') && isIPv6(host.slice(1, -1)))) return true;
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === '*' || e === host || (e.startsWith('.') && (host.endsWith(e) || host === e.slice(1)));
  });
}

/**
 * Refuses a cross-site request: an `Origin` must be the request's own host (http or https) or in
 * `allowedOrigins`; without an `Origin`, a browser's `Sec-Fetch-Site: cross-site` is refused too.
 * A request with neither header (curl, a script) passes: it is not a browser acting for a victim.
 */
export function checkOrigin(req: IncomingMessage, allowedOrigins: readonly string[]): void {
  const origin = req.headers.origin;
  if (origin === undefined) {
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw new HttpError(403, 'cross-site request refused');
    return;
  }
  if (allowedOrigins.includes(origin)) return;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new HttpError(403, 'cross-site request refused (bad Origin)');
  }
  const own = req.headers.host?.toLowerCase();
  if ((url.protocol === 'http:' || url.protocol === 'https:') && own !== undefined && url.host.toLowerCase() === own) return;
  throw new HttpError(403, 'cross-site request refused: add the page\'s origin to "allowedOrigins" if it is yours');
}

/** Runs `authorize` within `timeoutMs` (503 past it); a throwing hook refuses the request. */
export async function authorizeRequest(
  req: IncomingMessage,
  authorize: Authorize | undefined,
  { timeoutMs, onHookError }: { timeoutMs: number; onHookError: (error: unknown) => void },
): Promise<Caller> {
  const address = req.socket.remoteAddress ?? 'unknown';
  if (!authorize) return { authorized: false, user: 'anonymous', address };
  let timer: NodeJS.Timeout | undefined;
  let result: AuthorizeResult;
  try {
    result = await Promise.race([
      Promise.resolve().then(() => authorize(req)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HttpError(503, `authorize did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    onHookError(error);
    if (error instanceof HttpError) throw error;
    throw new HttpError(403, 'forbidden');
  } finally {
    clearTimeout(timer);
  }
  if (result === true) return { authorized: true, user: 'authorized', address };
  if (result === false || result === null || typeof result !== 'object') throw new HttpError(403, 'forbidden');
  if ('user' in result && typeof result.user === 'string') return { authorized: true, user: result.user, address };
  const deny = 'deny' in result && result.deny === 401 ? 401 : 403;
  throw new HttpError(deny, ('message' in result && typeof result.message === 'string' && result.message) || (deny === 401 ? 'log in first' : 'forbidden'));
}

export interface RateLimiter {
  /** Takes one action for `key`: 0 when allowed, else the seconds to wait. */
  take(key: string): number;
}

/**
 * A token bucket per key (`perMinute` actions, refilled evenly), for at most `maxKeys` keys: the
 * least recently used key is forgotten first, so memory is bounded whoever calls.
 */
export function createRateLimiter(perMinute: number, maxKeys = 1000, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  return {
    take(key) {
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: t };
      buckets.delete(key);
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
  };
}
