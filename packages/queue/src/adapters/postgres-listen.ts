/**
 * The one LISTEN connection of a PostgreSQL queue adapter, taken from its pool and kept. When it
 * drops (a network cut, `pg_terminate_backend`, a failover) it reconnects with a growing pause;
 * every (re)connect asks for a fetch, since notifications sent while it was away are lost. The
 * fallback poll covers the time it is down.
 */
import type pg from 'pg';

export interface ListenerOptions {
  pool(): pg.Pool;
  /** Channel -> what to do with a payload on it. */
  readonly channels: ReadonlyMap<string, (payload: string) => void>;
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
        if (handle && m.payload !== undefined) handle(m.payload);
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
