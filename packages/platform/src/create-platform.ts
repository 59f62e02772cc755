/**
 * createPlatform: the three tiers from one config. The config says only which transport each tier
 * uses; call sites (`platform.bus.emit(...)`) are the same on memory and on real brokers, so an
 * application moves to Redis and RabbitMQ by changing configuration alone.
 *
 * Start is all-or-nothing: brokers are probed first (a clear ConfigError instead of a client library
 * retrying forever), then each tier is started within `startTimeoutMs`; if any tier fails, the ones
 * already built are closed before the error is thrown. Each tier loads its broker client on demand,
 * so a memory-only application never loads ioredis, amqplib or bullmq.
 */
import {
  ClosedError,
  ConfigError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  withTimeout,
  type AnyMessageMap,
  type CloseOptions,
  type Health,
  type Lifecycle,
  type MessageMap,
} from '@events/core';
import { createBus, type Bus, type BusOptions } from '@events/bus';
import { createPubSub, type PubSub, type PubSubOptions } from '@events/pubsub';
import { createQueue, type Queue, type QueueOptions } from '@events/queue';
import { redactUrl, resolveConfig, type PlatformConfig, type ResolvedPlatformConfig } from './config.js';
import { configFromEnv } from './config-env.js';
import { probeBroker, type BrokerProbe } from './probe.js';
import { BUS_ADAPTER_TABLE, PUBSUB_ADAPTER_TABLE, QUEUE_ADAPTER_TABLE, adapterFor } from './adapters.js';
import { platformHealth } from './health.js';
import { journeyStoreFor, type JourneyReader, type JourneyStore, type JourneyStoreStats, type PlatformJourneyOptions } from './journey/index.js';
import type { JourneyMode } from './config.js';

/** The typed maps of an application: channel -> message, event -> payload, job -> payload. */
export interface PlatformMaps {
  channels?: MessageMap;
  events?: MessageMap;
  jobs?: MessageMap;
}

type MapOf<M, K extends keyof PlatformMaps> = M extends { [P in K]: infer X extends MessageMap } ? X : AnyMessageMap;
export type ChannelsOf<M extends PlatformMaps> = MapOf<M, 'channels'>;
export type EventsOf<M extends PlatformMaps> = MapOf<M, 'events'>;
export type JobsOf<M extends PlatformMaps> = MapOf<M, 'jobs'>;

/**
 * Per-tier options that are not transport choices (error hooks, schemas, retry defaults...). The
 * transport keys (`adapter`, `redis`, `rabbitmq`, `bullmq`) come from the config only, so they are
 * not accepted here.
 */
export interface PlatformOptions<M extends PlatformMaps = PlatformMaps> {
  /** Extra options for createPubSub. Default: `{}`. */
  pubsub?: Omit<PubSubOptions<ChannelsOf<M>>, 'adapter'>;
  /** Extra options for createBus. Default: `{}`. */
  bus?: Omit<BusOptions<EventsOf<M>>, 'adapter'>;
  /** Extra options for createQueue. Default: `{}`. */
  queue?: Omit<QueueOptions<JobsOf<M>>, 'adapter'>;
  /**
   * The journeys (each message's path across the tiers, for the dashboard): which values a message
   * is searched by. Where they are kept is config (`journey`, EVENTS_JOURNEY). Default: `{}`.
   */
  journey?: PlatformJourneyOptions;
}

/** The platform's journeys: search them, read one with its causal tree. */
export interface PlatformJourneys extends JourneyReader {
  /** Where they are kept; `off` answers no journey. */
  readonly mode: JourneyMode;
  /** Steps recorded and dropped so far (zeros when off). */
  stats(): JourneyStoreStats;
}

export interface Platform<M extends PlatformMaps = PlatformMaps> extends Lifecycle {
  readonly pubsub: PubSub<ChannelsOf<M>>;
  readonly bus: Bus<EventsOf<M>>;
  readonly queue: Queue<JobsOf<M>>;
  /**
   * Every message's path across the three tiers, recorded by the tiers as they go (config
   * `journey`: in Redis when a tier runs there, else in this process's memory; both bounded).
   */
  readonly journeys: PlatformJourneys;
  /** The validated config the platform runs on (URLs include passwords: use redactUrl to log them). */
  readonly config: ResolvedPlatformConfig;
  /** One line per tier for a startup log: `pubsub=redis(redis://127.0.0.1:6379) bus=memory ...`. */
  describe(): string;
  /**
   * The three tiers' health in one: connected when all are, the most recent error of any, and each
   * tier's counts prefixed with its name (`bus.waitingEmits`). The phase is the least advanced one.
   */
  health(): Health;
  /**
   * Shuts the tiers down in dependency order, sharing one `timeoutMs` budget: the bus first (no new
   * events; its handlers drain and may still enqueue jobs and broadcast), then the queue (its
   * handlers drain and may still broadcast), then pubsub. Each tier stops intake, drains and then
   * disconnects. Idempotent. Rejects with an AggregateError naming every tier that failed to close.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Builds and starts the three tiers. `config` defaults to `configFromEnv()` (memory adapters when
 * no variable is set); pass `{}` for memory adapters whatever the environment says.
 */
export async function createPlatform<M extends PlatformMaps = PlatformMaps>(
  config: PlatformConfig | ResolvedPlatformConfig = configFromEnv(),
  options: PlatformOptions<M> = {},
): Promise<Platform<M>> {
  const resolved = 'sources' in config ? resolveConfig(config, config.sources) : resolveConfig(config);
  await Promise.all(brokerProbes(resolved).map((probe) => probeBroker(probe, resolved.startTimeoutMs)));

  const ns = resolved.namespace;
  const pubsubAdapter = await adapterFor(PUBSUB_ADAPTER_TABLE, resolved.pubsub, ns);
  const busAdapter = await adapterFor(BUS_ADAPTER_TABLE, resolved.bus, ns);
  const queueAdapter = await adapterFor(QUEUE_ADAPTER_TABLE, resolved.queue, ns);
  // One journal for the three tiers, so one message's steps meet in one journey.
  const store = await journeyStoreFor(resolved, options.journey ?? {});
  // and one tracing switch (EVENTS_TRACING); a tier's own option wins.
  const shared = { ...(store ? { journal: store } : {}), tracing: resolved.tracing };
  const pubsub = createPubSub<ChannelsOf<M>>({
    ...shared,
    ...options.pubsub,
    ...(ns !== undefined && options.pubsub?.namespace === undefined ? { namespace: ns } : {}),
    ...(pubsubAdapter ? { adapter: pubsubAdapter } : {}),
  });
  const bus = createBus<EventsOf<M>>({ ...shared, ...options.bus, ...(busAdapter ? { adapter: busAdapter } : {}) });
  const queue = createQueue<JobsOf<M>>({ ...shared, ...options.queue, ...(queueAdapter ? { adapter: queueAdapter } : {}) });
  // The store closes last: the tiers record their last steps while they drain.
  const closeables: Array<[string, { close(options?: CloseOptions): Promise<void> }]> = [['bus', bus], ['queue', queue], ['pubsub', pubsub]];
  if (store) closeables.push(['journey store', store]);

  let closing: Promise<void> | undefined;
  const platform: Platform<M> = {
    pubsub,
    bus,
    queue,
    journeys: journeysOf(store, resolved.journey),
    config: resolved,
    describe: () => describeConfig(resolved),
    // createPlatform resolves only once every tier started: start and ready have nothing left to do.
    start: () => (closing ? Promise.reject(new ClosedError('platform')) : Promise.resolve()),
    ready: () => (closing ? Promise.reject(new ClosedError('platform')) : Promise.resolve()),
    health: () => platformHealth({ pubsub, bus, queue }, closing !== undefined),
    close: (closeOptions) => (closing ??= closeInOrder(closeables, closeOptions)),
  };

  const timeout = resolved.startTimeoutMs;
  const starts: Array<[string, string, Promise<void>]> = [
    ['pubsub', resolved.sources.pubsubUrl, pubsub.start()],
    ['bus', resolved.sources.busUrl, bus.ready()],
    ['queue', resolved.sources.queueUrl, queue.start()],
  ];
  const results = await Promise.allSettled(starts.map(([tier, , started]) => withTimeout(started, timeout, `starting the ${tier}`)));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed !== -1) {
    await platform.close({ force: true }).catch(() => undefined);
    const [tier, source] = starts[failed]!;
    const cause = (results[failed] as PromiseRejectedResult).reason as unknown;
    throw new ConfigError(startFailureMessage({ resolved, tier, source, cause }), { cause });
  }
  return platform;
}

function journeysOf(store: JourneyStore | undefined, mode: JourneyMode): PlatformJourneys {
  if (!store) return { mode, search: () => Promise.resolve([]), get: () => Promise.resolve(undefined), stats: () => ({ recorded: 0, dropped: 0, pending: 0, evicted: 0 }) };
  return { mode, search: (query, options) => store.search(query, options), get: (id) => store.get(id), stats: () => store.stats() };
}

/** One probe per distinct broker endpoint: pubsub and queue usually share one Redis. */
function brokerProbes(config: ResolvedPlatformConfig): BrokerProbe[] {
  const probes = new Map<string, BrokerProbe>();
  const add = (probe: Omit<BrokerProbe, 'fallback'>, fallback: string): void => {
    const key = endpoint(probe.url);
    const seen = probes.get(key);
    if (seen) probes.set(key, { ...seen, usedBy: `${seen.usedBy}, ${probe.usedBy}`, fallback: `${seen.fallback}${fallback.startsWith('EVENTS_') ? ' ' : ' and '}${fallback}` });
    else probes.set(key, { ...probe, fallback });
  };
  const memory = (source: string): string => (source.startsWith('EVENTS_') ? `${source}=memory` : `${source.replace(/\.adapter$/, '')} = { adapter: 'memory' }`);
  const s = config.sources;
  if (config.pubsub.adapter === 'redis') add({ broker: 'Redis', url: config.pubsub.url, source: s.pubsubUrl, usedBy: 'pubsub' }, memory(s.pubsubAdapter));
  if (config.queue.adapter === 'bullmq') add({ broker: 'Redis', url: config.queue.url, source: s.queueUrl, usedBy: 'queue' }, memory(s.queueAdapter));
  if (config.queue.adapter === 'postgres') add({ broker: 'PostgreSQL', url: config.queue.url, source: s.queueUrl, usedBy: 'queue' }, memory(s.queueAdapter));
  if (config.bus.adapter === 'rabbitmq') add({ broker: 'RabbitMQ', url: config.bus.url, source: s.busUrl, usedBy: 'bus' }, memory(s.busAdapter));
  return [...probes.values()];
}

function endpoint(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port}`;
}

function startFailureMessage(spec: { resolved: ResolvedPlatformConfig; tier: string; source: string; cause: unknown }): string {
  const { resolved, tier, source, cause } = spec;
  const tierConfig = resolved[tier as 'pubsub' | 'bus' | 'queue'];
  const where = 'url' in tierConfig ? ` on ${redactUrl(tierConfig.url)} (${source})` : '';
  const reason = cause instanceof Error ? cause.message : String(cause);
  const hint =
    tierConfig.adapter === 'rabbitmq'
      ? 'The port answers: check the user, password and vhost in the URL.'
      : tierConfig.adapter === 'memory'
        ? ''
        : 'The port answers: check the password and database in the URL, and that Redis runs with maxmemory-policy noeviction (BullMQ needs it).';
  return `the ${tier} (${tierConfig.adapter})${where} did not start within ${resolved.startTimeoutMs} ms: ${reason}. ${hint}`.trim();
}

export function describeConfig(config: ResolvedPlatformConfig): string {
  return (['pubsub', 'bus', 'queue'] as const)
    .map((tier) => {
      const c = config[tier];
      return 'url' in c ? `${tier}=${c.adapter}(${redactUrl(c.url)})` : `${tier}=${c.adapter}`;
    })
    .join(' ');
}

async function closeInOrder(tiers: Array<[string, { close(options?: CloseOptions): Promise<void> }]>, options: CloseOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
  const errors: Error[] = [];
  for (const [name, tier] of tiers) {
    // Every tier gets what is left of the budget, and at least a moment to disconnect.
    const timeoutMs = Math.max(100, deadline - Date.now());
    try {
      await tier.close({ ...options, timeoutMs });
    } catch (error) {
      errors.push(new Error(`closing the ${name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}
