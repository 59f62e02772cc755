/**
 * The one LISTEN connection of a PostgreSQL queue adapter, taken from its pool and kept. When it
 * drops (a network cut, `pg_terminate_backend`, a failover) it reconnects with a growing pause;
 * every (re)connect asks for a fetch, since notifications sent while it was away are lost. The
 * fallback poll covers the time it is down.
 */
import type pg from 'pg';
import { withClient } from './postgres-pool.js';

export interface ListenerOptions {
  pool(): pg.Pool;
  /** Channel -> what to do with a payload on it (and the notifying backend's pid). */
  readonly channels: ReadonlyMap<string, (payload: string, pid: number) => void>;
  /** Called after each (re)connect. */
  onConnect(): void;
  report(kind: string, error: unknown): void;
}

const MAX_PAUSE_MS = 5000;

export class Listener {
  private client: pg.PoolClient | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private pauseMs = 0;

  constructor(private readonly options: ListenerOptions) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.options.pool().connect();
      const held = client;
      held.on('notification', (m) => {
        const handle = this.options.channels.get(m.channel);
        if (handle && m.payload !== undefined) handle(m.payload, m.processId);
      });
      held.on('error', (err) => this.lost(held, err));
      held.on('end', () => this.lost(held, new Error('LISTEN connection ended')));
      for (const channel of this.options.channels.keys()) await held.query(`LISTEN "${channel}"`);
      if (this.closed) return void held.release();
      this.client = held;
      this.pauseMs = 0;
      this.options.onConnect();
    } catch (err) {
      this.options.report('listen', err);
      client?.release(err instanceof Error ? err : true);
      this.retry();
    }
  }

  private lost(client: pg.PoolClient, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.options.report('listen', error);
    client.release(error);
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    this.pauseMs = Math.min(MAX_PAUSE_MS, Math.max(50, this.pauseMs * 2));
    this.timer = setTimeout(() => void this.connect(), this.pauseMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await client.query('UNLISTEN *');
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : true);
    }
  }
}

/**
 * NOTIFY for the adapter's own inserts, sent after them in a statement that writes nothing (so it
 * holds the notify lock for no WAL flush), coalesced: while one is in flight, the queue names to
 * wake gather for the next. Best effort: a lost one is covered by the fallback poll.
 */
export class Notifier {
  private readonly pending = new Set<string>();
  private sending: Promise<void> | undefined;
  /** Backends (of the pool, so at most its size) that sent our notifications: this process already acted on them. */
  private readonly pids = new Set<number>();

  constructor(
    private readonly pool: () => pg.Pool,
    private readonly channel: string,
    private readonly report: (kind: string, error: unknown) => void,
  ) {}

  notify(queues: Iterable<string>): void {
    for (const q of queues) this.pending.add(q);
    if (!this.sending && this.pending.size > 0) {
      this.sending = this.flush().finally(() => {
        this.sending = undefined;
      });
    }
  }

  /** True when the notification came from this notifier (the local consumers were kicked already). */
  isOwn(pid: number): boolean {
    return this.pids.has(pid);
  }

  /** Resolves once nothing is left to send. */
  async idle(): Promise<void> {
    await this.sending;
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const queues = [...this.pending];
      this.pending.clear();
      try {
        await withClient(this.pool(), async (client) => {
          const pid = (client as { processID?: unknown }).processID;
          if (typeof pid === 'number') {
            // Bounded: reconnects bring new backends; the old ones are gone.
            if (this.pids.size >= 1000) this.pids.clear();
            this.pids.add(pid);
          }
          await client.query('SELECT pg_notify($1, q) FROM unnest($2::text[]) q', [this.channel, queues]);
        });
      } catch (err) {
        this.report('notify', err);
      }
    }
  }
}
