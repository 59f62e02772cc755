import { ConfigError } from '@events/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig, redactUrl, type PlatformConfig } from './config.js';
import { configFromEnv } from './config-env.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG');
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configFromEnv', () => {
  it('uses memory adapters for every tier when nothing is set', () => {
    const config = configFromEnv({});
    expect(config.pubsub).toEqual({ adapter: 'memory' });
    expect(config.bus).toEqual({ adapter: 'memory' });
    expect(config.queue).toEqual({ adapter: 'memory' });
    expect(config.startTimeoutMs).toBe(5000);
  });

  it('treats empty values as unset', () => {
    expect(configFromEnv({ EVENTS_PUBSUB: '', EVENTS_BUS: '  ', REDIS_URL: '' }).pubsub).toEqual({ adapter: 'memory' });
  });

  it('switches all three tiers to the local brokers by adapter names alone', () => {
    const config = configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_BUS: 'RabbitMQ', EVENTS_QUEUE: 'bullmq' });
    expect(config.pubsub).toEqual({ adapter: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(config.bus).toEqual({ adapter: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672' });
    expect(config.queue).toEqual({ adapter: 'bullmq', url: 'redis://127.0.0.1:6379' });
  });

  it('reads REDIS_URL, AMQP_URL, the queue prefix and the start timeout', () => {
    const config = configFromEnv({
      EVENTS_PUBSUB: 'redis',
      EVENTS_BUS: 'rabbitmq',
      EVENTS_QUEUE: 'bullmq',
      REDIS_URL: 'rediss://user:pw@cache.internal:6380/2',
      AMQP_URL: 'amqps://app:secret@mq.internal/prod',
      EVENTS_QUEUE_PREFIX: 'shop',
      EVENTS_BUS_EXCHANGE: 'shop.events',
      EVENTS_START_TIMEOUT_MS: '1500',
    });
    expect(config.pubsub).toEqual({ adapter: 'redis', url: 'rediss://user:pw@cache.internal:6380/2' });
    expect(config.bus).toEqual({ adapter: 'rabbitmq', url: 'amqps://app:secret@mq.internal/prod', exchange: 'shop.events' });
    expect(config.queue).toEqual({ adapter: 'bullmq', url: 'rediss://user:pw@cache.internal:6380/2', prefix: 'shop' });
    expect(config.startTimeoutMs).toBe(1500);
  });

  it('ignores a malformed URL of a broker nobody uses', () => {
    expect(configFromEnv({ REDIS_URL: 'not a url', AMQP_URL: '::' }).queue).toEqual({ adapter: 'memory' });
  });

  it('names the variable and lists the valid values for an unknown adapter', () => {
    expect(configError(() => configFromEnv({ EVENTS_PUBSUB: 'kafka' })).message).toBe(
      'EVENTS_PUBSUB="kafka" is not a known adapter; valid values: memory, redis (unset means memory)',
    );
    expect(configError(() => configFromEnv({ EVENTS_BUS: 'redis' })).message).toContain('EVENTS_BUS="redis" is not a known adapter; valid values: memory, rabbitmq');
    expect(configError(() => configFromEnv({ EVENTS_QUEUE: 'sqs' })).message).toContain('EVENTS_QUEUE="sqs" is not a known adapter; valid values: memory, bullmq');
  });

  it('names the variable and the expected form for a malformed REDIS_URL', () => {
    const error = configError(() => configFromEnv({ EVENTS_QUEUE: 'bullmq', REDIS_URL: 'localhost:6379' }));
    expect(error.message).toMatch(/^REDIS_URL is malformed \(scheme "localhost" in "localhost:6379" is not redis or rediss\); expected redis:\/\/\[user:password@\]host\[:port\]/);
    expect(configError(() => configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_URL: 'redis://:6379' })).message).toMatch(
      /^REDIS_URL is malformed \("redis:\/\/:6379" is not a URL\); expected redis:\/\//,
    );
    expect(configError(() => configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_URL: 'redis://' })).message).toMatch(/^REDIS_URL is malformed \(no host in "redis:\/\/"\)/);
  });

  it('names AMQP_URL and the amqp form for a malformed RabbitMQ URL, without printing the password', () => {
    const error = configError(() => configFromEnv({ EVENTS_BUS: 'rabbitmq', AMQP_URL: 'http://guest:hunter2@127.0.0.1:5672' }));
    expect(error.message).toContain('AMQP_URL is malformed (scheme "http"');
    expect(error.message).toContain('expected amqp://[user:password@]host[:port][/vhost]');
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects a start timeout that is not a positive whole number', () => {
    for (const value of ['0', '-5', 'soon', '1.5']) {
      expect(configError(() => configFromEnv({ EVENTS_START_TIMEOUT_MS: value })).message).toContain(
        `EVENTS_START_TIMEOUT_MS must be a positive whole number of milliseconds (got "${value}")`,
      );
    }
  });
});

describe('resolveConfig (config object)', () => {
  it('fills memory defaults', () => {
    expect(resolveConfig({})).toMatchObject({ pubsub: { adapter: 'memory' }, bus: { adapter: 'memory' }, queue: { adapter: 'memory' } });
  });

  it('names the config path for an unknown adapter', () => {
    const bad = { bus: { adapter: 'kafka' } } as unknown as PlatformConfig;
    expect(configError(() => resolveConfig(bad)).message).toBe('config.bus.adapter: "kafka" is not a known bus adapter; valid values: memory, rabbitmq');
  });

  it('names the config path for a malformed URL', () => {
    expect(configError(() => resolveConfig({ queue: { adapter: 'bullmq', url: 'amqp://127.0.0.1' } })).message).toMatch(
      /^config\.queue\.url is malformed \(scheme "amqp" .* is not redis or rediss\); expected redis:\/\//,
    );
    const missing = { pubsub: { adapter: 'redis' } } as unknown as PlatformConfig;
    expect(configError(() => resolveConfig(missing)).message).toMatch(/^config\.pubsub\.url is malformed \(got undefined undefined\)/);
  });

  it('rejects a tier that is not an object, a bad prefix and a bad timeout', () => {
    expect(configError(() => resolveConfig({ pubsub: 'redis' } as unknown as PlatformConfig)).message).toContain(
      "config.pubsub must be an object like { adapter: 'memory' | 'redis' }",
    );
    expect(configError(() => resolveConfig({ queue: { adapter: 'bullmq', url: 'redis://h', prefix: 'a b' } })).message).toBe(
      'config.queue.prefix must be 1-100 letters, digits or _.:- (got "a b")',
    );
    expect(configError(() => configFromEnv({ EVENTS_BUS: 'rabbitmq', EVENTS_BUS_EXCHANGE: 'my exchange' })).message).toBe(
      'EVENTS_BUS_EXCHANGE must be 1-100 letters, digits or _.:- (got "my exchange")',
    );
    expect(configError(() => resolveConfig({ startTimeoutMs: -1 })).message).toContain('config.startTimeoutMs must be a positive number');
  });
});

describe('redactUrl', () => {
  it('hides the password only', () => {
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('the PostgreSQL queue, the AMQP_URL alias and the namespace', () => {
  it('reads EVENTS_QUEUE=postgres with DATABASE_URL, migrations off unless asked', () => {
    const config = configFromEnv({ EVENTS_QUEUE: 'postgres', DATABASE_URL: 'postgres://app:pw@db:5432/app', EVENTS_QUEUE_MIGRATE: 'true' });
    expect(config.queue).toEqual({ adapter: 'postgres', url: 'postgres://app:pw@db:5432/app', migrate: true });
    expect(config.sources.queueUrl).toBe('DATABASE_URL');
    expect(configFromEnv({ EVENTS_QUEUE: 'postgres' }).queue).toMatchObject({ migrate: false, url: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(configError(() => configFromEnv({ EVENTS_QUEUE: 'postgres', DATABASE_URL: 'redis://x' })).message).toMatch(/^DATABASE_URL is malformed/);
    expect(configError(() => configFromEnv({ EVENTS_QUEUE: 'postgres', EVENTS_QUEUE_MIGRATE: 'yes please' })).message).toMatch(/^EVENTS_QUEUE_MIGRATE must be true or false/);
  });

  it('takes RABBITMQ_URL when AMQP_URL is unset, and names it in errors', () => {
    const config = configFromEnv({ EVENTS_BUS: 'rabbitmq', RABBITMQ_URL: 'amqp://u:p@rabbit:5672' });
    expect(config.bus).toMatchObject({ url: 'amqp://u:p@rabbit:5672' });
    expect(config.sources.busUrl).toBe('RABBITMQ_URL');
    expect(configFromEnv({ EVENTS_BUS: 'rabbitmq', RABBITMQ_URL: 'amqp://a', AMQP_URL: 'amqp://b' }).bus).toMatchObject({ url: 'amqp://b' });
  });

  it('keeps a namespace, checked like the other names', () => {
    expect(configFromEnv({ EVENTS_NAMESPACE: 'demo' }).namespace).toBe('demo');
    expect(configError(() => configFromEnv({ EVENTS_NAMESPACE: 'a b' })).message).toBe('EVENTS_NAMESPACE must be 1-100 letters, digits or _.:- (got "a b")');
  });

  it('never prints the password of a URL it cannot parse', () => {
    const message = configError(() => configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_URL: 'redis://:hunter2@bad host:6379' })).message;
    expect(message).not.toContain('hunter2');
  });
});

describe('a Redis Cluster (REDIS_CLUSTER_NODES, config.redisCluster)', () => {
  it('reads the nodes; pubsub uses the cluster, its url becomes the first node for the start probe', () => {
    const config = configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b.internal:7001,[::1]:7002 ' });
    const nodes = ['10.0.0.1:7000', 'redis-b.internal:7001', '[::1]:7002'];
    expect(config.redisCluster).toEqual({ nodes });
    expect(config.pubsub).toEqual({ adapter: 'redis', url: 'redis://10.0.0.1:7000', cluster: { nodes } });
    expect(config.sources.pubsubUrl).toBe('REDIS_CLUSTER_NODES');
  });

  it('keeps the nodes for the other tiers even when pubsub is memory, and reads EVENTS_PUBSUB_SHARDED', () => {
    expect(configFromEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toMatchObject({ pubsub: { adapter: 'memory' }, redisCluster: { nodes: ['127.0.0.1:7000'] } });
    expect(configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_PUBSUB_SHARDED: 'true', REDIS_CLUSTER_NODES: 'h:7000' }).pubsub).toMatchObject({ sharded: true });
    expect(configFromEnv({ EVENTS_PUBSUB: 'redis', EVENTS_PUBSUB_SHARDED: '0' }).pubsub).toEqual({ adapter: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(configError(() => configFromEnv({ EVENTS_PUBSUB_SHARDED: 'yes' })).message).toBe('EVENTS_PUBSUB_SHARDED must be true or false (got "yes")');
  });

  it('names the variable and the form for a malformed node list, without printing a password', () => {
    const form = 'expected host:port,host:port,... (one or more nodes of the cluster)';
    for (const [value, problem] of [
      ['127.0.0.1', '"127.0.0.1" is not host:port'],
      ['127.0.0.1:7000,,127.0.0.1:7001', '"" is not host:port'],
      ['h:0', 'bad port in "h:0"'],
      ['h:70000', 'bad port in "h:70000"'],
      ['redis://:hunter2@h:7000', '"redis://:***@h:7000" is a URL, not host:port'],
    ] as const) {
      const message = configError(() => configFromEnv({ REDIS_CLUSTER_NODES: value })).message;
      expect(message).toContain(`REDIS_CLUSTER_NODES is malformed (${problem}); ${form}`);
      expect(message).not.toContain('hunter2');
    }
  });

  it('refuses a tier URL with credentials or TLS on a cluster instead of dropping them (plain, unauthenticated talk)', () => {
    for (const url of ['redis://:hunter2@redis.internal:6379', 'redis://app:hunter2@redis.internal:6379', 'rediss://redis.internal:6380']) {
      for (const tier of ['EVENTS_PUBSUB', 'EVENTS_QUEUE'] as const) {
        const other = tier === 'EVENTS_PUBSUB' ? 'EVENTS_QUEUE' : 'EVENTS_PUBSUB';
        const message = configError(() => configFromEnv({ [tier]: tier === 'EVENTS_PUBSUB' ? 'redis' : 'bullmq', [other]: 'memory', REDIS_URL: url, REDIS_CLUSTER_NODES: '10.0.0.1:7000' })).message;
        expect(message).toContain('carries credentials or TLS, which a Redis Cluster set by REDIS_CLUSTER_NODES would not use');
        expect(message).not.toContain('hunter2');
      }
    }
    expect(configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_URL: 'redis://redis.internal:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000' }).pubsub).toMatchObject({ url: 'redis://10.0.0.1:7000' });
  });

  it('takes the cluster from the config object, top level or pubsub own', () => {
    const top = resolveConfig({ pubsub: { adapter: 'redis', url: 'redis://ignored:1' }, redisCluster: { nodes: ['a:1', 'b:2'] } });
    expect(top.pubsub).toEqual({ adapter: 'redis', url: 'redis://a:1', cluster: { nodes: ['a:1', 'b:2'] } });
    expect(top.sources.pubsubUrl).toBe('config.redisCluster.nodes');
    const own = resolveConfig({ pubsub: { adapter: 'redis', url: 'redis://x:1', cluster: { nodes: ['c:3'] }, sharded: true } });
    expect(own.pubsub).toEqual({ adapter: 'redis', url: 'redis://c:3', cluster: { nodes: ['c:3'] }, sharded: true });
    expect(own.redisCluster).toBeUndefined();
    expect(configError(() => resolveConfig({ redisCluster: { nodes: [] } })).message).toMatch(/^config\.redisCluster\.nodes must list 1 to 100 nodes \(got an array\)/);
    const bad = { pubsub: { adapter: 'redis', url: 'redis://x', sharded: 'yes' } } as unknown as PlatformConfig;
    expect(configError(() => resolveConfig(bad)).message).toBe('config.pubsub.sharded must be true or false (got "yes")');
  });

  it('gives the bullmq queue the cluster (env or its own), its url becoming the first node', () => {
    const env = configFromEnv({ EVENTS_QUEUE: 'bullmq', EVENTS_QUEUE_PREFIX: 'app', REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' });
    expect(env.queue).toEqual({ adapter: 'bullmq', url: 'redis://10.0.0.1:7000', prefix: 'app', cluster: { nodes: ['10.0.0.1:7000', '10.0.0.2:7001'] } });
    expect(env.sources.queueUrl).toBe('REDIS_CLUSTER_NODES');
    const own = resolveConfig({ queue: { adapter: 'bullmq', url: 'redis://x:1', cluster: { nodes: ['c:3'] } } });
    expect(own.queue).toEqual({ adapter: 'bullmq', url: 'redis://c:3', cluster: { nodes: ['c:3'] } });
    expect(own.sources.queueUrl).toBe('config.queue.cluster.nodes');
    expect(configError(() => resolveConfig({ queue: { adapter: 'bullmq', url: 'redis://x:1', cluster: { nodes: ['x'] } } })).message).toMatch(/^config\.queue\.cluster\.nodes is malformed/);
    expect(configFromEnv({ EVENTS_QUEUE: 'postgres', REDIS_CLUSTER_NODES: 'h:7000' }).queue).not.toHaveProperty('cluster');
  });
});

describe('REDIS_CLUSTER_NODES against any input', () => {
  it('is either a node list of host:port entries or a ConfigError naming the variable, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.oneof(fc.domain(), fc.ipV4(), fc.string()).chain((h) => fc.tuple(fc.constant(h), fc.integer({ min: -1, max: 70_000 }))).map(([h, p]) => `${h}:${p}`)).map((a) => a.join(','))), (text) => {
        let result: ReturnType<typeof configFromEnv> | undefined;
        try {
          result = configFromEnv({ EVENTS_PUBSUB: 'redis', REDIS_CLUSTER_NODES: text });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).message).toMatch(/^REDIS_CLUSTER_NODES /);
          return;
        }
        if (text.trim() === '') {
          expect(result.redisCluster).toBeUndefined();
          return;
        }
        for (const node of result.redisCluster!.nodes) {
          const port = Number(node.slice(node.lastIndexOf(':') + 1));
          expect(port >= 1 && port <= 65_535).toBe(true);
        }
        expect(result.pubsub).toMatchObject({ url: `redis://${result.redisCluster!.nodes[0]}` });
      }),
    );
  });
});
