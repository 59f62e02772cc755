/** Small helpers shared by the bus tests. */
import { randomBytes } from 'node:crypto';

export function randomId(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Polls `condition` until it holds. The deadline is only a safety net against a hang: tests
 * assert on what happened, never on how fast.
 */
export async function waitFor(condition: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > deadlineMs) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Counts how often each id was seen; returns the ids seen more than once with their counts. */
export function duplicatesOf(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}
