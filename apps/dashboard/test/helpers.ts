import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPlatform, type Platform } from '@events/platform';
import { createDashboard, type Dashboard, type DashboardOptions } from '../src/dashboard.js';

export interface Harness {
  platform: Platform;
  dashboard: Dashboard;
  server: Server;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** A memory platform with the dashboard mounted in a plain node:http server, as an app would. */
export async function startHarness(options: Omit<DashboardOptions, 'platform'> = {}): Promise<Harness> {
  const platform = await createPlatform({});
  const dashboard = createDashboard({ platform, ...options });
  const server = createServer((req, res) => {
    if (dashboard.handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('app 404');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await dashboard.ready();
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    platform,
    dashboard,
    server,
    origin,
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

export async function call(origin: string, path: string, init: { method?: string; body?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(`${origin}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    redirect: 'manual',
    headers: { ...init.headers, ...(init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/json' }) },
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

/** Reads server-sent events from `path` until `until` accepts one; returns that event's data. */
export function readStream(origin: string, path: string, until: (event: string, data: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, (res) => {
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
          if (data !== undefined && until(event, data)) {
            req.destroy();
            resolve(data);
            return;
          }
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
