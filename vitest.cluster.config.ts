import { defineConfig } from 'vitest/config';

// The cluster suites (`npm run test:cluster`): every tier against a real Redis Cluster and a real
// RabbitMQ cluster started by scripts/redis-cluster.sh and scripts/rabbitmq-cluster.sh. The files
// run one after another: a failover test kills a node the next file would otherwise be using.
const conditions = ['@events/source', 'node', 'import', 'default'];
const ssrConditions = conditions.filter((c) => c !== 'import');

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: ssrConditions, externalConditions: ['@events/source'] } },
  test: {
    include: ['packages/*/test-cluster/**/*.test.ts', 'apps/*/test-cluster/**/*.test.ts'],
    globalSetup: ['packages/testing/src/cluster-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
