/**
 * Small pieces of createDashboard: the default action log, option checks, and which errors are
 * the caller's (4xx) rather than the server's.
 */
import { EventsError, InvalidOptionError } from '@events/core';
import type { DashboardAction } from './dashboard.js';
import { escapeControl, HttpError } from './http-kit.js';

/** The default action log: one line, control characters escaped (the request body is the caller's). */
export function logAction(action: DashboardAction): void {
  const request = escapeControl(JSON.stringify(action.request).slice(0, 500));
  const result = escapeControl(JSON.stringify(action.result));
  console.log(`[dashboard] ${action.at.toISOString()} ${action.action} by ${escapeControl(action.user)} from ${action.address}: ${request} -> ${result}`);
}

export function normalizeBasePath(path: string): string {
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(path)) {
    throw new InvalidOptionError('basePath', `must start with "/" and hold only URL path characters, got ${JSON.stringify(path)}`);
  }
  return path.replace(/\/+$/, '');
}

export function positive(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidOptionError(option, `must be an integer >= 1, got ${value}`);
  return value;
}

/** The status a caller's mistake gets (bad names, patterns and options from the request are 400); undefined for a server fault. */
export function asHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof EventsError && ['INVALID_OPTION', 'INVALID_NAME', 'INVALID_PATTERN', 'VALIDATION'].includes(error.code)) return new HttpError(400, error.message);
  return undefined;
}
