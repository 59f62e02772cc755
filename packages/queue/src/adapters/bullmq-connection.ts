/**
 * The BullMQ adapter's Redis connections. The producer connection has ioredis's offline queue
 * turned off: while Redis is unreachable a command fails at once instead of piling up in memory
 * (20,000 enqueues had filled 166 MiB), and callers wait for the reconnect in a capped WaitLine
 * with a deadline instead. The worker connection keeps the offline queue and
 * `maxRetriesPerRequest: null` (BullMQ needs both to ride out an outage); its commands are bounded
 * by the jobs running. Closing settles within its timeout: after it, connections are dropped
 * (`disconnect()`), since `quit()` on an unreachable Redis never answers.
 *
 * With `cluster` the same three roles are ioredis `Cluster` clients over the seed nodes (one live
 * seed is enough; the client discovers the rest and follows MOVED and failovers).
 */
import { BackpressureError, ClosedError, EventsError, TimeoutError, WaitLine, drainWithin, redactUrl } from '@events/core';
import { Cluster, Redis } from 'ioredis';

/** One Redis or a Redis Cluster client: the commands the adapter sends exist on both. */
export type RedisClient = Redis | Cluster;

export interface ConnectionSettings {
  readonly url: string;
  readonly connection?: Redis;
  /** Seed nodes (`host:port`) of a Redis Cluster, used instead of `url`. */
  readonly cluster?: readonly string[];
  /** Callers waiting for a reconnect at once; the next one gets BackpressureError at once. */
  readonly maxWaiting: number;
  readonly onError: (error: Error) => void;
}

export interface GateOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** What waits, for errors (`queue.enqueue`). */
  readonly what: string;
  /** The caller's whole timeout, named in the error when `timeoutMs` is what is left of it. */
  readonly totalMs?: number;
}

/** ioredis's refusal when the offline queue is off and the connection is not ready. */
function isOffline(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && (message.includes('enableOfflineQueue') || message.includes('Connection is closed'));
}

/** A cluster in the middle of a failover: the slot's primary is gone and no replica is promoted yet. */
export function isFailover(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return (
    typeof message === 'string' &&
    (message.startsWith('CLUSTERDOWN') || message.startsWith('TRYAGAIN') || message.includes('Too many Cluster redirections') || message.includes('Failed to refresh slots cache') || /ECONNREFUSED|ECONNRESET|EPIPE/.test(message))
  );
}

/** Pause between tries of a producer call while a cluster fails over. */
const FAILOVER_PAUSE_MS = 100;

function seeds(nodes: readonly string[]): Array<{ host: string; port: number }> {
  return nodes.map((node) => {
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(at + 1)) };
  });
}

export class Connections {
  readonly where: string;
  private readonly line: WaitLine;
  private readonly owned = new Set<RedisClient>();
  private producerClient: RedisClient | undefined;
  private workerClient: RedisClient | undefined;

  constructor(private readonly settings: ConnectionSettings) {
    this.where = settings.cluster
      ? `Redis Cluster at ${settings.cluster.slice(0, 3).join(',')}${settings.cluster.length > 3 ? ',...' : ''}`
      : `Redis at ${redactUrl(settings.connection ? describe(settings.connection) : settings.url)}`;
    this.line = new WaitLine({ what: `waiting for ${this.where}`, max: settings.maxWaiting });
  }

  get waiting(): number {
    return this.line.size;
  }

  get connected(): boolean {
    return this.producerClient?.status === 'ready';
  }

  get isCluster(): boolean {
    return this.settings.cluster !== undefined;
  }

  /** The producer connection (queues, reads, dead-letter queries): no offline queue. */
  producer(): RedisClient {
    if (!this.producerClient) {
      const base = this.settings.connection;
      const nodes = this.settings.cluster;
      const client = nodes
        ? new Cluster(seeds(nodes), { enableOfflineQueue: false, lazyConnect: true })
        : base
          ? base.duplicate({ enableOfflineQueue: false })
          : new Redis(this.settings.url, { enableOfflineQueue: false, lazyConnect: true });
      client.on('ready', () => this.line.wake(this.line.size));
      this.producerClient = this.track(client);
    }
    return this.producerClient;
  }

  /** The worker connection (BullMQ workers, dead-letter writes of workers): rides out outages. */
  worker(): RedisClient {
    if (!this.workerClient) {
      const base = this.settings.connection;
      const nodes = this.settings.cluster;
      this.workerClient = this.track(
        nodes
          ? new Cluster(seeds(nodes), { redisOptions: { maxRetriesPerRequest: null } })
          : base
            ? base.duplicate({ maxRetriesPerRequest: null })
            : new Redis(this.settings.url, { maxRetriesPerRequest: null }),
      );
    }
    return this.workerClient;
  }

  /** A connection of its own (a pub/sub subscriber), closed with the others. */
  extra(): RedisClient {
    const nodes = this.settings.cluster;
    const producer = this.producer();
    return this.track(nodes ? new Cluster(seeds(nodes)) : (producer as Redis).duplicate({ enableOfflineQueue: true }));
  }

  private track<R extends RedisClient>(redis: R): R {
    this.owned.add(redis);
    // ioredis reconnects by itself; an 'error' while Redis is away is reported, never thrown.
    redis.on('error', (error: Error) => this.settings.onError(error));
    return redis;
  }

  /** Connects the producer within `timeoutMs`; rejects with an error naming the URL and the fix. */
  async open(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const client = this.producer();
    if (client.status === 'wait') client.connect().catch(() => undefined);
    try {
      await this.ready({ timeoutMs, signal, what: 'queue start' });
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new TimeoutError(`queue start: cannot reach ${this.where} (bullmqQueue startTimeoutMs); is Redis running and the URL right?`, timeoutMs);
      }
      throw err;
    }
  }

  /** Resolves once the producer is connected; waits in the capped line with a deadline. */
  async ready(options: GateOptions): Promise<void> {
    if (this.producer().status === 'ready') return;
    try {
      await this.line.wait({ timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      if (err instanceof BackpressureError) {
        throw new BackpressureError(
          `${options.what}: ${this.settings.maxWaiting} callers already wait for ${this.where} to come back (bullmqQueue maxWaitingEnqueues); retry later, or raise the limit`,
        );
      }
      if (err instanceof TimeoutError) throw new TimeoutError(`${options.what}: ${this.where} is unreachable; retry later, or raise the timeout`, options.totalMs ?? options.timeoutMs);
      throw err;
    }
  }

  /** Runs `command` on a connected producer, waiting (bounded) for a reconnect when Redis is away. */
  async run<T>(command: () => Promise<T>, options: GateOptions): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    if (this.producerClient?.status === 'ready') {
      // Connected (the usual case): run at once, no wait in the line; a drop falls through to it.
      try {
        return await command();
      } catch (err) {
        if (!this.retryable(err) || Date.now() >= deadline) throw err;
        if (this.isCluster && isFailover(err)) await new Promise((r) => setTimeout(r, Math.min(FAILOVER_PAUSE_MS, Math.max(0, deadline - Date.now()))));
      }
    }
    for (;;) {
      await this.ready({ ...options, timeoutMs: Math.max(1, deadline - Date.now()), totalMs: options.totalMs ?? options.timeoutMs });
      try {
        return await command();
      } catch (err) {
        // The connection dropped between the check and the command: wait again, within the deadline.
        // On a cluster, a failover in progress (the slot's primary gone, no replica promoted yet)
        // is retried too, after a short pause: the client reports no signal for "promoted". A
        // retried add is safe: every job carries its id, and BullMQ adds an existing id once.
        if (!this.retryable(err) || Date.now() >= deadline) throw err;
        if (this.isCluster && isFailover(err)) await new Promise((r) => setTimeout(r, Math.min(FAILOVER_PAUSE_MS, Math.max(0, deadline - Date.now()))));
      }
    }
  }

  /** A command that failed because the connection was down, or (cluster) during a failover: worth another try. */
  private retryable(err: unknown): boolean {
    if (err instanceof EventsError) return false; // ours, already decided (NotReplicatedError, a timeout)
    return isOffline(err) || (this.isCluster && isFailover(err));
  }

  /** Quits every connection within `timeoutMs`, then drops those still open. Never rejects. */
  async close(timeoutMs: number, force = false): Promise<void> {
    this.line.rejectAll(new ClosedError(`queue (${this.where})`));
    const all = [...this.owned];
    this.owned.clear();
    this.producerClient = undefined;
    this.workerClient = undefined;
    if (!force) await drainWithin(Promise.all(all.filter((r) => r.status === 'ready').map((r) => r.quit().catch(() => undefined))), timeoutMs);
    for (const r of all) if (r.status !== 'end') r.disconnect();
  }
}

function describe(redis: Redis): string {
  const o = redis.options;
  return o.path ? `unix:${o.path}` : `redis://${o.host ?? '127.0.0.1'}:${o.port ?? 6379}/${o.db ?? 0}`;
}
