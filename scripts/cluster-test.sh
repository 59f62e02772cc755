#!/usr/bin/env bash
# `npm run test:cluster`: start a Redis Cluster (ports 7000-7005) and a 3-node RabbitMQ cluster
# (AMQP 5681-5683), run the cluster suites against them, and tear both down whatever happens.
# The shared Redis (6379) and RabbitMQ (5672) are left alone. KEEP_CLUSTERS=1 leaves them running.
# Extra arguments go to vitest (a file filter, say).
set -euo pipefail
cd "$(dirname "$0")/.."

teardown() {
  if [ "${KEEP_CLUSTERS:-0}" != 1 ]; then
    bash scripts/redis-cluster.sh down || true
    bash scripts/rabbitmq-cluster.sh down || true
  fi
}
trap teardown EXIT

start=$SECONDS
bash scripts/redis-cluster.sh up
echo "Redis Cluster up in $((SECONDS - start)) s"
start=$SECONDS
bash scripts/rabbitmq-cluster.sh up
echo "RabbitMQ cluster up in $((SECONDS - start)) s"

npx vitest run --config vitest.cluster.config.ts "$@"
