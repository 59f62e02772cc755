/** Helpers shared by the workspaces' test suites. Imported from TypeScript source; there is no build. */
export { AMQP_CLUSTER_URLS, AMQP_URL, DATABASE_URL, REDIS_CLUSTER_NODES, REDIS_URL, RABBITMQ_URL } from './brokers.js';
export { CHROMIUM } from './chromium.js';
export { randomId } from './ids.js';
export { closedPort } from './ports.js';
export { runStrict, spawnTs, type SpawnedTs, type SpawnTsOptions } from './spawn.js';
export { rawHttp } from './raw-http.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export { deferred, delay, waitFor, type Deferred } from './wait.js';
export { dropSchema, randomSchema, sql } from './postgres.js';
export { inMemoryTracing, type InMemoryTracing } from './tracing.js';
export { inMemoryMetrics, metricNamed, type InMemoryMetrics } from './metrics.js';
export { hostileThrown } from './hostile.js';
