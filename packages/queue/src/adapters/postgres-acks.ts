/**
 * Completions written in batches: while one UPDATE is in flight the next completions gather, so
 * under load one commit (one WAL flush) acknowledges many jobs. Retention by count is trimmed in
 * the same transaction, but only every `count / 10` completions of a queue (at least 1): a count
 * of 1,000 costs one trim per 100 jobs, not a `DELETE ... OFFSET` per job.
 */
import { BackpressureError, type JobRetention } from '@events/core';
import type pg from 'pg';
import { inTransaction } from './postgres-pool.js';
import type { Sql } from './postgres-sql.js';

export interface Ack {
  readonly queue: string;
  readonly id: string;
  /** The claim (fencing token) the job ran under. */
  readonly claim: number;
  readonly result: string | null;
  readonly keep: JobRetention;
}

interface Pending {
  ack: Ack;
  resolve(): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;
/** Enqueue calls waiting behind the INSERTs in flight. */
export const MAX_WAITING_INSERTS = 10_000;

export class AckBatcher {
  private pending: Pending[] = [];
  private flushing = false;
  private readonly sinceTrim = new Map<string, number>();

  constructor(
    private readonly pool: () => pg.Pool,
    private readonly sql: Sql,
  ) {}

  /** Resolves once the completion is committed; rejects when the write failed (the job then runs again after its lease). */
  complete(ack: Ack): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ack, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.write(batch.map((p) => p.ack));
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
  }

  /** Queues (with their kept count) due for a trim after this batch. */
  private trimsDue(acks: readonly Ack[]): Array<[string, number]> {
    const due = new Map<string, number>();
    for (const a of acks) {
      if (typeof a.keep !== 'object' || a.keep.count === undefined) continue;
      const seen = (this.sinceTrim.get(a.queue) ?? 0) + 1;
      if (seen >= Math.max(1, Math.floor(a.keep.count / 10))) {
        due.set(a.queue, Math.min(due.get(a.queue) ?? Infinity, a.keep.count));
        this.sinceTrim.delete(a.queue);
      } else {
        if (this.sinceTrim.size >= 10_000) this.sinceTrim.clear();
        this.sinceTrim.set(a.queue, seen);
      }
    }
    return [...due];
  }

  private async write(acks: readonly Ack[]): Promise<void> {
    const values = [
      acks.map((a) => a.queue),
      acks.map((a) => a.id),
      acks.map((a) => a.claim),
      acks.map((a) => a.result),
      acks.map((a) => a.keep === true),
      acks.map((a) => (typeof a.keep === 'object' && a.keep.ageMs !== undefined ? a.keep.ageMs : null)),
    ];
    const trims = this.trimsDue(acks);
    if (trims.length === 0) {
      await this.pool().query({ ...this.sql.prepared.complete, values });
      return;
    }
    // Trimmed in the same transaction: nobody sees the queue idle with more finished jobs than kept.
    await inTransaction(this.pool(), async (client) => {
      await client.query({ ...this.sql.prepared.complete, values });
      for (const [queue, count] of trims) await client.query(this.sql.trim, [queue, 'completed', count]);
    });
  }
}

/**
 * Enqueues from concurrent callers share INSERTs: when `maxInFlight` inserts are already on their
 * way, the next jobs gather and go in one multi-row INSERT (one commit, one WAL flush) as soon as
 * one returns. An enqueue alone is sent at once; each caller resolves when its own rows are
 * committed, and a failed INSERT rejects every caller in it (none of its rows was stored).
 */
export class InsertBatcher<T> {
  private pending: Array<{ items: readonly T[]; resolve(): void; reject(error: unknown): void }> = [];
  private inFlight = 0;

  constructor(
    private readonly write: (items: readonly T[]) => Promise<void>,
    private readonly maxInFlight: number,
  ) {}

  add(items: readonly T[]): Promise<void> {
    // Bounded: past this many callers waiting for a commit, refuse at once instead of piling up.
    if (this.pending.length >= MAX_WAITING_INSERTS) return Promise.reject(new BackpressureError('enqueue on PostgreSQL'));
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (this.inFlight < this.maxInFlight) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight += 1;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.write(batch.flatMap((b) => b.items));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.inFlight -= 1;
  }
}
