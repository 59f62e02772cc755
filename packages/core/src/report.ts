/**
 * The error hook every component reports through (see ErrorHook in contract.ts). The default hook
 * writes to the console at a bounded rate, so a flood of bad messages is not a flood of log lines:
 * at most `perWindow` lines per kind per window, then one line saying how many were left out.
 */
import type { ErrorEvent, ErrorHook, Health, Tier } from './contract.js';

export interface ConsoleHookOptions {
  /** Lines per (tier, kind) per window. Default: 5. */
  perWindow?: number;
  /** Window length. Default: 10 000 ms. */
  windowMs?: number;
  /** Where lines go. Default: console.error. */
  write?: (line: string, error: Error) => void;
}

export function consoleErrorHook(options: ConsoleHookOptions = {}): ErrorHook {
  const perWindow = options.perWindow ?? 5;
  const windowMs = options.windowMs ?? 10_000;
  const write = options.write ?? ((line: string, error: Error) => console.error(line, error));
  // Bounded: one entry per (tier, kind), and kinds are a small fixed set per tier.
  const windows = new Map<string, { start: number; count: number; suppressed: number }>();
  return (event) => {
    const key = `${event.tier}:${event.kind}`;
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) {
      if (w && w.suppressed > 0) write(`[@events/${event.tier}] ${event.kind}: ${w.suppressed} more errors left out of the log`, event.error);
      if (windows.size >= 256 && !w) windows.clear();
      w = { start: now, count: 0, suppressed: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    if (w.count > perWindow) {
      w.suppressed += 1;
      return;
    }
    const subject = [event.name, event.id].filter(Boolean).join(' ');
    write(`[@events/${event.tier}] ${event.kind}${subject ? ` (${subject})` : ''}:`, event.error);
  };
}

export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-error thrown: ${safeString(value)}`);
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export interface ErrorReporter {
  /** Reports one error; never throws, whatever the hook does. */
  report(kind: string, error: unknown, facts?: Omit<ErrorEvent, 'tier' | 'kind' | 'error'>): void;
  readonly lastError: Health['lastError'];
}

/** Wraps a user hook (or the console default) for one tier; a throwing hook is contained. */
export function createErrorReporter(tier: Tier, hook: ErrorHook = consoleErrorHook()): ErrorReporter {
  let lastError: Health['lastError'];
  return {
    report(kind, error, facts = {}) {
      const err = toError(error);
      lastError = { kind, message: err.message, at: new Date() };
      try {
        hook({ tier, kind, error: err, ...facts });
      } catch (hookError) {
        try {
          console.error(`[@events/${tier}] the error hook threw`, hookError);
        } catch {
          // nowhere left to report
        }
      }
    },
    get lastError() {
      return lastError;
    },
  };
}
