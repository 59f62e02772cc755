/** Every row of the benchmark, in the order the table shows them: each ours row after its raw row. */
import type { RowDef } from '../row.js';
import { rawPubSubMemoryRows } from './pubsub-memory.js';
import { rawPubSubRedisRows } from './pubsub-redis.js';
import { rawPubSubWsRows } from './pubsub-ws.js';
import { rawBusMemoryRows } from './bus-memory.js';
import { rawBusRabbitRows } from './bus-rabbitmq.js';
import { rawQueueBullmqRows } from './queue-bullmq.js';
import { oursPubSubMemoryRows, oursPubSubRedisHistoryRows, oursPubSubRedisRows, oursPubSubWsRows } from './ours/pubsub.js';
import { oursBusMemoryRows, oursBusRabbitRows } from './ours/bus.js';
import { oursQueueBullmqRows, oursQueueMemoryRows } from './ours/queue.js';
import { oursQueuePostgresRows, oursQueueRedisExtraRows } from './queue-postgres.js';
import { peerQueueRows } from './peers/queue-pg.js';
import { twoNodeWsRows } from './peers/pubsub-2nodes.js';
import { scaleWsRows } from './scale-ws.js';
import { pubsubRequestRows } from './pubsub-request.js';
import { scaleChannelRows } from './scale-channels.js';
import { scaleQueueRows } from './scale-queue.js';

const ORDER = { raw: 0, ours: 1, peer: 2 } as const;

/** Groups rows by pair (in first-seen order): raw, then ours, then the peers. */
function interleave(...groups: RowDef[][]): RowDef[] {
  const all = groups.flat();
  const pairs = [...new Set(all.map((r) => r.pair))];
  return pairs.flatMap((pair) => all.filter((r) => r.pair === pair).sort((a, b) => ORDER[a.impl] - ORDER[b.impl]));
}

export const rows: RowDef[] = interleave(
  rawPubSubMemoryRows,
  oursPubSubMemoryRows,
  rawPubSubRedisRows,
  oursPubSubRedisRows,
  oursPubSubRedisHistoryRows,
  pubsubRequestRows,
  scaleChannelRows,
  rawPubSubWsRows,
  oursPubSubWsRows,
  twoNodeWsRows,
  rawBusMemoryRows,
  oursBusMemoryRows,
  rawBusRabbitRows,
  oursBusRabbitRows,
  oursQueueMemoryRows,
  rawQueueBullmqRows,
  oursQueueBullmqRows,
  oursQueueRedisExtraRows,
  oursQueuePostgresRows,
  peerQueueRows,
  scaleQueueRows,
  scaleWsRows,
);

export function findRow(id: string): RowDef | undefined {
  return rows.find((r) => r.id === id);
}
