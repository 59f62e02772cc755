/**
 * The RabbitMQ cluster of scripts/rabbitmq-cluster.sh as the cluster tests see it: which URL is
 * which node, who leads a quorum queue, and killing and restarting a node through the script
 * (so the tests and users share one way to do it).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AMQP_CLUSTER_URLS } from '@events/testing';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/rabbitmq-cluster.sh', import.meta.url));

/** Node number (1-3) of an AMQP URL of the cluster: the script puts node N on port 5680 + N. */
export function nodeOf(url: string): number {
  const n = Number(new URL(url).port) - 5680;
  if (![1, 2, 3].includes(n)) throw new Error(`${url} is not a node of scripts/rabbitmq-cluster.sh (ports 5681-5683)`);
  return n;
}

/** The cluster's URLs, node `first` first, then the others in order (where a client connects first). */
export function urlsFrom(first: number): string[] {
  const i = AMQP_CLUSTER_URLS.findIndex((u) => nodeOf(u) === first);
  if (i === -1) throw new Error(`node ${first} is not in AMQP_CLUSTER_URLS (${AMQP_CLUSTER_URLS.join(', ')})`);
  return [...AMQP_CLUSTER_URLS.slice(i), ...AMQP_CLUSTER_URLS.slice(0, i)];
}

export function urlOf(node: number): string {
  return urlsFrom(node)[0]!;
}

export async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 150_000 });
  return stdout;
}

export interface QuorumQueueInfo {
  readonly name: string;
  readonly leader: number;
  readonly members: number[];
  readonly online: number[];
}

const NODE_NAME = /^events-rmq-(\d)@localhost$/;
function nodeNumber(name: string): number {
  const m = NODE_NAME.exec(name);
  if (!m) throw new Error(`unexpected node name ${name}`);
  return Number(m[1]);
}

/** Quorum queues of the cluster (leader, members, online members), asked of the first live node. */
export async function quorumQueues(except: readonly number[] = []): Promise<Map<string, QuorumQueueInfo>> {
  const failures: string[] = [];
  for (const url of AMQP_CLUSTER_URLS) {
    const node = nodeOf(url);
    if (except.includes(node)) continue;
    try {
      const json = await cluster('ctl', String(node), '-q', 'list_queues', 'name', 'type', 'leader', 'members', 'online', '--formatter', 'json');
      const rows = JSON.parse(json) as Array<{ name: string; type: string; leader: string; members: string[]; online: string[] }>;
      return new Map(rows.filter((r) => r.type === 'quorum').map((r) => [r.name, { name: r.name, leader: nodeNumber(r.leader), members: r.members.map(nodeNumber), online: r.online.map(nodeNumber) }]));
    } catch (error) {
      failures.push(`node ${node}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no live node answered list_queues: ${failures.join('; ')}`);
}
