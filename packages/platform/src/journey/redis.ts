/**
 * The journey store on Redis, shared by every process of an application: what any process's tiers
 * recorded is found from any dashboard. `record` only appends to a bounded buffer (full: the step
 * is dropped and counted); a background loop writes the buffer in batches, one atomic script per
 * batch (see redis-scripts.ts for the keys and bounds). Best effort: a step buffered when the
 * process dies, or written while Redis is down, is lost (counted in `dropped`). Reads and writes
 * each have a deadline, so a stalled Redis makes a read fail, never hang.
 */
import { ClosedError, consoleErrorHook, createErrorReporter, drainWithin, DEFAULT_CLOSE_TIMEOUT_MS, withTimeout, type ErrorHook, type JourneyStep } from '@events/core';
import type { Cluster, Redis } from 'ioredis';
import { WRITE_SCRIPT } from './redis-scripts.js';
import { asStep, buildJourney, indexValues, summarize } from './tree.js';
import { JOURNEY_DEFAULTS, type Journey, type JourneyBounds, type JourneySearchOptions, type JourneyStore, type JourneySummary } from './types.js';

export interface RedisJourneyOptions extends JourneyBounds {
  /** `redis://` URL. Default: redis://127.0.0.1:6379 (ignored with `cluster`). */
  url?: string;
  /** A Redis Cluster's seed nodes (`host:port`) instead of `url`. Default: none. */
  cluster?: { readonly nodes: readonly string[] };
  /** Key prefix; every key is `<prefix>:{journey}:...` (one hash tag: one cluster slot). Default: `events`. */
  prefix?: string;
  /** How long a journey and its index entries live after their last step. Default: 24 h. */
  ttlMs?: number;
  /** Index values kept per journey (ids and keys). Default: 2 000. */
  maxValuesPerJourney?: number;
  /** Steps waiting to be written; past it `record` drops (and counts). Default: 10 000. */
  maxBuffered?: number;
  /** Steps per write. Default: 500. */
  batchSize?: number;
  /** Longest a step waits in the buffer before a write starts. Default: 50 ms. */
  flushEveryMs?: number;
  /** Deadline of one read (search, get). Default: 2 000 ms. */
  readTimeoutMs?: number;
  /** Deadline of one batch write. Default: 5 000 ms. */
  writeTimeoutMs?: number;
  /** The journal's `keysOf` (the platform's `journey.keys`). Default: none. */
  keysOf?: (name: string, payload: unknown) => readonly string[];
  /** Failed writes (steps lost) and connection errors, as `{ tier: 'platform', kind: 'journey' }`. Default: consoleErrorHook() (rate-limited). */
  onError?: ErrorHook;
}

type Client = (Redis | Cluster) & { journeyWrite(key: string, ...args: string[]): Promise<number> };

export async function redisJourneyStore(options: RedisJourneyOptions = {}): Promise<JourneyStore> {
  const { Redis: RedisClient, Cluster: ClusterClient } = await import('ioredis');
  const readTimeoutMs = options.readTimeoutMs ?? 2000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  // The client's own timeout frees a command nobody waits for any more; our deadlines answer first.
  const redisOptions = { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 2 * Math.max(readTimeoutMs, writeTimeoutMs), connectTimeout: 5000 };
  const client = (
    options.cluster
      ? new ClusterClient(options.cluster.nodes.map(hostPort), { redisOptions, lazyConnect: true, clusterRetryStrategy: (n: number) => Math.min(n * 200, 2000) })
      : new RedisClient(options.url ?? 'redis://127.0.0.1:6379', redisOptions)
  ) as Client;
  client.defineCommand('journeyWrite', { numberOfKeys: 1, lua: WRITE_SCRIPT });
  const reporter = createErrorReporter('platform', options.onError ?? consoleErrorHook());
  client.on('error', (error: Error) => reporter.report('journey', error));

  const tag = `${options.prefix ?? 'events'}:{journey}:`;
  const key = { journey: (id: string) => `${tag}j:${id}`, index: (value: string) => `${tag}i:${value}`, recent: `${tag}recent` };
  const maxSteps = options.maxStepsPerJourney ?? JOURNEY_DEFAULTS.maxStepsPerJourney;
  const maxIndex = options.maxIndexPerStep ?? JOURNEY_DEFAULTS.maxIndexPerStep;
  const args = [
    tag,
    String(options.ttlMs ?? 24 * 3600_000),
    String(maxSteps),
    String(options.maxJourneysPerKey ?? JOURNEY_DEFAULTS.maxJourneysPerKey),
    String(options.maxValuesPerJourney ?? 2000),
    String(options.maxJourneys ?? JOURNEY_DEFAULTS.maxJourneys),
  ];
  const maxBuffered = options.maxBuffered ?? 10_000;
  const batchSize = options.batchSize ?? 500;
  const flushEveryMs = options.flushEveryMs ?? 50;

  let buffer: JourneyStep[] = [];
  let recorded = 0;
  let dropped = 0;
  let evicted = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;
  let touched = 0;
  /** Microseconds since the epoch, strictly increasing in this process: steps of one millisecond keep their order. */
  const touch = (): number => (touched = Math.max(touched + 1, Date.now() * 1000));

  async function writeBatch(steps: JourneyStep[]): Promise<void> {
    const byJourney = new Map<string, { at: number; steps: string[]; values: Set<string> }>();
    for (const step of steps) {
      // A malformed step (a foreign caller) is dropped alone: it must not fail the batch it is in.
      const text = asStep(step) === undefined ? undefined : encode(step);
      if (text === undefined) {
        dropped += 1;
        continue;
      }
      const entry = byJourney.get(step.correlationId) ?? { at: 0, steps: [], values: new Set<string>() };
      // Recency is when a step arrived here (not the step's own time), so eviction is least recently touched.
      entry.at = touch();
      entry.steps.push(text);
      for (const value of indexValues(step, maxIndex)) entry.values.add(value);
      byJourney.set(step.correlationId, entry);
    }
    if (byJourney.size === 0) return;
    const batch = [...byJourney].map(([id, e]) => [id, e.at, e.steps.slice(-maxSteps), [...e.values]]);
    evicted += await withTimeout(client.journeyWrite(key.recent, ...args, JSON.stringify(batch)), writeTimeoutMs, 'writing journey steps to Redis');
  }

  /** Writes batches until the buffer is empty; one loop at a time. */
  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    writing ??= (async () => {
      while (buffer.length > 0) {
        const steps = buffer.slice(0, batchSize);
        buffer = buffer.slice(steps.length);
        try {
          await writeBatch(steps);
        } catch (error) {
          dropped += steps.length;
          reporter.report('journey', error, { detail: { lost: steps.length } });
        }
      }
    })().finally(() => {
      writing = undefined;
      // A step recorded between the loop's last look and here would wait for the next record.
      if (buffer.length > 0 && !closed) schedule();
    });
    return writing;
  }

  function schedule(): void {
    if (writing || timer) return;
    timer = setTimeout(() => void drain(), buffer.length >= batchSize ? 0 : flushEveryMs);
    timer.unref();
  }

  async function read<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (closed) throw new ClosedError('journey store');
    return withTimeout(work(), readTimeoutMs, what);
  }

  async function steps(ids: readonly string[]): Promise<JourneyStep[][]> {
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.lrange(key.journey(id), 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, raw]) => {
      if (error) throw error;
      return (raw as string[]).flatMap((text) => {
        try {
          const step = asStep(JSON.parse(text));
          return step ? [step] : [];
        } catch {
          return [];
        }
      });
    });
  }

  return {
    kind: 'redis',
    ...(options.keysOf ? { keysOf: options.keysOf } : {}),
    record(step) {
      recorded += 1;
      if (closed || buffer.length >= maxBuffered) return void (dropped += 1);
      buffer.push(step);
      schedule();
      // A write loop already running picks the step up; a full batch does not wait for the timer.
      if (!writing && buffer.length >= batchSize) void drain();
    },
    search(query: string, searchOptions: JourneySearchOptions = {}): Promise<JourneySummary[]> {
      return read('searching journeys in Redis', async () => {
        const limit = Math.min(Math.max(1, Math.floor(searchOptions.limit ?? JOURNEY_DEFAULTS.searchLimit)), JOURNEY_DEFAULTS.maxSearchLimit);
        const q = query.trim();
        if (q.length > JOURNEY_DEFAULTS.maxQueryLength) return [];
        const ids = await client.zrevrange(q === '' ? key.recent : key.index(q), 0, limit - 1);
        const found = await steps(ids);
        return ids
          .map((id, i) => summarize(id, found[i]!))
          .filter((s) => s.steps > 0)
          .sort((a, b) => b.lastAt - a.lastAt);
      });
    },
    get(correlationId: string): Promise<Journey | undefined> {
      return read('reading a journey from Redis', async () => {
        if (correlationId.length === 0 || correlationId.length > JOURNEY_DEFAULTS.maxQueryLength) return undefined;
        const [list] = await steps([correlationId]);
        // The list is trimmed to maxSteps: a full list most likely lost its oldest steps.
        return list && list.length > 0 ? buildJourney(correlationId, list, list.length >= maxSteps) : undefined;
      });
    },
    async flush() {
      // A loop already running may have started before the last record: wait for it, then drain.
      if (writing) await writing;
      await drain();
    },
    stats: () => ({ recorded, dropped, pending: buffer.length, evicted }),
    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      const timeoutMs = closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      if (closeOptions.force !== true) await drainWithin(drain(), timeoutMs);
      dropped += buffer.length;
      buffer = [];
      if (timer) clearTimeout(timer);
      await drainWithin(client.quit().catch(() => undefined), Math.min(1000, timeoutMs));
      client.disconnect();
    },
  };
}

function encode(step: JourneyStep): string | undefined {
  try {
    return JSON.stringify(step);
  } catch {
    return undefined;
  }
}

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) };
}
