/**
 * The HTTP safety kit shared by the dashboard and the demo (`@events/dashboard/http`): one JSON body
 * reader with a size bound and a deadline, a request-URL parser that cannot throw into the event
 * loop, security headers, a guard for request listeners, and server limits against slow clients.
 *
 * What it promises: a listener wrapped by `guardListener` never throws into Node's event loop (a
 * synchronous throw or a rejection becomes a 400/500 answer and one call of the error callback); a
 * body is never buffered past `maxBytes` nor waited for past `timeoutMs`. What it does not do:
 * authentication, which is the caller's.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Largest JSON body read by default: 64 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Longest wait for a whole body by default: 10 s (a slowloris body is cut at this deadline). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/**
 * An error with the HTTP status to answer. `closeConnection`: the body was not read to its end, so
 * the connection cannot be reused. `headers`: added to the answer (`retry-after`...).
 */
export class HttpError extends Error {
  readonly closeConnection: boolean;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    readonly status: number,
    message: string,
    options: { closeConnection?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.closeConnection = options.closeConnection ?? false;
    this.headers = options.headers ?? {};
  }
}

/**
 * Headers for every answer: no framing (clickjacking), no content sniffing, no referrer (a login
 * link's token never leaves in a Referer), and a page that loads only its own files.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Answers JSON with the security headers (and any set before with res.setHeader). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.end();
    return;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

/**
 * The request's URL, or HttpError 400. `new URL()` throws a TypeError on a request line like
 * `GET http://[ HTTP/1.1`; Node's parser lets such a line through, so every listener must ask here.
 */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'the request target is not a valid URL');
  }
}

/** decodeURIComponent that answers 400 instead of throwing URIError on `%E0%A4%A`. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the path holds an invalid percent-encoding');
  }
}

export interface BodyOptions {
  /** Largest body accepted; a larger one gets 413. Default: 64 KiB. */
  maxBytes?: number;
  /** Longest wait for the whole body; a slower one gets 408 and its connection is closed. Default: 10 000 ms. */
  timeoutMs?: number;
}

/** Reads the body into one buffer, bounded in size and time. */
export function readBody(req: IncomingMessage, options: BodyOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new HttpError(413, `body larger than ${maxBytes} bytes`, { closeConnection: true }));
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: HttpError | undefined): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      if (error) {
        // Stop reading what is left; the answer is sent with `connection: close`.
        req.pause();
        reject(error);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish(new HttpError(413, `body larger than ${maxBytes} bytes`, { closeConnection: true }));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onAbort = (): void => finish(new HttpError(400, 'the request was aborted before its body ended', { closeConnection: true }));
    const timer = setTimeout(() => finish(new HttpError(408, `the body did not arrive within ${timeoutMs} ms`, { closeConnection: true })), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

/**
 * Reads a JSON object body. Only `application/json` is accepted (415 otherwise): a cross-site HTML
 * form cannot send that content type without a CORS preflight, which nothing here answers, so a
 * foreign page cannot post to these endpoints (CSRF).
 */
export async function readJsonObject(req: IncomingMessage, options: BodyOptions & { /** Shape named in error messages, e.g. `{email, tenant}`. */ expected?: string } = {}): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, `send the body as application/json${options.expected ? ` ${options.expected}` : ''}`);
  const text = (await readBody(req, options)).toString('utf8').trim();
  const expected = options.expected ? ` ${options.expected}` : '';
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, `the body must be JSON${expected}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, `the body must be a JSON object${expected}`);
  return body as Record<string, unknown>;
}

/** Sends the answer for a failed request. 5xx answers never carry the error's message (paths, hosts) unless `expose`. */
export function sendError(res: ServerResponse, error: unknown, options: { expose?: boolean; ref?: string } = {}): void {
  const status = error instanceof HttpError ? error.status : 500;
  const message = status < 500 || options.expose ? (error instanceof Error ? error.message : String(error)) : 'internal error';
  const close = error instanceof HttpError && error.closeConnection;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries({ ...(error instanceof HttpError ? error.headers : {}), ...(close ? { connection: 'close' } : {}) })) res.setHeader(name, value);
  sendJson(res, status, { error: message, ...(status >= 500 && options.ref ? { ref: options.ref } : {}) });
  // The rest of the body was never read: the connection cannot carry another request.
  if (close) res.once('finish', () => res.req.socket.destroy());
}

/**
 * Wraps a request listener so nothing it throws or rejects reaches the event loop: a throw answers
 * 500 (or its HttpError status); `onError` hears of every error but an HttpError below 500 (a
 * caller's mistake, already answered). `onError` must not throw; if it does, that is swallowed.
 */
export function guardListener(listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>, onError: (error: unknown, req: IncomingMessage) => void): RequestListener {
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    try {
      if (!(error instanceof HttpError) || error.status >= 500) onError(error, req);
    } catch {
      // the error callback broke its promise not to throw; the answer below still goes out
    }
    try {
      sendError(res, error);
    } catch {
      res.destroy();
    }
  };
  return (req, res) => {
    try {
      const result = listener(req, res);
      if (result) result.catch((error: unknown) => fail(error, req, res));
    } catch (error) {
      fail(error, req, res);
    }
  };
}

export interface ServerLimits {
  /** Longest wait for a request's headers. Default: 10 000 ms (Node's: 60 000). */
  headersTimeoutMs?: number;
  /** Longest wait for a whole request, body included. Default: 30 000 ms (Node's: 300 000). */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default: 5 000 ms. */
  keepAliveTimeoutMs?: number;
  /** Headers read per request. Default: 100 (Node's: 2 000). */
  maxHeadersCount?: number;
  /** Requests served on one keep-alive connection. Default: 1 000 (Node's: unlimited). */
  maxRequestsPerSocket?: number;
}

export const DEFAULT_SERVER_LIMITS: Required<ServerLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeadersCount: 100,
  maxRequestsPerSocket: 1_000,
};

/**
 * Sets the limits on `server` and answers a request Node could not parse (a bad request line,
 * headers too large, a timeout) with 400/431/408 and a closed socket, telling `onClientError`.
 * Node checks the timeouts every `connectionsCheckingInterval` (set at createServer: 30 s by
 * default, so pass a smaller one, e.g. 1 000 ms, when you create the server).
 */
export function hardenServer(server: Server, options: ServerLimits & { onClientError?: (error: Error) => void } = {}): void {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...definedOnly(options) };
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxHeadersCount = limits.maxHeadersCount;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
      try {
        options.onClientError?.(error);
      } catch {
        // the callback must not throw; nothing to do if it does
      }
    }
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    // A client that never reads the answer must not hold the socket open.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Escapes control characters (C0, DEL, C1, and the line and paragraph separators) as `\uXXXX`, so
 * a value from outside (an email, a header) cannot forge log lines or send terminal escapes.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
