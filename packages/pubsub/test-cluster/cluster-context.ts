/**
 * The Redis Cluster of `REDIS_CLUSTER_NODES` (started by scripts/redis-cluster.sh) for the pubsub
 * cluster suites: PubSub nodes on it, its primaries in slot order (what `kill-primary N` numbers),
 * channel names that land on a chosen primary, and the script itself.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { ErrorHook } from '@events/core';
import { REDIS_CLUSTER_NODES } from '@events/testing';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { clusterSlot } from '@events/core';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
export const NODES = REDIS_CLUSTER_NODES;

export function clusterNode(options: { sharded: boolean; namespace: string; onError?: ErrorHook; name?: string }): PubSub {
  return createPubSub({
    adapter: redisPubSub({ cluster: { nodes: NODES }, sharded: options.sharded, ...(options.name ? { redisOptions: { connectionName: options.name } } : {}) }),
    namespace: options.namespace,
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

export interface Primary {
  readonly address: string;
  readonly ranges: Array<[number, number]>;
}

/** The primaries holding slots, ordered by their first slot (1-based as `kill-primary N`). */
export async function primaries(): Promise<Primary[]> {
  for (const node of NODES) {
    const cut = node.lastIndexOf(':');
    const redis = new Redis({ host: node.slice(0, cut), port: Number(node.slice(cut + 1)), lazyConnect: true, retryStrategy: () => null });
    try {
      await redis.connect();
      const slots = (await redis.cluster('SLOTS')) as unknown as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
      const byNode = new Map<string, Array<[number, number]>>();
      for (const [from, to, [host, port]] of slots) byNode.set(`${host}:${port}`, [...(byNode.get(`${host}:${port}`) ?? []), [from, to]]);
      return [...byNode].map(([address, ranges]) => ({ address, ranges })).sort((a, b) => Math.min(...a.ranges.map((r) => r[0])) - Math.min(...b.ranges.map((r) => r[0])));
    } catch {
      continue;
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`no node of ${NODES.join(',')} answers CLUSTER SLOTS`);
}

export function owner(list: readonly Primary[], channel: string): Primary {
  const slot = clusterSlot(channel);
  const found = list.find((p) => p.ranges.some(([from, to]) => slot >= from && slot <= to));
  if (!found) throw new Error(`no primary holds slot ${slot}`);
  return found;
}

/** A channel (without namespace) whose wire name `<namespace>:<channel>` lands on `primary`. */
export function channelOn(list: readonly Primary[], primary: Primary, name: { namespace: string; stem: string }): string {
  const { namespace, stem } = name;
  for (let i = 0; i < 100_000; i += 1) {
    const channel = `${stem}-${i}`;
    if (owner(list, `${namespace}:${channel}`).address === primary.address) return channel;
  }
  throw new Error(`no channel found on ${primary.address}`);
}

/** A connection to one node (admin commands: CLIENT LIST, PUBSUB SHARDNUMSUB). */
export function nodeClient(address: string): Redis {
  const cut = address.lastIndexOf(':');
  return new Redis({ host: address.slice(0, cut), port: Number(address.slice(cut + 1)), retryStrategy: () => null });
}

/** Runs scripts/redis-cluster.sh on the cluster of REDIS_CLUSTER_NODES (its base port is the lowest node port). */
export async function clusterScript(...args: string[]): Promise<string> {
  const base = Math.min(...NODES.map((n) => Number(n.slice(n.lastIndexOf(':') + 1))));
  const { stdout } = await promisify(execFile)('bash', ['scripts/redis-cluster.sh', ...args], {
    cwd: root,
    env: { ...process.env, REDIS_CLUSTER_BASE_PORT: String(base) },
    timeout: 90_000,
  });
  return stdout.trim();
}
