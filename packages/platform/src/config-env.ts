/**
 * The platform config read from environment variables (`EVENTS_PUBSUB`, `REDIS_URL`, ...): the
 * same object resolveConfig validates, with each error naming the variable to fix.
 */
import { ConfigError, isTracingMode } from '@events/core';
import {
  BUS_ADAPTERS,
  DEFAULT_AMQP_URL,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  PUBSUB_ADAPTERS,
  QUEUE_ADAPTERS,
  resolveConfig,
  type JourneyMode,
  type PlatformConfig,
  type ResolvedPlatformConfig,
} from './config.js';

/** Environment variables configFromEnv reads. Unset or empty means "use the default". */
export interface PlatformEnv {
  /** `memory` (default) or `redis`. */
  EVENTS_PUBSUB?: string;
  /** `memory` (default) or `rabbitmq`. */
  EVENTS_BUS?: string;
  /** `memory` (default), `bullmq` (BullMQ on Redis, REDIS_URL) or `postgres` (PostgreSQL, DATABASE_URL). */
  EVENTS_QUEUE?: string;
  /** Redis for pubsub and bullmq. Default: redis://127.0.0.1:6379. */
  REDIS_URL?: string;
  /**
   * A Redis Cluster for pubsub and bullmq instead of REDIS_URL: `host:port,host:port,...` (one live
   * seed node is enough; list several so a start survives one being down). Default: none.
   */
  REDIS_CLUSTER_NODES?: string;
  /** `true`: pubsub uses sharded pub/sub (SPUBLISH/SSUBSCRIBE, no glob subscriptions). Default: false. */
  EVENTS_PUBSUB_SHARDED?: string;
  /** RabbitMQ for the bus. Default: amqp://guest:guest@127.0.0.1:5672. */
  AMQP_URL?: string;
  /** An alias of AMQP_URL, read when AMQP_URL is unset. */
  RABBITMQ_URL?: string;
  /** PostgreSQL for `EVENTS_QUEUE=postgres`. Default: postgres://postgres@127.0.0.1:5432/postgres. */
  DATABASE_URL?: string;
  /** `true` runs the PostgreSQL queue's migrations at start. Default: false. */
  EVENTS_QUEUE_MIGRATE?: string;
  /** Keeps this application apart on shared brokers (pubsub namespace, bus exchange, queue prefix or schema). Default: none. */
  EVENTS_NAMESPACE?: string;
  /** BullMQ key prefix. Default: the queue package's default (`bull`). */
  EVENTS_QUEUE_PREFIX?: string;
  /** RabbitMQ topic exchange of the bus. Default: the bus package's default (`events`). */
  EVENTS_BUS_EXCHANGE?: string;
  /** Milliseconds each broker may take to answer at start. Default: 5000. */
  EVENTS_START_TIMEOUT_MS?: string;
  /**
   * Where the dashboard's journeys are kept: `redis` (the pubsub or queue Redis, shared by every
   * process), `memory` (this process, bounded) or `off`. Default: redis when EVENTS_PUBSUB=redis or
   * EVENTS_QUEUE=bullmq, else memory.
   */
  EVENTS_JOURNEY?: string;
  /**
   * `off`: the tiers start no span and write or read no trace header, even with an OpenTelemetry
   * SDK registered; metrics and journeys go on. `on` (default): traced when an SDK is registered.
   */
  EVENTS_TRACING?: string;
}

/**
 * Reads the platform config from environment variables: memory everywhere when nothing is set, so
 * `npm run demo` needs no broker; `EVENTS_PUBSUB=redis EVENTS_BUS=rabbitmq EVENTS_QUEUE=bullmq`
 * switches all three to the local brokers (REDIS_URL / AMQP_URL override where they are).
 */
export function configFromEnv(env: PlatformEnv | NodeJS.ProcessEnv = process.env): ResolvedPlatformConfig {
  const read = (key: keyof PlatformEnv): string | undefined => {
    const value = (env as Record<string, string | undefined>)[key]?.trim();
    return value ? value : undefined;
  };
  const redisUrl = read('REDIS_URL') ?? DEFAULT_REDIS_URL;
  const amqpUrl = read('AMQP_URL') ?? read('RABBITMQ_URL') ?? DEFAULT_AMQP_URL;
  const amqpSource = read('AMQP_URL') === undefined && read('RABBITMQ_URL') !== undefined ? 'RABBITMQ_URL' : 'AMQP_URL';
  const databaseUrl = read('DATABASE_URL') ?? DEFAULT_DATABASE_URL;
  const migrateText = read('EVENTS_QUEUE_MIGRATE');
  if (migrateText !== undefined && !/^(true|false|1|0)$/i.test(migrateText)) {
    throw new ConfigError(`EVENTS_QUEUE_MIGRATE must be true or false (got ${JSON.stringify(migrateText)})`);
  }
  const migrate = migrateText !== undefined && /^(true|1)$/i.test(migrateText);
  const shardedText = read('EVENTS_PUBSUB_SHARDED');
  if (shardedText !== undefined && !/^(true|false|1|0)$/i.test(shardedText)) {
    throw new ConfigError(`EVENTS_PUBSUB_SHARDED must be true or false (got ${JSON.stringify(shardedText)})`);
  }
  const sharded = shardedText !== undefined && /^(true|1)$/i.test(shardedText);
  const clusterText = read('REDIS_CLUSTER_NODES');
  const redisCluster = clusterText === undefined ? undefined : { nodes: clusterText.split(',').map((node) => node.trim()) };
  const namespace = read('EVENTS_NAMESPACE');
  const pubsubName = pick('EVENTS_PUBSUB', read('EVENTS_PUBSUB'), PUBSUB_ADAPTERS);
  const busName = pick('EVENTS_BUS', read('EVENTS_BUS'), BUS_ADAPTERS);
  const queueName = pick('EVENTS_QUEUE', read('EVENTS_QUEUE'), QUEUE_ADAPTERS);
  const prefix = read('EVENTS_QUEUE_PREFIX');
  const exchange = read('EVENTS_BUS_EXCHANGE');
  const journeyText = read('EVENTS_JOURNEY')?.toLowerCase();
  const timeoutText = read('EVENTS_START_TIMEOUT_MS');
  const tracingText = read('EVENTS_TRACING');
  const tracing = tracingText?.toLowerCase();
  if (tracing !== undefined && !isTracingMode(tracing)) {
    throw new ConfigError(`EVENTS_TRACING must be join, always or off (got ${JSON.stringify(tracingText)}); unset means join`);
  }
  let startTimeoutMs: number | undefined;
  if (timeoutText !== undefined) {
    startTimeoutMs = /^\d+$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
    if (!(startTimeoutMs > 0)) {
      throw new ConfigError(`EVENTS_START_TIMEOUT_MS must be a positive whole number of milliseconds (got ${JSON.stringify(timeoutText)}), e.g. 5000`);
    }
  }
  const config: PlatformConfig = {
    pubsub: pubsubName === 'redis' ? { adapter: 'redis', url: redisUrl, ...(sharded ? { sharded } : {}) } : { adapter: 'memory' },
    bus: busName === 'rabbitmq' ? { adapter: 'rabbitmq', url: amqpUrl, ...(exchange ? { exchange } : {}) } : { adapter: 'memory' },
    queue:
      queueName === 'bullmq'
        ? { adapter: 'bullmq', url: redisUrl, ...(prefix ? { prefix } : {}) }
        : queueName === 'postgres'
          ? { adapter: 'postgres', url: databaseUrl, migrate, ...(prefix ? { schema: prefix } : {}) }
          : { adapter: 'memory' },
    ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
    ...(namespace ? { namespace } : {}),
    ...(redisCluster ? { redisCluster } : {}),
    ...(journeyText !== undefined ? { journey: journeyText as JourneyMode } : {}),
    ...(tracing !== undefined ? { tracing } : {}),
  };
  return resolveConfig(config, {
    pubsubAdapter: 'EVENTS_PUBSUB',
    pubsubUrl: 'REDIS_URL',
    busAdapter: 'EVENTS_BUS',
    busUrl: amqpSource,
    queueAdapter: 'EVENTS_QUEUE',
    queueUrl: queueName === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL',
    busExchange: 'EVENTS_BUS_EXCHANGE',
    queuePrefix: 'EVENTS_QUEUE_PREFIX',
    startTimeoutMs: 'EVENTS_START_TIMEOUT_MS',
    namespace: 'EVENTS_NAMESPACE',
    redisCluster: 'REDIS_CLUSTER_NODES',
    journey: 'EVENTS_JOURNEY',
    tracing: 'EVENTS_TRACING',
  });
}

function pick<const T extends readonly string[]>(variable: string, value: string | undefined, valid: T): T[number] {
  if (value === undefined) return 'memory';
  const lower = value.toLowerCase();
  if ((valid as readonly string[]).includes(lower)) return lower as T[number];
  throw new ConfigError(`${variable}=${JSON.stringify(value)} is not a known adapter; valid values: ${valid.join(', ')} (unset means memory)`);
}

