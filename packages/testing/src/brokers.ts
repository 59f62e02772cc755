/**
 * The local brokers the integration tests run against; the environment may point elsewhere, with
 * the same variable names the platform reads (AMQP_URL; RABBITMQ_URL is kept as an alias).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.AMQP_URL ?? process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** @deprecated the same as AMQP_URL. */
export const RABBITMQ_URL = AMQP_URL;
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
