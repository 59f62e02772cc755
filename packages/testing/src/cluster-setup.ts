/**
 * vitest globalSetup of `npm run test:cluster`: both clusters must answer before any file runs, and
 * the topology the suites run against is printed (the closing figures quote it). The clusters are
 * started by scripts/cluster-test.sh (scripts/redis-cluster.sh, scripts/rabbitmq-cluster.sh).
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { AMQP_CLUSTER_URLS, REDIS_CLUSTER_NODES } from './brokers.js';

function redisCli(node: string, ...args: string[]): string {
  const [host, port] = node.split(':') as [string, string];
  return execFileSync('redis-cli', ['-h', host, '-p', port, ...args], { encoding: 'utf8', timeout: 5_000 });
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(3_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export default async function setup(): Promise<void> {
  const problems: string[] = [];
  const first = REDIS_CLUSTER_NODES[0];
  let topology = '';
  try {
    if (first === undefined) throw new Error('REDIS_CLUSTER_NODES is empty');
    const info = redisCli(first, 'cluster', 'info');
    if (!info.includes('cluster_state:ok')) throw new Error(`cluster_state is not ok:\n${info}`);
    topology = redisCli(first, 'cluster', 'nodes');
  } catch (error) {
    problems.push(`Redis Cluster (${REDIS_CLUSTER_NODES.join(',')}) is not ready: ${(error as Error).message}\n` +
      '  start it with: scripts/redis-cluster.sh up');
  }
  for (const url of AMQP_CLUSTER_URLS) {
    const { hostname, port } = new URL(url);
    if (!(await tcpAnswers(hostname, Number(port || 5672)))) {
      problems.push(`RabbitMQ cluster node ${hostname}:${port} does not answer\n  start it with: scripts/rabbitmq-cluster.sh up`);
    }
  }
  if (problems.length > 0) throw new Error(`The cluster suites need both clusters:\n${problems.join('\n')}`);
  process.stdout.write(`Redis Cluster topology (CLUSTER NODES):\n${topology}\nRabbitMQ cluster nodes: ${AMQP_CLUSTER_URLS.map((u) => new URL(u).host).join(', ')}\n`);
}
