/**
 * Fresh planner statistics after a burst of enqueues. The claim's plan depends on the jobs
 * table's statistics: right after a burst (100,000 jobs stored in a few seconds), until
 * autovacuum's own ANALYZE comes (its naptime is a minute by default, more on a busy server), the
 * planner still takes the table for nearly empty, reads the waiting jobs through the delayed-jobs
 * index and sorts every one of them for each claim (measured here: 100 ms a claim with 100,000
 * jobs waiting, 0.06 ms with statistics). So once this adapter has stored ANALYZE_EVERY jobs since
 * its last ANALYZE, it runs one itself: at most one at a time and one per MIN_GAP_MS, with
 * SKIP_LOCKED (it never waits behind autovacuum). A role that does not own the table only gets
 * PostgreSQL's warning; a failure is reported and changes nothing else.
 */
import type pg from 'pg';

/** Jobs stored by this adapter between two of its ANALYZEs. */
export const ANALYZE_EVERY = 10_000;
/** Least time between two of its ANALYZEs. */
export const MIN_GAP_MS = 5_000;

export class Analyzer {
  private stored = 0;
  private running = false;
  private lastAt = 0;

  constructor(
    private readonly pool: () => pg.Pool,
    /** The quoted table name, `"schema".jobs`. */
    private readonly table: string,
    private readonly report: (op: string, error: unknown) => void,
  ) {}

  /** `count` jobs were stored; may start an ANALYZE in the background. Never throws. */
  added(count: number): void {
    this.stored += count;
    if (this.stored < ANALYZE_EVERY || this.running || Date.now() - this.lastAt < MIN_GAP_MS) return;
    this.stored = 0;
    this.running = true;
    this.lastAt = Date.now();
    let pool: pg.Pool;
    try {
      pool = this.pool();
    } catch {
      this.running = false; // closed meanwhile
      return;
    }
    pool
      .query(`ANALYZE (SKIP_LOCKED) ${this.table}`)
      .catch((err: unknown) => this.report('analyze', err))
      .finally(() => {
        this.running = false;
      });
  }
}
