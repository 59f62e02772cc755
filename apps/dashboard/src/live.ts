/**
 * What the dashboard watches live, through the tiers' public APIs only:
 * - the bus: a transient `#` subscription, so it sees every event without taking any from the
 *   application's groups, and leaves nothing behind (on RabbitMQ an exclusive, auto-deleted queue:
 *   events emitted while the dashboard is down are not kept for it);
 * - pubsub: a `*` subscription (this makes the dashboard one more receiver in `broadcast`'s count;
 *   on Redis a `*` PSUBSCRIBE also receives every other application's traffic on that server);
 * - the queue: its `completed` / `failed` / `progress` events, which fire only in the process that
 *   ran the job.
 *
 * Memory stays bounded: the last `historySize` items per feed, counters for at most
 * `maxTracked` names or channels (the least recently seen is forgotten first), payloads cut to a
 * short preview.
 */
import type { Envelope } from '@events/core';
import type { Platform } from '@events/platform';

export interface BusFlowItem {
  readonly id: string;
  readonly name: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly occurredAt: string;
  readonly receivedAt: string;
  readonly payload: string;
}

export interface ChannelItem {
  readonly id: string;
  readonly channel: string;
  readonly message: string;
  readonly at: string;
}

export interface JobItem {
  readonly type: 'completed' | 'failed' | 'progress';
  readonly id: string;
  readonly name: string;
  readonly attempt?: number;
  readonly final?: boolean;
  readonly error?: string;
  readonly progress?: unknown;
  readonly at: string;
}

export type LiveItem = { kind: 'bus'; item: BusFlowItem } | { kind: 'channel'; item: ChannelItem } | { kind: 'job'; item: JobItem };

export interface Counter {
  readonly name: string;
  readonly total: number;
  /** Messages per second over the last 10 seconds. */
  readonly ratePerSecond: number;
  readonly lastAt: string;
}

export interface LiveFeedsOptions {
  /** False: do not watch the bus. */
  busGroup: string | false;
  /** Glob of the channels to watch; false: do not watch pubsub. */
  channelPattern: string | false;
  historySize: number;
  maxTracked: number;
  onError: (error: Error) => void;
}

const RATE_WINDOW_S = 10;
const PREVIEW_CHARS = 500;

export function preview(value: unknown, max = PREVIEW_CHARS): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A count per second over a sliding window of one-second buckets: constant memory whatever the rate. */
class Rate {
  private readonly counts = new Array<number>(RATE_WINDOW_S).fill(0);
  private readonly seconds = new Array<number>(RATE_WINDOW_S).fill(-1);
  total = 0;
  lastAt = 0;

  hit(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % RATE_WINDOW_S;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i]! += 1;
    this.total += 1;
    this.lastAt = nowMs;
  }

  perSecond(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < RATE_WINDOW_S; i += 1) if (this.seconds[i]! > second - RATE_WINDOW_S) sum += this.counts[i]!;
    return Math.round((sum / RATE_WINDOW_S) * 10) / 10;
  }
}

class Counters {
  private readonly rates = new Map<string, Rate>();
  total = 0;

  constructor(private readonly max: number) {}

  hit(name: string, nowMs: number): void {
    let rate = this.rates.get(name);
    if (rate) this.rates.delete(name); // re-inserted below: the map's order is least recently seen first
    else rate = new Rate();
    rate.hit(nowMs);
    this.rates.set(name, rate);
    this.total += 1;
    if (this.rates.size > this.max) this.rates.delete(this.rates.keys().next().value!);
  }

  snapshot(nowMs: number): Counter[] {
    return [...this.rates]
      .map(([name, r]) => ({ name, total: r.total, ratePerSecond: r.perSecond(nowMs), lastAt: new Date(r.lastAt).toISOString() }))
      .sort((a, b) => b.ratePerSecond - a.ratePerSecond || b.total - a.total || a.name.localeCompare(b.name));
  }
}

class Ring<T> {
  private readonly items: T[] = [];
  constructor(private readonly size: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }
  /** Newest first. */
  list(): T[] {
    return [...this.items].reverse();
  }
}

export interface LiveFeeds {
  /** Resolves once the bus and pubsub subscriptions are registered. */
  readonly ready: Promise<void>;
  /** False when the dashboard was told to leave the bus alone. */
  readonly watchesBus: boolean;
  readonly watchesChannels: boolean;
  bus(): { total: number; events: BusFlowItem[]; names: Counter[] };
  channels(): { total: number; messages: ChannelItem[]; channels: Counter[] };
  jobs(): { events: JobItem[] };
  /** Job names seen in queue events of this process. */
  jobNamesSeen(): string[];
  listen(listener: (item: LiveItem) => void): () => void;
  close(): Promise<void>;
}

export function createLiveFeeds(platform: Platform, options: LiveFeedsOptions): LiveFeeds {
  const busEvents = new Ring<BusFlowItem>(options.historySize);
  const busCounters = new Counters(options.maxTracked);
  const messages = new Ring<ChannelItem>(options.historySize);
  const channelCounters = new Counters(options.maxTracked);
  const jobEvents = new Ring<JobItem>(options.historySize);
  const jobNames = new Set<string>();
  const listeners = new Set<(item: LiveItem) => void>();
  let closed = false;

  function publish(item: LiveItem): void {
    for (const listener of listeners) {
      try {
        listener(item);
      } catch (error) {
        options.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  function onBusEvent(envelope: Envelope): void {
    const now = Date.now();
    const item: BusFlowItem = {
      id: envelope.id,
      name: envelope.name,
      ...(envelope.correlationId ? { correlationId: envelope.correlationId } : {}),
      ...(envelope.causationId ? { causationId: envelope.causationId } : {}),
      occurredAt: envelope.occurredAt,
      receivedAt: new Date(now).toISOString(),
      payload: preview(envelope.payload),
    };
    busEvents.push(item);
    busCounters.hit(envelope.name, now);
    publish({ kind: 'bus', item });
  }

  function onMessage(channel: string, message: unknown, envelope: Envelope): void {
    const now = Date.now();
    const item: ChannelItem = { id: envelope.id, channel, message: preview(message), at: new Date(now).toISOString() };
    messages.push(item);
    channelCounters.hit(channel, now);
    publish({ kind: 'channel', item });
  }

  function onJob(item: JobItem): void {
    if (jobNames.size < options.maxTracked) jobNames.add(item.name);
    jobEvents.push(item);
    publish({ kind: 'job', item });
  }

  const at = (): string => new Date().toISOString();
  const offQueue = [
    platform.queue.on('completed', (e) => onJob({ type: 'completed', id: e.id, name: e.name, attempt: e.attempt, at: at() })),
    platform.queue.on('failed', (e) => onJob({ type: 'failed', id: e.id, name: e.name, attempt: e.attempt, final: e.final, error: e.error.message, at: at() })),
    platform.queue.on('progress', (e) => onJob({ type: 'progress', id: e.id, name: e.name, progress: e.progress, at: at() })),
  ];

  const busSub = options.busGroup === false ? undefined : platform.bus.on('#', (envelope) => onBusEvent(envelope), { group: options.busGroup, retry: false, concurrency: 16, transient: true });
  const pubsubSub =
    options.channelPattern === false ? undefined : platform.pubsub.subscribe(options.channelPattern, (message, meta) => onMessage(meta.channel, message, meta.envelope));
  const ready = Promise.all([busSub, pubsubSub]).then(() => undefined);
  // `ready` is for callers that want to wait; a failure is reported here either way.
  ready.catch((error: unknown) => options.onError(error instanceof Error ? error : new Error(String(error))));

  return {
    ready,
    watchesBus: busSub !== undefined,
    watchesChannels: pubsubSub !== undefined,
    bus: () => ({ total: busCounters.total, events: busEvents.list(), names: busCounters.snapshot(Date.now()) }),
    channels: () => ({ total: channelCounters.total, messages: messages.list(), channels: channelCounters.snapshot(Date.now()) }),
    jobs: () => ({ events: jobEvents.list() }),
    jobNamesSeen: () => [...jobNames],
    listen(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      for (const off of offQueue) off();
      const subs = await Promise.allSettled([busSub, pubsubSub]);
      await Promise.allSettled(subs.map((s) => (s.status === 'fulfilled' && s.value ? s.value.close() : Promise.resolve())));
    },
  };
}

