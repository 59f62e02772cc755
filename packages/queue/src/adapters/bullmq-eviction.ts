/**
 * The adapter's start check of `maxmemory-policy`: eviction silently loses jobs and locks, so any
 * policy but `noeviction` is refused (or only warned about, if asked). On a Redis Cluster every
 * node is asked, replicas too: a replica becomes a primary at the next failover.
 */
import { ConfigError } from '@events/core';
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './bullmq-connection.js';

export interface EvictionCheck {
  readonly mode: 'refuse' | 'warn';
  readonly warn: (message: string) => void;
}

async function policyOf(node: Redis | Cluster): Promise<string> {
  const reply = (await node.config('GET', 'maxmemory-policy')) as unknown;
  // One Redis answers [name, value]; a cluster client sent to one node answers the same.
  return String((reply as string[])[1]);
}

export async function checkEviction(client: RedisClient, check: EvictionCheck): Promise<void> {
  const cluster = client as Cluster;
  const nodes: Array<{ where: string; node: Redis | Cluster }> =
    cluster.isCluster === true ? cluster.nodes('all').map((node) => ({ where: `${node.options.host}:${node.options.port}`, node })) : [{ where: 'Redis', node: client }];
  const bad: string[] = [];
  for (const { where, node } of nodes) {
    let policy: string;
    try {
      policy = await policyOf(node);
    } catch (err) {
      check.warn(`cannot read maxmemory-policy of ${where} (${(err as Error).message}); make sure it is noeviction`);
      continue;
    }
    if (policy !== 'noeviction') bad.push(cluster.isCluster === true ? `${where} has "${policy}"` : `"${policy}"`);
  }
  if (bad.length === 0) return;
  const message =
    cluster.isCluster === true
      ? `Redis Cluster maxmemory-policy is not "noeviction" everywhere (${bad.join(', ')}): evictions silently lose jobs and locks`
      : `Redis maxmemory-policy is ${bad[0]}, not "noeviction": evictions silently lose jobs and locks`;
  if (check.mode === 'warn') check.warn(message);
  else throw new ConfigError(`${message}. Set it to noeviction, or pass evictionPolicy: 'warn'.`);
}
