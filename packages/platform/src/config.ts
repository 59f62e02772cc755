/**
 * One configuration object for the three tiers, and the same object read from environment
 * variables. Switching an application from memory to real brokers changes this object only, never
 * a call site. Everything is validated before a connection is opened, and every error is a
 * ConfigError that says what to fix (which setting, what was given, what is expected).
 */
import { ConfigError, isTracingMode, redactUrl, TRACING_MODES, type TracingMode } from '@events/core';
import { checkClusterNodes, checkName, checkUrl, describe, refuseDroppedAuth } from './config-checks.js';

export { redactUrl };

export type PubSubConfig =
  | { adapter: 'memory' }
  | {
      adapter: 'redis';
      /** `redis://` or `rediss://` URL. With a cluster, resolveConfig sets it to the first node (the one the start probe checks). */
      url: string;
      /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE): on a cluster a message travels within its shard only; glob subscriptions are refused. Default: false. */
      sharded?: boolean;
      /** The Redis Cluster to use instead of `url`. Default: `config.redisCluster`. */
      cluster?: RedisClusterConfig;
    };

/** A Redis Cluster: the seed nodes a client discovers the whole cluster from. */
export interface RedisClusterConfig {
  /** `host:port` of one or more nodes (`[::1]:7000` for IPv6); one live node is enough to discover the others. */
  readonly nodes: readonly string[];
}
export type BusConfig =
  | { adapter: 'memory' }
  | {
      adapter: 'rabbitmq';
      /** `amqp://` or `amqps://` URL. */
      url: string;
      /** Topic exchange (queue names start with it), so several applications can share one RabbitMQ. Default: the bus package's default (`events`). */
      exchange?: string;
    };
export type QueueConfig =
  | { adapter: 'memory' }
  | {
      adapter: 'bullmq';
      /** `redis://` or `rediss://` URL. With a cluster, resolveConfig sets it to the first node (the one the start probe checks). */
      url: string;
      /** BullMQ key prefix, so several applications can share one Redis. Default: the namespace, else the queue package's default. */
      prefix?: string;
      /** The Redis Cluster to use instead of `url` (each job name's keys get a hash tag). Default: `config.redisCluster`. */
      cluster?: RedisClusterConfig;
    }
  | {
      adapter: 'postgres';
      /** `postgres://` or `postgresql://` URL. */
      url: string;
      /** PostgreSQL schema holding the queue's tables, so several applications can share one database. Default: the namespace, else the queue package's default. */
      schema?: string;
      /** Run the queue's migrations at start. Default: false (run `events-worker migrate` in your deploy instead). */
      migrate?: boolean;
    };

export interface PlatformConfig {
  /** PubSub transport. Default: `{ adapter: 'memory' }`. */
  pubsub?: PubSubConfig;
  /** Event bus transport. Default: `{ adapter: 'memory' }`. */
  bus?: BusConfig;
  /** Worker queue transport. Default: `{ adapter: 'memory' }`. */
  queue?: QueueConfig;
  /**
   * A Redis Cluster for every Redis tier (pubsub `redis`, queue `bullmq`), used instead of their
   * `url`. Default: none (a single Redis at the tier's `url`).
   */
  redisCluster?: RedisClusterConfig;
  /** How long each broker may take to answer at start before createPlatform gives up. Default: 5000 ms. */
  startTimeoutMs?: number;
  /**
   * One name that keeps this application apart from others on shared brokers: the pubsub
   * namespace, the bus exchange, the BullMQ prefix and the PostgreSQL schema default to it (a
   * tier's own setting wins). Default: none (each tier's package default).
   */
  namespace?: string;
  /**
   * Where the journeys (each message's path, for the dashboard) are kept: `redis` (shared by every
   * process; the URL or cluster of the pubsub or queue tier), `memory` (this process only, bounded)
   * or `off`. Default: `redis` when pubsub or the queue runs on Redis, else `memory`.
   */
  journey?: JourneyMode;
  /**
   * How the three tiers trace their messages with an OpenTelemetry SDK registered (core's
   * TracingMode, docs/tracing.md): `join` (default) traces what is sent inside a trace, `always`
   * also starts a trace for a message sent outside any, `off` starts no span and writes or reads no
   * trace header. Metrics and journeys go on under every mode. A tier's own `tracing` option wins.
   */
  tracing?: TracingMode;
}

/** Where journeys are kept (see PlatformConfig.journey). */
export type JourneyMode = 'memory' | 'redis' | 'off';
export const JOURNEY_MODES = ['memory', 'redis', 'off'] as const;

/** A config with every default filled in; what createPlatform works from. */
export interface ResolvedPlatformConfig {
  readonly pubsub: PubSubConfig;
  readonly bus: BusConfig;
  readonly queue: QueueConfig;
  readonly startTimeoutMs: number;
  readonly namespace?: string;
  /** The Redis Cluster of every Redis tier, when one is configured (nodes checked). */
  readonly redisCluster?: RedisClusterConfig;
  /** Where journeys are kept, the default decided. */
  readonly journey: JourneyMode;
  /** How the tiers trace (PlatformConfig.tracing), the default decided. */
  readonly tracing: TracingMode;
  /** Where each setting came from (`EVENTS_BUS`, `config.bus.url`...), so errors name the thing to edit. */
  readonly sources: ConfigSources;
}

export interface ConfigSources {
  readonly pubsubAdapter: string;
  readonly pubsubUrl: string;
  readonly busAdapter: string;
  readonly busUrl: string;
  readonly queueAdapter: string;
  readonly queueUrl: string;
  readonly busExchange: string;
  readonly queuePrefix: string;
  readonly startTimeoutMs: string;
  readonly namespace: string;
  /** Where the Redis Cluster nodes came from (`REDIS_CLUSTER_NODES`, `config.redisCluster.nodes`). */
  readonly redisCluster: string;
  /** Where the journey mode came from (`EVENTS_JOURNEY`, `config.journey`). Default: `config.journey`. */
  readonly journey?: string;
  /** Where the tracing switch came from (`EVENTS_TRACING`, `config.tracing`). Default: `config.tracing`. */
  readonly tracing?: string;
}

export const DEFAULT_START_TIMEOUT_MS = 5000;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export const PUBSUB_ADAPTERS = ['memory', 'redis'] as const;
export const BUS_ADAPTERS = ['memory', 'rabbitmq'] as const;
export const QUEUE_ADAPTERS = ['memory', 'bullmq', 'postgres'] as const;

const OBJECT_SOURCES: ConfigSources = {
  pubsubAdapter: 'config.pubsub.adapter',
  pubsubUrl: 'config.pubsub.url',
  busAdapter: 'config.bus.adapter',
  busUrl: 'config.bus.url',
  queueAdapter: 'config.queue.adapter',
  queueUrl: 'config.queue.url',
  busExchange: 'config.bus.exchange',
  queuePrefix: 'config.queue.prefix',
  startTimeoutMs: 'config.startTimeoutMs',
  namespace: 'config.namespace',
  redisCluster: 'config.redisCluster.nodes',
  journey: 'config.journey',
  tracing: 'config.tracing',
};

const REDIS_FORM = 'redis://[user:password@]host[:port][/db] (or rediss:// for TLS), e.g. redis://127.0.0.1:6379';
const POSTGRES_FORM = 'postgres://[user[:password]@]host[:port]/database, e.g. postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_FORM = 'amqp://[user:password@]host[:port][/vhost] (or amqps:// for TLS), e.g. amqp://guest:guest@127.0.0.1:5672';

/**
 * Validates a config object and fills in defaults. `sources` names each setting for error messages
 * (configFromEnv passes the environment variable names).
 */
export function resolveConfig(config: PlatformConfig = {}, sources: ConfigSources = OBJECT_SOURCES): ResolvedPlatformConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError(`platform config must be an object, got ${describe(config)}`);
  const clusterSource = sources.redisCluster;
  const redisCluster = config.redisCluster === undefined ? undefined : checkClusterNodes(config.redisCluster, clusterSource);
  const given = resolveTier('pubsub', config.pubsub, { valid: PUBSUB_ADAPTERS, source: sources.pubsubAdapter });
  let pubsub = given;
  if (given.adapter === 'redis') {
    if (given.sharded !== undefined && typeof given.sharded !== 'boolean') throw new ConfigError(`config.pubsub.sharded must be true or false (got ${describe(given.sharded)})`);
    const own = given.cluster === undefined ? undefined : checkClusterNodes(given.cluster, 'config.pubsub.cluster.nodes');
    const cluster = own ?? redisCluster;
    // On a cluster the tier's URL is its first node: the start probe checks it and errors name it.
    if (cluster) {
      refuseDroppedAuth(given.url, { source: sources.pubsubUrl, cluster: clusterSource });
      pubsub = { ...given, url: `redis://${cluster.nodes[0]!}`, cluster };
      sources = { ...sources, pubsubUrl: own ? 'config.pubsub.cluster.nodes' : clusterSource };
    } else checkUrl(given.url, { source: sources.pubsubUrl, protocols: ['redis:', 'rediss:'], form: REDIS_FORM });
  }
  const bus = resolveTier('bus', config.bus, { valid: BUS_ADAPTERS, source: sources.busAdapter });
  let queue = resolveTier('queue', config.queue, { valid: QUEUE_ADAPTERS, source: sources.queueAdapter });
  if (bus.adapter === 'rabbitmq') {
    checkUrl(bus.url, { source: sources.busUrl, protocols: ['amqp:', 'amqps:'], form: AMQP_FORM });
    checkName(bus.exchange, sources.busExchange);
  }
  if (queue.adapter === 'bullmq') {
    const own = queue.cluster === undefined ? undefined : checkClusterNodes(queue.cluster, 'config.queue.cluster.nodes');
    const cluster = own ?? redisCluster;
    if (cluster) {
      refuseDroppedAuth(queue.url, { source: sources.queueUrl, cluster: clusterSource });
      queue = { ...queue, url: `redis://${cluster.nodes[0]!}`, cluster };
      sources = { ...sources, queueUrl: own ? 'config.queue.cluster.nodes' : clusterSource };
    } else checkUrl(queue.url, { source: sources.queueUrl, protocols: ['redis:', 'rediss:'], form: REDIS_FORM });
    checkName(queue.prefix, sources.queuePrefix);
  }
  if (queue.adapter === 'postgres') {
    checkUrl(queue.url, { source: sources.queueUrl, protocols: ['postgres:', 'postgresql:'], form: POSTGRES_FORM });
    if (queue.schema !== undefined && (typeof queue.schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(queue.schema))) {
      throw new ConfigError(`${sources.queuePrefix} must be a PostgreSQL schema name: lowercase letters, digits and _, starting with a letter (got ${describe(queue.schema)})`);
    }
    if (queue.migrate !== undefined && typeof queue.migrate !== 'boolean') throw new ConfigError(`config.queue.migrate must be true or false (got ${describe(queue.migrate)})`);
  }
  checkName(config.namespace, sources.namespace);
  const journey = resolveJourney(config.journey, { source: sources.journey ?? 'config.journey', onRedis: pubsub.adapter === 'redis' || queue.adapter === 'bullmq' });
  const tracing = config.tracing ?? 'join';
  if (!isTracingMode(tracing)) throw new ConfigError(`${sources.tracing ?? 'config.tracing'} must be one of ${TRACING_MODES.join(', ')} (got ${describe(tracing)})`);
  const startTimeoutMs = config.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  if (typeof startTimeoutMs !== 'number' || !Number.isFinite(startTimeoutMs) || startTimeoutMs <= 0) {
    throw new ConfigError(`${sources.startTimeoutMs} must be a positive number of milliseconds (got ${describe(startTimeoutMs)}), e.g. 5000`);
  }
  return {
    pubsub: pubsub as PubSubConfig,
    bus: bus as BusConfig,
    queue: queue as QueueConfig,
    startTimeoutMs,
    ...(config.namespace !== undefined ? { namespace: config.namespace } : {}),
    ...(redisCluster ? { redisCluster } : {}),
    journey,
    tracing,
    sources,
  };
}

function resolveJourney(value: unknown, { source, onRedis }: { source: string; onRedis: boolean }): JourneyMode {
  if (value === undefined) return onRedis ? 'redis' : 'memory';
  if (typeof value !== 'string' || !(JOURNEY_MODES as readonly string[]).includes(value)) {
    throw new ConfigError(`${source} must be one of ${JOURNEY_MODES.join(', ')} (got ${describe(value)})`);
  }
  if (value === 'redis' && !onRedis) {
    throw new ConfigError(`${source} is redis, but no tier runs on Redis to take the URL from: set EVENTS_PUBSUB=redis or EVENTS_QUEUE=bullmq (or config.pubsub / config.queue), or use memory`);
  }
  return value as JourneyMode;
}

type LooseTier = { adapter: string; url?: unknown; prefix?: unknown; exchange?: unknown; schema?: unknown; migrate?: unknown; sharded?: unknown; cluster?: unknown };

function resolveTier(tier: string, value: unknown, spec: { valid: readonly string[]; source: string }): LooseTier {
  const { valid, source } = spec;
  if (value === undefined) return { adapter: 'memory' };
  if (value === null || typeof value !== 'object' || !('adapter' in value)) {
    throw new ConfigError(`config.${tier} must be an object like { adapter: ${valid.map((v) => `'${v}'`).join(' | ')} } (got ${describe(value)})`);
  }
  const adapter = (value as { adapter: unknown }).adapter;
  if (typeof adapter !== 'string' || !valid.includes(adapter)) {
    throw new ConfigError(`${source}: ${describe(adapter)} is not a known ${tier} adapter; valid values: ${valid.join(', ')}`);
  }
  return value as { adapter: string };
}

