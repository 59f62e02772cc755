/**
 * Hostile HTTP requests for the property suites of the dashboard and the demo (exported as
 * `@events/dashboard/hostile-http`): request lines, methods, paths with odd encodings, headers
 * (Host, Origin, content types, lengths that lie, credentials) and bodies, each sent raw over TCP,
 * so nothing on the client side cleans them up first.
 */
import { connect } from 'node:net';
import fc from 'fast-check';

export interface RawAnswer {
  /** The status of the first answer, or undefined when the server closed without one. */
  readonly status: number | undefined;
  readonly text: string;
}

/**
 * Sends `bytes`, half-closes (unless `hold`: a client that never finishes), and reads the answer
 * until the server closes, `waitMs` (default 2 000) passes, or an event stream starts (it would
 * never end). Never rejects: a reset is an answer too.
 */
export function sendRaw(url: string, bytes: Buffer | string, options: { waitMs?: number; hold?: boolean } = {}): Promise<RawAnswer> {
  const waitMs = options.waitMs ?? 2000;
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text });
    };
    const timer = setTimeout(done, waitMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => (options.hold ? socket.write(bytes) : socket.end(bytes)));
    socket.on('data', (d: string) => {
      text += d;
      if (/content-type: text\/event-stream/i.test(text)) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const method = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST'), weight: 6 },
  { arbitrary: fc.constantFrom('PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'BREW', 'G\u00e9T', ''), weight: 2 },
  { arbitrary: token, weight: 1 },
);

/** Path segments that have hurt servers: dot segments, encoded slashes and NULs, broken escapes, long runs. */
const segment = fc.oneof(
  { arbitrary: fc.constantFrom('dashboard', 'api', 'dead-letters', 'replay', 'discard', 'stream', 'queues', 'overview', 'health', 'healthz', 'login', 'signup', 'audit', 'pubsub', 'admin', 'jobs', 'job', 'find', 'rates', 'retry', 'promote', 'remove', 'pause', 'resume', 'clean'), weight: 4 },
  { arbitrary: fc.constantFrom('..', '%2e%2e', '.%2e', '%2F', '%5C', '%00', '%ff', '%E0%A4%A', '%', '%%30%30', '\u00e9', '%C0%AE', ';', '~', '@', ':'), weight: 4 },
  { arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)), weight: 2 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
  { arbitrary: fc.string({ minLength: 200, maxLength: 1500 }).map((s) => encodeURIComponent(s)), weight: 1 },
);
const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(fc.constantFrom('jobs', 'tenant', 'limit', 'name', 'error', 'token', 'x', 'state', 'offset', 'id', 'names'), fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[a-z0-9,]{0,400}$/))), { maxLength: 4 }).map(
    (pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`,
  ),
);
/** Request targets: absolute forms that `new URL()` refuses, origin forms with odd segments, asterisk. */
export const target = fc.oneof(
  { arbitrary: fc.constantFrom('http://[', '//[', 'http://[::1', 'http://%%30%30', 'http://a b/', '*', '', '/\u0000', 'https://evil.example/dashboard/api/overview', 'http://127.0.0.1:1/dashboard/'), weight: 2 },
  { arbitrary: fc.tuple(fc.array(segment, { maxLength: 6 }), query).map(([parts, q]) => `/${parts.join('/')}${q}`), weight: 2 },
  // Most requests aim at real routes, with odd tails: that is where the handlers run.
  {
    arbitrary: fc
      .tuple(fc.constantFrom('/dashboard/', '/dashboard/api/', '/dashboard/api/admin/', '/dashboard/api/admin/jobs', '/dashboard/api/admin/clean', '/dashboard/api/dead-letters/', '/dashboard/api/dead-letters/replay', '/dashboard/api/dead-letters/discard', '/dashboard/api/queues', '/dashboard/api/overview', '/dashboard/api/stream', '/dashboard/api/health', '/api/signup', '/api/audit', '/healthz', '/login', '/'), fc.array(segment, { maxLength: 2 }), query)
      .map(([base, parts, q]) => `${base}${parts.join('/')}${q}`),
    weight: 6,
  },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/jsonx',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json, text/plain',
  '',
);

export interface HostileOptions {
  /** A valid `host:port` for the server under test (the Host header is also varied). */
  host: string;
  /** Credentials a request may carry (a bearer token), or none. */
  bearer?: string;
}

/** A whole hostile request as bytes: method, target, version, headers, body, with lies about the body's length. */
export function hostileRequest(options: HostileOptions): fc.Arbitrary<Buffer> {
  const host = fc.oneof(
    { arbitrary: fc.constant(options.host), weight: 6 },
    { arbitrary: fc.constantFrom('attacker.example', `attacker.example:${options.host.split(':').pop()}`, '', '[', '::1', 'localhost', 'a'.repeat(300)), weight: 2 },
  );
  const origin = fc.constantFrom(undefined, `http://${options.host}`, 'https://attacker.example', 'null', 'not a url');
  const auth = fc.oneof(
    { arbitrary: fc.constant(options.bearer === undefined ? undefined : `Bearer ${options.bearer}`), weight: 4 },
    { arbitrary: fc.constantFrom(undefined, 'Bearer x', 'Basic Og==', 'Bearer'), weight: 2 },
  );
  const body = fc.oneof(
    fc.constant(''),
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('{"ids":["a"]}', '{"all":true}', '{"email":"ada@example.com","tenant":"acme"}', '{"email":"\\u001b[2Jx@y.zz","tenant":"acme"}', '{"__proto__":{"x":1}}', '[]', 'null', '{'),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.integer({ min: 17_000, max: 90_000 }).map((n) => `{"a":"${'x'.repeat(n)}"}`),
  );
  const extra = fc.array(
    fc.oneof(
      { arbitrary: fc.constantFrom('Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue', 'Sec-Fetch-Site: cross-site', 'Cookie: events_dashboard=x; a', 'Connection: upgrade', 'Upgrade: websocket'), weight: 1 },
      { arbitrary: fc.tuple(token, fc.stringMatching(/^[\x20-\x7e]{0,60}$/)).map(([k, v]) => `${k}: ${v}`), weight: 3 },
      { arbitrary: fc.tuple(token, fc.string({ maxLength: 60 })).map(([k, v]) => `${k}: ${v}`), weight: 1 },
    ),
    { maxLength: 2 },
  );
  const lengthLie = fc.oneof(
    { arbitrary: fc.constant('true' as const), weight: 6 },
    { arbitrary: fc.constantFrom<'short' | 'long' | 'none' | 'negative' | 'double'>('short', 'long', 'none', 'negative', 'double'), weight: 2 },
  );
  const version = fc.oneof({ arbitrary: fc.constant('HTTP/1.1'), weight: 8 }, { arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', ''), weight: 1 });
  return fc
    .record({ method, target, version, host, origin, auth, contentType, body, extra, lengthLie })
    .map((r) => {
      const bytes = Buffer.from(r.body, 'latin1');
      const length = { true: `${bytes.length}`, short: `${Math.max(0, bytes.length - 3)}`, long: `${bytes.length + 50}`, none: undefined, negative: '-1', double: `${bytes.length}, ${bytes.length + 1}` }[r.lengthLie];
      const lines = [
        `${r.method} ${r.target} ${r.version}`.trimEnd(),
        `Host: ${r.host}`,
        ...(r.origin === undefined ? [] : [`Origin: ${r.origin}`]),
        ...(r.auth === undefined ? [] : [`Authorization: ${r.auth}`]),
        ...(r.contentType ? [`Content-Type: ${r.contentType}`] : []),
        ...(length === undefined ? [] : [`Content-Length: ${length}`]),
        ...r.extra,
        'Connection: close',
      ];
      return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
    });
}

/** Bodies of the job administration actions: known and unknown names, ids, states, ages and limits of every type. */
export const adminBody = fc.record(
  {
    name: fc.oneof(fc.constantFrom('sendWelcomeEmail', 'chargeCard', '', 'a:b', '__proto__', 'x'.repeat(300)), fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)),
    id: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'x'.repeat(300), '../../etc', '%00'), fc.integer(), fc.array(fc.string(), { maxLength: 2 })),
    state: fc.oneof(fc.constantFrom('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'dead', 'WAITING', ''), fc.string({ maxLength: 20 }), fc.integer()),
    olderThanMs: fc.oneof(fc.integer({ min: -10, max: 1e6 }), fc.constantFrom(0, 1.5, -1, 1e300, Number.MAX_SAFE_INTEGER + 2), fc.string({ maxLength: 12 }), fc.constant(null)),
    limit: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.string({ maxLength: 6 }), fc.constant(null)),
    dryRun: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 }), fc.integer()),
  },
  { requiredKeys: [] },
);

/**
 * A request that parses (right Host, credentials, HTTP/1.1, a true length) with hostile contents:
 * the path, query, content type and body. These reach the handlers, where the bugs live.
 */
export function wellFormedRequest(options: HostileOptions): fc.Arbitrary<Buffer> {
  const route = fc.constantFrom(
    '/dashboard/',
    '/dashboard/app.js',
    '/dashboard/api/overview',
    '/dashboard/api/queues',
    '/dashboard/api/health',
    '/dashboard/api/bus',
    '/dashboard/api/channels',
    '/dashboard/api/jobs',
    '/dashboard/api/dead-letters',
    '/dashboard/api/dead-letters/',
    '/dashboard/api/dead-letters/replay',
    '/dashboard/api/dead-letters/discard',
    '/dashboard/api/admin/jobs',
    '/dashboard/api/admin/job',
    '/dashboard/api/admin/find',
    '/dashboard/api/admin/rates',
    '/dashboard/api/admin/retry',
    '/dashboard/api/admin/promote',
    '/dashboard/api/admin/remove',
    '/dashboard/api/admin/pause',
    '/dashboard/api/admin/resume',
    '/dashboard/api/admin/clean',
    '/dashboard/app.js/../jobs.js',
    '/dashboard/charts.js',
    '/api/signup',
    '/api/audit',
    '/healthz',
    '/login',
    '/',
  );
  const path = fc.tuple(route, fc.option(segment, { nil: undefined, freq: 2 }), query).map(([r, tail, q]) => `${r}${tail ?? ''}${q}`).filter((p) => /^[\x21-\x7e]*$/.test(p));
  const body = fc.oneof(
    fc.constant(''),
    fc.json({ maxDepth: 3 }),
    fc.record({ ids: fc.oneof(fc.array(fc.string({ maxLength: 300 }), { maxLength: 5 }), fc.string(), fc.integer()), dryRun: fc.oneof(fc.boolean(), fc.string()) }).map((o) => JSON.stringify(o)),
    fc.record({ email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 300 })), tenant: fc.oneof(fc.constantFrom('acme', 'ACME*', ''), fc.string({ maxLength: 70 })) }).map((o) => JSON.stringify(o)),
    fc.record({ name: fc.string({ maxLength: 200 }), error: fc.string({ maxLength: 200 }), all: fc.boolean() }).map((o) => JSON.stringify(o)),
    adminBody.map((o) => JSON.stringify(o)),
    fc.string({ maxLength: 200 }),
  );
  const credentials = fc.oneof({ arbitrary: fc.constant(options.bearer), weight: 4 }, { arbitrary: fc.constant(undefined), weight: 1 });
  return fc.record({ method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST'), weight: 4 }, { arbitrary: fc.constantFrom('HEAD', 'PUT', 'DELETE'), weight: 1 }), path, contentType, body, bearer: credentials, sameOrigin: fc.boolean() }).map((r) => {
    const bytes = Buffer.from(r.body, 'utf8');
    const lines = [
      `${r.method} ${r.path} HTTP/1.1`,
      `Host: ${options.host}`,
      ...(r.sameOrigin ? [`Origin: http://${options.host}`] : []),
      ...(r.bearer ? [`Authorization: Bearer ${r.bearer}`] : []),
      ...(r.contentType ? [`Content-Type: ${r.contentType}`] : []),
      `Content-Length: ${bytes.length}`,
      'Connection: close',
    ];
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
  });
}

/** What no answer may ever contain: a stack frame or a server path. */
export function leaksInternals(text: string): boolean {
  return /\n\s+at |node:internal|\/work\/|\/src\/[a-z-]+\.ts|file:\/\//.test(text);
}
