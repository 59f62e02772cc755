/**
 * One `consume(name)` on PostgreSQL: claims ready jobs with `FOR UPDATE SKIP LOCKED` in batches of
 * the free slots, runs them, and writes each outcome for the attempt it claimed. It fetches when
 * told (a NOTIFY for its queue, a slot freed, the fallback poll, a delayed job coming due) and
 * never while a fetch is in flight; a failing fetch is retried with a growing pause.
 */
import { backoffDelay, drainWithin, DEFAULT_CLOSE_TIMEOUT_MS, MAX_JOB_LOG_LINE, type CloseOptions, type JobRetention, type BackoffOptions, type QueueAdapterActiveJob, type QueueAdapterConsumeOptions, wellFormedError } from '@events/core';
import type pg from 'pg';
import { parseStored } from '../job-format.js';
import { DEFAULT_JOB_OPTIONS } from '../options.js';
import type { AckBatcher } from './postgres-acks.js';
import type { Sql } from './postgres-sql.js';

export interface ConsumerContext {
  pool(): pg.Pool;
  readonly sql: Sql;
  /** This process's lease owner id (`locked_by`). */
  readonly worker: string;
  readonly leaseMs: number;
  /** The jobs channel (a release wakes the other workers). */
  readonly channel: string;
  readonly acks: AckBatcher;
  report(kind: string, error: unknown, facts?: { name?: string; id?: string }): void;
}

interface ClaimedRow {
  id: string;
  name: string;
  data: string;
  attempt: number;
  claims: number;
  max_attempts: number;
  backoff: BackoffOptions | null;
  keep_completed: JobRetention | null;
  keep_failed: JobRetention | null;
  enqueued_at: number;
  priority: number;
  run_at: Date;
  seq: string;
}

type Handler = (job: QueueAdapterActiveJob) => Promise<unknown>;

const MAX_PAUSE_MS = 5000;

function byOrder(a: ClaimedRow, b: ClaimedRow): number {
  return a.priority - b.priority || a.run_at.getTime() - b.run_at.getTime() || Number(BigInt(a.seq) - BigInt(b.seq));
}

function textOf(value: unknown): string | null {
  try {
    return value === undefined ? null : (JSON.stringify(value) ?? null);
  } catch {
    return null; // a result that cannot be stored is not kept; the job still completed
  }
}

export class PostgresConsumer {
  private readonly running = new Set<Promise<void>>();
  /** Completions handed to the batcher and not yet committed. */
  private readonly acking = new Set<Promise<void>>();
  /** Jobs claimed here (buffered or running), by id -> claim: what close hands back. */
  private readonly claimed = new Map<string, number>();
  /** Jobs run here whose completion is being written, by id -> claim: their leases are still ours. */
  private readonly writing = new Map<string, number>();
  private readonly buffer: ClaimedRow[] = [];
  private readonly released = new Set<string>();
  private fetching: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private wakeAt = Infinity;
  private wake: NodeJS.Timeout | undefined;
  private pauseMs = 0;
  private starts: number[] = [];

  readonly name: string;
  private readonly handler: Handler;
  private readonly options: QueueAdapterConsumeOptions;

  constructor(
    what: { name: string; handler: Handler; options: QueueAdapterConsumeOptions },
    private readonly ctx: ConsumerContext,
  ) {
    this.name = what.name;
    this.handler = what.handler;
    this.options = what.options;
  }

  /** Asks for a fetch; calls while one is in flight fold into one more round. */
  kick(): void {
    if (this.closed) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = this.fetch().finally(() => {
      this.fetching = undefined;
    });
  }

  /** Wakes after `ms` unless an earlier wake is already set. */
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.closed || at >= this.wakeAt) return;
    clearTimeout(this.wake);
    this.wakeAt = at;
    this.wake = setTimeout(() => {
      this.wakeAt = Infinity;
      this.kick();
    }, ms);
  }

  private room(): number {
    let room = this.options.concurrency - this.running.size;
    const limiter = this.options.limiter;
    if (limiter && room > 0) {
      const now = Date.now();
      this.starts = this.starts.filter((t) => t > now - limiter.durationMs);
      room = Math.min(room, limiter.max - this.starts.length);
      if (room <= 0) this.wakeIn(this.starts[0]! + limiter.durationMs - now);
    }
    return room;
  }

  /**
   * Jobs claimed ahead of a free slot (none under a rate limit), so the next claim's round trip
   * overlaps the running jobs instead of following them. They hold leases like running jobs and go
   * back at close; an urgent job enqueued meanwhile waits behind at most this many.
   */
  private get prefetch(): number {
    return this.options.limiter ? 0 : this.options.concurrency;
  }

  /** Starts buffered jobs while slots are free. */
  private pump(): void {
    while (!this.closed && this.buffer.length > 0 && this.room() > 0) this.start(this.buffer.shift()!);
  }

  private async fetch(): Promise<void> {
    try {
      do {
        this.again = false;
        this.pump();
        const want = Math.min(this.room(), this.options.concurrency - this.running.size) + this.prefetch - this.buffer.length;
        // A claim per freed slot would be a commit per job: wait until a quarter of the window is free.
        if (want < (this.prefetch > 0 ? Math.ceil((this.options.concurrency + this.prefetch) / 4) : 1)) return;
        const { rows } = await this.ctx.pool().query<ClaimedRow>({ ...this.ctx.sql.prepared.claim, values: [this.name, this.ctx.worker, this.ctx.leaseMs, want] });
        this.pauseMs = 0;
        for (const row of rows) this.claimed.set(row.id, row.claims);
        this.buffer.push(...rows);
        this.buffer.sort(byOrder);
        this.pump();
        if (rows.length === want) this.again = true;
        else if (!this.again) {
          // Nothing more ready: sleep until the next delayed job is due (a NOTIFY may come first).
          const due = await this.ctx.pool().query<{ ms: number | null }>({ ...this.ctx.sql.prepared.nextDue, values: [this.name] });
          const ms = due.rows[0]?.ms;
          if (ms !== null && ms !== undefined) this.wakeIn(Math.max(1, Math.ceil(ms)));
        }
      } while (this.again && !this.closed);
    } catch (err) {
      if (this.closed) return;
      this.ctx.report('fetch', err, { name: this.name });
      this.pauseMs = Math.min(MAX_PAUSE_MS, Math.max(100, this.pauseMs * 2));
      this.wakeIn(this.pauseMs);
    }
  }

  private start(row: ClaimedRow): void {
    if (this.options.limiter) this.starts.push(Date.now());
    const run = this.run(row).finally(() => {
      this.claimed.delete(row.id);
      this.running.delete(run);
      this.pump();
      this.kick();
    });
    this.running.add(run);
  }

  private async run(row: ClaimedRow): Promise<void> {
    const { pool, sql, report } = this.ctx;
    const onEvent = this.options.onEvent;
    const queue = this.name;
    const job: QueueAdapterActiveJob = {
      id: row.id,
      name: row.name,
      data: parseStored(row.data),
      attempt: row.attempt,
      maxAttempts: row.max_attempts,
      enqueuedAt: row.enqueued_at,
      updateProgress: async (progress) => {
        await pool().query({ ...sql.prepared.progress, values: [queue, row.id, JSON.stringify(progress)] });
        onEvent({ type: 'progress', id: row.id, name: row.name, progress });
      },
      log: async (line) => void (await pool().query(sql.log, [queue, row.id, line.slice(0, MAX_JOB_LOG_LINE)])),
    };
    let result: unknown;
    try {
      result = await this.handler(job);
    } catch (caught) {
      // Handed back at close: its outcome is not this worker's to write any more.
      if (this.released.has(row.id)) return;
      const error = wellFormedError(caught);
      const final = this.options.isFinal(error) || row.attempt >= row.max_attempts;
      try {
        if (final) await this.fail(row, error);
        else await pool().query({ ...sql.prepared.retry, values: [queue, row.id, row.claims, error.message, backoffDelay(row.backoff ?? DEFAULT_JOB_OPTIONS.backoff, row.attempt)] });
      } catch (err) {
        // The lease runs out and the job comes back: at-least-once, nothing lost.
        report('ack', err, { name: row.name, id: row.id });
        return;
      }
      onEvent({ type: 'failed', id: row.id, name: row.name, attempt: row.attempt, error, final });
      return;
    }
    if (this.released.has(row.id)) return;
    // The slot frees as the handler returns and the completion is written in the background, so
    // the next claim and this batch's commit overlap; past `concurrency` unwritten completions the
    // slot waits for its own (bounded).
    this.writing.set(row.id, row.claims);
    const acked = this.ctx.acks
      .complete({ queue, id: row.id, claim: row.claims, result: textOf(result), keep: row.keep_completed ?? DEFAULT_JOB_OPTIONS.removeOnComplete })
      .then(
        () => onEvent({ type: 'completed', id: row.id, name: row.name, attempt: row.attempt, result }),
        // No longer held (the heartbeat stops renewing it): the lease runs out and the job comes back.
        (err: unknown) => report('ack', err, { name: row.name, id: row.id }),
      )
      .finally(() => {
        this.acking.delete(acked);
        if (this.writing.get(row.id) === row.claims) this.writing.delete(row.id);
      });
    this.acking.add(acked);
    if (this.acking.size > this.options.concurrency) await acked;
  }

  private async fail(row: ClaimedRow, error: Error): Promise<void> {
    const { pool, sql } = this.ctx;
    const keep = row.keep_failed ?? DEFAULT_JOB_OPTIONS.removeOnFail;
    const ageMs = typeof keep === 'object' && keep.ageMs !== undefined ? keep.ageMs : null;
    await pool().query({ ...sql.prepared.fail, values: [this.name, row.id, row.claims, error.name, error.message, error.stack ?? null, keep === true, ageMs, row.attempt] });
    if (typeof keep === 'object' && keep.count !== undefined) await pool().query(sql.trim, [this.name, 'failed', keep.count]);
  }

  /**
   * Appends the jobs whose leases this consumer holds (claimed, running, or their completion being
   * written) to the heartbeat's arrays: a few times `concurrency` at most (prefetch, slots, acks in flight).
   */
  held(into: { queues: string[]; ids: string[]; claims: number[] }): void {
    for (const map of [this.claimed, this.writing]) {
      for (const [id, claim] of map) {
        into.queues.push(this.name);
        into.ids.push(id);
        into.claims.push(claim);
      }
    }
  }

  get active(): number {
    return this.running.size;
  }

  async close(options: CloseOptions = {}): Promise<void> {
    this.closed = true;
    clearTimeout(this.wake);
    // Jobs a fetch in flight claims still run (they are ours now): wait for it, then drain.
    await this.fetching;
    // Claimed ahead and never started: back at once.
    await this.release(this.buffer.splice(0).map((r) => r.id));
    const deadline = Date.now() + (options.force ? 0 : (options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS));
    const drained = await drainWithin(Promise.all(this.running), deadline - Date.now());
    if (!drained) await this.release([...this.claimed.keys()]);
    await drainWithin(Promise.all(this.acking), Math.max(0, deadline - Date.now()) + 1000);
  }

  /** Hands jobs back to waiting at once, as if never claimed (else they would wait for their lease). */
  private async release(ids: readonly string[]): Promise<void> {
    const left = ids.flatMap((id) => {
      const claim = this.claimed.get(id);
      this.claimed.delete(id);
      return claim === undefined ? [] : [[id, claim] as const];
    });
    if (left.length === 0) return;
    for (const [id] of left) this.released.add(id);
    try {
      const { pool, sql } = this.ctx;
      await drainWithin(pool().query(sql.release, [this.name, left.map(([id]) => id), left.map(([, c]) => c), this.ctx.channel]), 2000);
    } catch (err) {
      this.ctx.report('release', err, { name: this.name });
    }
  }
}
