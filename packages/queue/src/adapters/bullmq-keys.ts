/**
 * Where the BullMQ adapter's keys live. On one Redis: BullMQ's own layout, `<prefix>:<name>:...`
 * per job name, and the dead letters under `<prefix>:#dead-letters`. On a Redis Cluster every key
 * a Lua script or MULTI touches must hash to one slot (else CROSSSLOT), so names carry a hash tag:
 *
 *   BullMQ queue of job `sendEmail`  <prefix>:{<prefix>/sendEmail}:wait, ...:id, ...:events, ...
 *   dead letters                     <prefix>:{<prefix>/#dead-letters}, ...:t, ...:n:<name>
 *
 * One tag per job name (not one `{prefix}` for all): the queues of several job names spread over
 * the cluster's slots, and the same job name under two prefixes (two namespaces) lands on two
 * slots. A single queue still lives on one slot, so one hot job name is served by one primary:
 * BullMQ's scripts need all of a queue's keys together. `#` never appears in a job name, so the
 * dead-letter tag cannot meet a queue's.
 */
import { clusterSlot } from '@events/core';

export interface KeyLayout {
  readonly prefix: string;
  readonly cluster: boolean;
  /** BullMQ queue name of a job name (`:` is refused by BullMQ in queue names, so it is stored as `%3A`). */
  queueName(jobName: string): string;
  /** The hash of one job (BullMQ's `<prefix>:<queue>:<id>`). */
  jobKey(jobName: string, id: string): string;
  readonly deadLetters: DeadLetterKeys;
}

export interface DeadLetterKeys {
  /** hash: job id -> record JSON */
  readonly hash: string;
  /** zset: job id scored by failedAt (ms) */
  readonly byTime: string;
  /** zset per job name */
  byName(name: string): string;
}

const escapeName = (name: string): string => name.replaceAll(':', '%3A');

export function keyLayout(prefix: string, cluster: boolean): KeyLayout {
  const queueName = cluster ? (name: string) => escapeName(`{${prefix}/${name}}`) : escapeName;
  const base = cluster ? `${prefix}:{${prefix}/#dead-letters}` : `${prefix}:#dead-letters`;
  return {
    prefix,
    cluster,
    queueName,
    jobKey: (name, id) => `${prefix}:${queueName(name)}:${id}`,
    deadLetters: { hash: base, byTime: `${base}:t`, byName: (name) => `${base}:n:${name}` },
  };
}

/** The cluster slot of a key (what `CLUSTER KEYSLOT` answers): 0..16383. */
export function keySlot(key: string): number {
  return clusterSlot(key);
}
