/**
 * Helpers of the queue's cluster suites: the Redis Cluster of `REDIS_CLUSTER_NODES` (started by
 * scripts/redis-cluster.sh), its primaries by slot range, and key clean-up node by node (a
 * multi-key DEL across slots would be a CROSSSLOT error).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { REDIS_CLUSTER_NODES } from '@events/testing';

export const root = fileURLToPath(new URL('../../..', import.meta.url));

export function seeds(): Array<{ host: string; port: number }> {
  return REDIS_CLUSTER_NODES.map((n) => ({ host: n.slice(0, n.lastIndexOf(':')), port: Number(n.slice(n.lastIndexOf(':') + 1)) }));
}

/** A cluster client for the test's own reads; its errors while a node is down are expected. */
export function clusterClient(): Cluster {
  const cluster = new Cluster(seeds());
  cluster.on('error', () => undefined);
  return cluster;
}

export interface Primary {
  readonly address: string;
  readonly from: number;
  readonly to: number;
}

/** The primaries holding slots, in slot order (what `redis-cluster.sh kill-primary N` numbers 1..3), as the first live seed sees them. */
export async function primaries(): Promise<Primary[]> {
  let last: unknown;
  for (const s of seeds()) {
    const redis = new Redis({ host: s.host, port: s.port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const slots = await redis.cluster('SLOTS');
      return slots.map(([from, to, primary]) => ({ address: `${primary![0]}:${primary![1]}`, from, to })).sort((a, b) => a.from - b.from);
    } catch (err) {
      last = err;
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`no seed of ${REDIS_CLUSTER_NODES.join(',')} answers CLUSTER SLOTS`, { cause: last });
}

/** 1-based number of the primary holding `slot` (merged ranges of one node count once). */
export function primaryNumber(list: readonly Primary[], slot: number): number {
  const order = [...new Set(list.map((p) => p.address))];
  const owner = list.find((p) => slot >= p.from && slot <= p.to);
  if (!owner) throw new Error(`no primary holds slot ${slot}`);
  return order.indexOf(owner.address) + 1;
}

/** Runs scripts/redis-cluster.sh on the cluster of REDIS_CLUSTER_NODES (its base port is the lowest node port). */
export async function clusterScript(...args: string[]): Promise<string> {
  const base = Math.min(...seeds().map((s) => s.port));
  const { stdout } = await promisify(execFile)('bash', ['scripts/redis-cluster.sh', ...args], {
    cwd: root,
    env: { ...process.env, REDIS_CLUSTER_BASE_PORT: String(base) },
    timeout: 90_000,
  });
  return stdout.trim();
}

/** Every key under `prefix:` on every primary. */
export async function keysUnder(cluster: Cluster, prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      all.push(...keys);
    } while (cursor !== '0');
  }
  return all;
}

/** Deletes every key under `prefix:` (one UNLINK per key, routed by the cluster client). */
export async function deleteUnder(cluster: Cluster, prefix: string): Promise<void> {
  const keys = await keysUnder(cluster, prefix);
  for (let i = 0; i < keys.length; i += 500) {
    await Promise.all(keys.slice(i, i + 500).map((k) => cluster.unlink(k)));
  }
}
