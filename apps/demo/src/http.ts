/**
 * The demo's HTTP surface on node:http: the static page, a JSON API and a health check.
 *
 *   POST /api/signup  {email, tenant}  -> 201 {userId, tenant, email, channel}
 *   GET  /api/audit?tenant=acme        -> 200 {records: AuditRecord[]}
 *   GET  /healthz                      -> 200 {status: 'ok', adapters, workers}
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventsError } from '@events/core';
import { isTenant } from './channels.js';
import type { UsersContext } from './contexts/users.js';
import type { AuditRecord } from './types.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const MAX_BODY_BYTES = 16 * 1024;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const STATIC = new Set(['/index.html', '/app.js', '/style.css', '/favicon.svg']);

export interface ApiDeps {
  users: UsersContext;
  /** Reads the audit context's records of one tenant (wherever that context runs). */
  audit(tenant: string): Promise<AuditRecord[]>;
  health(): Record<string, unknown>;
  /** False once shutdown began: new signups get 503 while in-flight ones finish. */
  accepting(): boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createRequestHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(req, res, deps).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof EventsError && error.code === 'INVALID_OPTION' ? 400 : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) console.error('[http]', error);
      if (!res.headersSent) send(res, status, { error: message });
      else res.end();
    });
  };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/healthz') return send(res, deps.accepting() ? 200 : 503, deps.health());
  if (path === '/api/signup') {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    if (!deps.accepting()) throw new HttpError(503, 'shutting down');
    const body = await readJson(req);
    const user = await deps.users.signup({ email: body.email, tenant: body.tenant });
    return send(res, 201, user);
  }
  if (path === '/api/audit') {
    const tenant = url.searchParams.get('tenant');
    if (!isTenant(tenant)) throw new HttpError(400, 'GET /api/audit?tenant=<tenant>: the tenant is required (lowercase letters, digits, dashes)');
    return send(res, 200, { tenant, records: await deps.audit(tenant) });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
  const file = path === '/' ? '/index.html' : path;
  if (!STATIC.has(file)) throw new HttpError(404, `no such page: ${path}`);
  const body = await readFile(join(PUBLIC_DIR, file));
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON, e.g. {"email":"ada@example.com","tenant":"acme"}');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {email, tenant}');
  return body as Record<string, unknown>;
}
