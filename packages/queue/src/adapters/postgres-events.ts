/**
 * Job events across processes on PostgreSQL: a queue with `events: 'all'` registers in
 * `<schema>.observers` (renewed every 10 s, expiring after 30 s) and LISTENs on `<schema>.events`;
 * workers NOTIFY their job events there while some observer's row is current (they look every
 * second), coalesced into one statement per batch. NOTIFY is at-most-once for a listener that is
 * disconnected: the job rows, not this feed, are the record.
 */
import { ClosedError, type QueueAdapterEvent } from '@events/core';
import type pg from 'pg';

/** Payloads above this are sent without the job's result (NOTIFY takes at most 8,000 bytes). */
const MAX_PAYLOAD = 7000;
export const OBSERVER_TTL_MS = 30_000;

export function encodeEvent(event: QueueAdapterEvent): string {
  const wire = event.type === 'failed' ? { ...event, error: { name: event.error.name, message: event.error.message.slice(0, 2000) } } : event;
  let text: string | undefined;
  try {
    text = JSON.stringify(wire);
  } catch {
    text = undefined; // a result that is not JSON: sent without it
  }
  if (text === undefined || text.length > MAX_PAYLOAD) text = JSON.stringify({ ...wire, ...(event.type === 'completed' ? { result: null } : {}), ...(event.type === 'progress' ? { progress: 0 } : {}) });
  return text;
}

/** Parses one payload; undefined for anything that is not an event of ours (a foreign NOTIFY). */
export function decodeEvent(payload: string): QueueAdapterEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.id !== 'string' || typeof e.name !== 'string') return undefined;
  if (e.type === 'completed' && typeof e.attempt === 'number') return { type: 'completed', id: e.id, name: e.name, attempt: e.attempt, result: e.result };
  if (e.type === 'progress' && (typeof e.progress === 'number' || (typeof e.progress === 'object' && e.progress !== null))) {
    return { type: 'progress', id: e.id, name: e.name, progress: e.progress as number | Record<string, unknown> };
  }
  if (e.type === 'failed' && typeof e.attempt === 'number' && typeof e.final === 'boolean') {
    const wireError = (e.error ?? {}) as { name?: unknown; message?: unknown };
    const error = new Error(typeof wireError.message === 'string' ? wireError.message : 'job failed');
    error.name = typeof wireError.name === 'string' ? wireError.name : 'Error';
    return { type: 'failed', id: e.id, name: e.name, attempt: e.attempt, final: e.final, error };
  }
  return undefined;
}

/** Publishes job events while an observer is registered; coalesced, best effort. */
export class EventPublisher {
  private observed = false;
  private checkedAt = 0;
  private pending: string[] = [];
  private sending = false;

  private readonly pool: () => pg.Pool;
  private readonly schema: string;

  constructor(
    db: { pool: () => pg.Pool; schema: string },
    private readonly channel: string,
    private readonly report: (op: string, error: unknown) => void,
  ) {
    this.pool = db.pool;
    this.schema = db.schema;
  }

  /** An observer in this process: publish from now on, without waiting for the next look. */
  observe(): void {
    this.observed = true;
    this.checkedAt = Date.now();
  }

  /** Looks (at most once a second) whether any observer is registered. */
  async refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < 1000) return;
    this.checkedAt = Date.now();
    try {
      const { rows } = await this.pool().query<{ on: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${this.schema}.observers WHERE expires_at > now()) AS on`);
      this.observed = rows[0]?.on === true;
    } catch (err) {
      this.report('events', err);
    }
  }

  publish(event: QueueAdapterEvent): void {
    if (!this.observed) return;
    // Bounded: while PostgreSQL is slow, events past this are dropped (the feed is at-most-once).
    if (this.pending.length >= 10_000) return;
    this.pending.push(encodeEvent(event));
    if (!this.sending) void this.flush();
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 500);
      try {
        await this.pool().query('SELECT pg_notify($1, e) FROM unnest($2::text[]) e', [this.channel, batch]);
      } catch (err) {
        // Events of jobs that finished while the adapter closed have nowhere to go: not an error.
        if (!(err instanceof ClosedError)) this.report('events', err);
      }
    }
    this.sending = false;
  }
}

/** The statements registering (and renewing) and removing an observer row. */
export function observerSql(schema: string): { upsert: string; remove: string } {
  return {
    upsert: `INSERT INTO ${schema}.observers (id, expires_at) VALUES ($1, now() + ${OBSERVER_TTL_MS} * interval '1 millisecond')
      ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
    remove: `DELETE FROM ${schema}.observers WHERE id = $1 OR expires_at < now() - interval '1 hour'`,
  };
}
