/**
 * The checks an HTTP upgrade passes before it becomes a websocket client: a request target we can
 * parse, our path, an allowed Origin (no cross-site websocket hijacking) and room under the
 * connection cap. Nothing here throws: a request we cannot read is answered 400.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Origins allowed to open a websocket: a list of exact origins (`https://app.example.com`, or `*` for any), or a function. */
export type AllowedOrigins = readonly string[] | ((origin: string, request: IncomingMessage) => boolean);

export type UpgradeVerdict =
  | { readonly kind: 'accept' }
  /** Not our path: another upgrade listener's business. */
  | { readonly kind: 'elsewhere' }
  | { readonly kind: 'refuse'; readonly status: 400 | 403 | 503; readonly reason: string };

export interface UpgradeRules {
  readonly path: string;
  readonly allowedOrigins: AllowedOrigins | undefined;
}

/** The path of a request target (origin-form or absolute-form), or undefined when it cannot be parsed. */
export function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/**
 * Same host by default: a browser always sends Origin on a websocket handshake, so a page of
 * another site is refused. A request without Origin is not a browser's (it cannot carry a
 * victim's cookies by itself) and is let through to `authorize`.
 */
export function originAllowed(request: IncomingMessage, allowed: AllowedOrigins | undefined): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (typeof allowed === 'function') return allowed(origin, request) === true;
  if (allowed !== undefined) return allowed.includes('*') || allowed.includes(origin);
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed page, a file) or garbage
  }
}

export function judgeUpgrade(request: IncomingMessage, rules: UpgradeRules): UpgradeVerdict {
  const path = pathOf(request.url);
  if (path === undefined) return { kind: 'refuse', status: 400, reason: 'request target is not a URL' };
  if (path !== rules.path) return { kind: 'elsewhere' };
  if (!originAllowed(request, rules.allowedOrigins)) return { kind: 'refuse', status: 403, reason: `origin ${JSON.stringify(String(request.headers.origin).slice(0, 100))} is not allowed` };
  return { kind: 'accept' };
}

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 503: 'Service Unavailable' } as const;

/** Answers a refused upgrade and closes the socket; never throws, whatever state the socket is in. */
export function refuseUpgrade(socket: Duplex, status: 400 | 403 | 503): void {
  socket.on('error', () => undefined); // a reset while we answer must not become an uncaught 'error'
  try {
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    // the peer is gone already
  }
  // end() flushes the answer first; destroySoon would be neater, but a Duplex has no such method.
  setTimeout(() => socket.destroy(), 1000).unref();
}
