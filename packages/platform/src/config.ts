/**
 * One configuration object for the three tiers, and the same object read from environment
 * variables. Switching an application from memory to real brokers changes this object only, never
 * a call site. Everything is validated before a connection is opened, and every error is a
 * ConfigError that says what to fix (which setting, what was given, what is expected).
 */
import { ConfigError, redactUrl } from '@events/core';

export { redactUrl };

export type PubSubConfig = { adapter: 'memory' } | { adapter: 'redis'; /** `redis://` or `rediss://` URL. */ url: string };
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
      /** `redis://` or `rediss://` URL. */
      url: string;
      /** BullMQ key prefix, so several applications can share one Redis. Default: the namespace, else the queue package's default. */
      prefix?: string;
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
  /** How long each broker may take to answer at start before createPlatform gives up. Default: 5000 ms. */
  startTimeoutMs?: number;
  /**
   * One name that keeps this application apart from others on shared brokers: the pubsub
   * namespace, the bus exchange, the BullMQ prefix and the PostgreSQL schema default to it (a
   * tier's own setting wins). Default: none (each tier's package default).
   */
  namespace?: string;
}

/** A config with every default filled in; what createPlatform works from. */
export interface ResolvedPlatformConfig {
  readonly pubsub: PubSubConfig;
  readonly bus: BusConfig;
  readonly queue: QueueConfig;
  readonly startTimeoutMs: number;
  readonly namespace?: string;
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
  const pubsub = resolveTier('pubsub', config.pubsub, { valid: PUBSUB_ADAPTERS, source: sources.pubsubAdapter });
  const bus = resolveTier('bus', config.bus, { valid: BUS_ADAPTERS, source: sources.busAdapter });
  const queue = resolveTier('queue', config.queue, { valid: QUEUE_ADAPTERS, source: sources.queueAdapter });
  if (pubsub.adapter === 'redis') checkUrl(pubsub.url, { source: sources.pubsubUrl, protocols: ['redis:', 'rediss:'], form: REDIS_FORM });
  if (bus.adapter === 'rabbitmq') {
    checkUrl(bus.url, { source: sources.busUrl, protocols: ['amqp:', 'amqps:'], form: AMQP_FORM });
    checkName(bus.exchange, sources.busExchange);
  }
  if (queue.adapter === 'bullmq') {
    checkUrl(queue.url, { source: sources.queueUrl, protocols: ['redis:', 'rediss:'], form: REDIS_FORM });
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
    sources,
  };
}

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
  const namespace = read('EVENTS_NAMESPACE');
  const pubsubName = pick('EVENTS_PUBSUB', read('EVENTS_PUBSUB'), PUBSUB_ADAPTERS);
  const busName = pick('EVENTS_BUS', read('EVENTS_BUS'), BUS_ADAPTERS);
  const queueName = pick('EVENTS_QUEUE', read('EVENTS_QUEUE'), QUEUE_ADAPTERS);
  const prefix = read('EVENTS_QUEUE_PREFIX');
  const exchange = read('EVENTS_BUS_EXCHANGE');
  const timeoutText = read('EVENTS_START_TIMEOUT_MS');
  let startTimeoutMs: number | undefined;
  if (timeoutText !== undefined) {
    startTimeoutMs = /^\d+$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
    if (!(startTimeoutMs > 0)) {
      throw new ConfigError(`EVENTS_START_TIMEOUT_MS must be a positive whole number of milliseconds (got ${JSON.stringify(timeoutText)}), e.g. 5000`);
    }
  }
  const config: PlatformConfig = {
    pubsub: pubsubName === 'redis' ? { adapter: 'redis', url: redisUrl } : { adapter: 'memory' },
    bus: busName === 'rabbitmq' ? { adapter: 'rabbitmq', url: amqpUrl, ...(exchange ? { exchange } : {}) } : { adapter: 'memory' },
    queue:
      queueName === 'bullmq'
        ? { adapter: 'bullmq', url: redisUrl, ...(prefix ? { prefix } : {}) }
        : queueName === 'postgres'
          ? { adapter: 'postgres', url: databaseUrl, migrate, ...(prefix ? { schema: prefix } : {}) }
          : { adapter: 'memory' },
    ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
    ...(namespace ? { namespace } : {}),
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
  });
}

function pick<const T extends readonly string[]>(variable: string, value: string | undefined, valid: T): T[number] {
  if (value === undefined) return 'memory';
  const lower = value.toLowerCase();
  if ((valid as readonly string[]).includes(lower)) return lower as T[number];
  throw new ConfigError(`${variable}=${JSON.stringify(value)} is not a known adapter; valid values: ${valid.join(', ')} (unset means memory)`);
}

function resolveTier(tier: string, value: unknown, spec: { valid: readonly string[]; source: string }): { adapter: string; url?: unknown; prefix?: unknown; exchange?: unknown; schema?: unknown; migrate?: unknown } {
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

function checkUrl(url: unknown, spec: { source: string; protocols: readonly string[]; form: string }): void {
  const problem = urlProblem(url, spec.protocols);
  if (problem) throw new ConfigError(`${spec.source} is malformed (${problem}); expected ${spec.form}`);
}

function urlProblem(url: unknown, protocols: readonly string[]): string | undefined {
  if (typeof url !== 'string' || url.length === 0) return `got ${describe(url)}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(redactUrl(url))} is not a URL`;
  }
  if (!protocols.includes(parsed.protocol)) return `scheme "${parsed.protocol.replace(/:$/, '')}" in ${JSON.stringify(redactUrl(url))} is not ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')}`;
  if (!parsed.hostname) return `no host in ${JSON.stringify(redactUrl(url))}`;
  if (parsed.port !== '' && !(Number(parsed.port) > 0)) return `bad port in ${JSON.stringify(redactUrl(url))}`;
  return undefined;
}

function checkName(value: unknown, source: string): void {
  if (value !== undefined && (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(value))) {
    throw new ConfigError(`${source} must be 1-100 letters, digits or _.:- (got ${describe(value)})`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
