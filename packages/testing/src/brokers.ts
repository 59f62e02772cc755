/**
 * The local brokers the integration tests run against; the environment may point elsewhere, with
 * the same variable names the platform reads (AMQP_URL; RABBITMQ_URL is kept as an alias).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.AMQP_URL ?? process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** @deprecated the same as AMQP_URL. */
export const RABBITMQ_URL = AMQP_URL;
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The clusters of `npm run test:cluster`, started by scripts/redis-cluster.sh (ports 7000-7005 by
 * default) and scripts/rabbitmq-cluster.sh (AMQP ports 5681-5683).
 */
export const REDIS_CLUSTER_NODES = (
  process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005'
).split(',').map((s) => s.trim()).filter((s) => s !== '');
export const AMQP_CLUSTER_URLS = (
  process.env.AMQP_CLUSTER_URLS ??
  'amqp://guest:guest@127.0.0.1:5681,amqp://guest:guest@127.0.0.1:5682,amqp://guest:guest@127.0.0.1:5683'
).split(',').map((s) => s.trim()).filter((s) => s !== '');
