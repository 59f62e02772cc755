import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorEvent } from '@events/core';
import { createPlatform, type Platform, type PlatformConfig } from '@events/platform';
import { createDashboard, createTokenAuth, type Dashboard, type DashboardAction, type DashboardOptions } from '../src/dashboard.js';
import { guardListener, hardenServer, requestUrl } from '../src/http-kit.js';
import { rawHttp } from '@events/testing';

/** The token of the harness's own login (`/login?token=`), which `call` sends as a bearer token by default. */
export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface Harness {
  platform: Platform;
  dashboard: Dashboard;
  server: Server;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** What the dashboard's error hook heard. */
  errors: ErrorEvent[];
  /** What the action log heard. */
  actions: DashboardAction[];
  close(): Promise<void>;
}

export interface HarnessOptions extends Omit<DashboardOptions, 'platform'> {
  /** Platform config. Default: `{}` (memory adapters). */
  config?: PlatformConfig;
}

/**
 * A platform with the dashboard mounted in a plain node:http server, as an app would: behind the
 * app's own login (a token, as `/login?token=` or a bearer header) unless `authorize` or
 * `insecure` says otherwise.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { config, ...dashboardOptions } = options;
  const platform = await createPlatform(config ?? {});
  const auth = createTokenAuth({ token: TEST_TOKEN, basePath: dashboardOptions.basePath ?? '/dashboard' });
  const errors: ErrorEvent[] = [];
  const actions: DashboardAction[] = [];
  const dashboard = createDashboard({
    platform,
    ...(dashboardOptions.insecure ? {} : { authorize: auth.authorize }),
    onError: (event) => errors.push(event),
    onAction: (action) => actions.push(action),
    ...dashboardOptions,
  });
  const server = createServer(
    guardListener(
      (req, res) => {
        if (dashboard.handle(req, res)) return;
        const url = requestUrl(req);
        if (url.pathname === '/login') return auth.login(req, res, url);
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('app 404');
      },
      (error) => errors.push({ tier: 'dashboard', kind: 'app', error: error as Error }),
    ),
  );
  hardenServer(server, { onClientError: (error) => errors.push({ tier: 'dashboard', kind: 'client', error }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await dashboard.ready();
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    platform,
    dashboard,
    server,
    origin,
    errors,
    actions,
    async close() {
      await dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await platform.close({ timeoutMs: 2000 });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

export interface CallInit {
  method?: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Send no credentials. Default: false (the harness's bearer token is sent). */
  anonymous?: boolean;
}

export async function call(origin: string, path: string, init: CallInit = {}): Promise<Reply> {
  const res = await fetch(`${origin}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    redirect: 'manual',
    headers: {
      ...(init.anonymous ? {} : { authorization: `Bearer ${TEST_TOKEN}` }),
      ...init.headers,
      ...(init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body, text };
}

export const post = (origin: string, path: string, body: unknown): Promise<Reply> => call(origin, path, { body: JSON.stringify(body) });

/** Polls `check` until it returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface EventStreamReader {
  /** Resolves with the data of the first event `until` accepts (events before it are skipped). */
  next(until: (event: string, data: string) => boolean): Promise<string>;
  close(): void;
}

/** Opens a server-sent event stream at `path` (with the harness's token) once its head arrived. */
export function openStream(origin: string, path: string): Promise<EventStreamReader> {
  return new Promise((resolve, reject) => {
    const events: Array<{ event: string; data: string }> = [];
    const waiters: Array<{ until: (event: string, data: string) => boolean; resolve: (data: string) => void }> = [];
    // Each waiter takes the first queued event it accepts; the events before that one are skipped.
    const deliver = (): void => {
      for (const w of [...waiters]) {
        const i = events.findIndex((e) => w.until(e.event, e.data));
        if (i === -1) continue;
        const hit = events.splice(0, i + 1)[i]!;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit.data);
      }
    };
    const req = request(`${origin}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data !== undefined) events.push({ event, data });
        }
        deliver();
      });
      res.on('error', () => undefined);
      resolve({
        next: (until) => new Promise<string>((r) => {
          waiters.push({ until, resolve: r });
          deliver();
        }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and resolves with everything the server wrote (see rawHttp). */
export const raw = (origin: string, bytes: string): Promise<string> => rawHttp(origin, bytes);

