/**
 * The history and resume suite over the Redis Cluster, in sharded mode (XADD and SPUBLISH in one
 * script on the primary of the channel's slot) and classic mode, on nodes behind their own cuttable
 * proxies (proxied-nodes.ts), so `cut` is a real outage.
 */
import { Cluster } from 'ioredis';
import { historyConformance, type HistoryContext } from '../test/history-conformance.js';
import { NODES } from './cluster-context.js';
import { proxiedNodes } from './proxied-nodes.js';

function clusterHistoryContext(sharded: boolean): HistoryContext {
  const nodes = proxiedNodes();
  let raw: Cluster | undefined;
  return {
    globs: !sharded,
    async forge(channel, data, position) {
      raw ??= new Cluster(NODES.map((n) => ({ host: n.slice(0, n.lastIndexOf(':')), port: Number(n.slice(n.lastIndexOf(':') + 1)) })));
      const framed = Buffer.concat([Buffer.from(`\0h${position.offset}:${position.epoch}\n`, 'latin1'), data]);
      await (sharded ? raw.spublish(channel, framed) : raw.publish(channel, framed));
    },
    node: (settings) => nodes.node({ sharded, ...(settings ? { settings } : {}) }),
    cut: (node) => nodes.cut(node),
    restore: (node) => nodes.restore(node),
    async cleanup() {
      await nodes.cleanup();
      raw?.disconnect();
    },
  };
}

historyConformance('redis cluster (sharded)', async () => clusterHistoryContext(true));
historyConformance('redis cluster (classic)', async () => clusterHistoryContext(false));
