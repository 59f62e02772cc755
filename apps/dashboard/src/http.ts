/**
 * The dashboard's own node:http helpers: the static page and the fields of a JSON body. The shared
 * ones (body reader, errors, headers) are in http-kit.ts.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, SECURITY_HEADERS } from './http-kit.js';

export { HttpError, readJsonObject, sendJson } from './http-kit.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** Ids per replay or discard request, and the length of one. */
export const MAX_IDS = 1000;
const MAX_ID_LENGTH = 256;
export const STATIC_FILES = new Set(['/index.html', '/app.js', '/dom.js', '/jobs.js', '/job-page.js', '/charts.js', '/journey.js', '/style.css', '/favicon.svg']);

export async function sendStatic(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const body = await readFile(join(PUBLIC_DIR, file));
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `"${key}" must be a string`);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, key: string): boolean {
  const value = body[key];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new HttpError(400, `"${key}" must be true or false`);
  return value;
}

export function optionalIds(body: Record<string, unknown>, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && v.length <= MAX_ID_LENGTH)) {
    throw new HttpError(400, `"${key}" must be an array of strings of at most ${MAX_ID_LENGTH} characters`);
  }
  if (value.length > MAX_IDS) throw new HttpError(400, `"${key}" holds ${value.length} ids; the limit is ${MAX_IDS} per request`);
  return value;
}
