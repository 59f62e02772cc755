/**
 * Durable enqueue (`bullmqQueue({ durableEnqueue: { replicas, timeoutMs } })`): after the add, the
 * adapter sends `WAIT replicas timeoutMs` on the very connection that carried the add (WAIT counts
 * the replicas that hold every write of that connection so far). Redis replication is
 * asynchronous: without WAIT, a primary that dies right after answering an add can take the job
 * with it, since the replica promoted in its place may not have received it yet.
 *
 * It narrows the window, it does not make Redis synchronous: a job confirmed this way is on at
 * least `replicas` replicas, so one failover cannot lose it (that is what the cluster fault test
 * measures), but WAIT neither fsyncs nor stops a replica that was not promoted from winning later.
 * When the confirmation does not come, the enqueue rejects with NotReplicatedError: the job may
 * still be stored (on the primary), so the caller retries with the same job id (BullMQ adds an
 * existing id once) or treats it as not confirmed.
 */
import { TimeoutError } from '@events/core';
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './bullmq-connection.js';
import { keySlot } from './bullmq-keys.js';

export interface DurableEnqueueOptions {
  /** Replicas that must hold the job before the enqueue resolves. Default: 1. */
  replicas?: number;
  /** Longest wait for them, after the add. Default: 1 000 ms. */
  timeoutMs?: number;
}

/** An enqueue whose jobs were stored on the primary but not confirmed on enough replicas in time. */
export class NotReplicatedError extends TimeoutError {
  /** Replicas that confirmed (from WAIT; 0 when WAIT could not run). */
  readonly acknowledged: number;
  readonly replicas: number;
  readonly jobIds: readonly string[];

  constructor(details: { what: string; jobIds: readonly string[]; replicas: number; acknowledged: number; timeoutMs: number; reason?: string }, options?: { cause?: unknown }) {
    super(details.what, details.timeoutMs);
    const ids = `${details.jobIds.slice(0, 3).join(', ')}${details.jobIds.length > 3 ? ', ...' : ''}`;
    this.message = `${details.what}: ${details.acknowledged} of ${details.replicas} replicas confirmed job ${ids} within ${details.timeoutMs} ms${details.reason ? ` (${details.reason})` : ''}; it may be stored on the primary only: retry with the same job id`;
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause });
    this.acknowledged = details.acknowledged;
    this.replicas = details.replicas;
    this.jobIds = details.jobIds;
  }
}

/** The connection that serves `key`: the slot's primary on a cluster, the client itself on one Redis. */
export function connectionFor(client: RedisClient, key: string): { node: Redis; owner: string } | undefined {
  const cluster = client as Cluster;
  if (cluster.isCluster !== true) return { node: client as Redis, owner: 'single' };
  const owner = cluster.slots[keySlot(key)]?.[0];
  if (owner === undefined) return undefined;
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  return node ? { node, owner } : undefined;
}

export interface Replicate {
  readonly client: RedisClient;
  /** Any key of the queue (its slot decides the primary). */
  readonly key: string;
  readonly jobIds: readonly string[];
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * Runs `add`, then WAITs for the replicas on the connection that carried it. The primary is read
 * before the add; if the slot moved to another primary meanwhile (a failover), WAIT there would
 * count the wrong connection's writes, so the add is reported as not confirmed.
 */
export async function addReplicated<T>(r: Replicate, add: () => Promise<T>): Promise<T> {
  const what = `durable enqueue (WAIT ${r.replicas} ${r.timeoutMs})`;
  const before = connectionFor(r.client, r.key);
  const result = await add();
  const after = connectionFor(r.client, r.key);
  const fail = (acknowledged: number, reason?: string, cause?: unknown): NotReplicatedError =>
    new NotReplicatedError({ what, jobIds: r.jobIds, replicas: r.replicas, acknowledged, timeoutMs: r.timeoutMs, ...(reason ? { reason } : {}) }, cause === undefined ? undefined : { cause });
  if (!before || !after || before.node !== after.node) throw fail(0, 'the slot changed primary during the add');
  let acknowledged: number;
  try {
    acknowledged = Number(await after.node.wait(r.replicas, r.timeoutMs));
  } catch (err) {
    throw fail(0, `WAIT failed: ${(err as Error).message}`, err);
  }
  if (acknowledged < r.replicas) throw fail(acknowledged);
  return result;
}
