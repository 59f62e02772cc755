/**
 * Bus on RabbitMQ: emit resolves on the publisher confirm; each group is a durable quorum queue
 * bound to a topic exchange, consumed with prefetch = concurrency and acked after the handler.
 * Raw amqplib does exactly that by hand (confirm channel, persistent messages, same prefetch, same
 * queue type, same delivery limit; no dead-letter exchange, which costs nothing until a message
 * fails). Every exchange and queue has a fresh name and is deleted afterwards.
 *
 * What differs, besides the envelope in the body: ours sets message_id, type, timestamp and a
 * header table (`x-causation-depth`, trace context when tracing) on every message, where raw sets
 * only delivery mode and content type; ours corks the connection's socket for a turn, so the
 * publishes and acks of one turn leave in one writev, where amqplib writes frame by frame.
 */
import { connect, type ChannelModel } from 'amqplib';
import { withTimeout } from '@events/core';
import { makePayload, sizeLabel, stampOf } from '../payload.js';
import { AMQP_URL } from '../resources.js';
import { uniqueName, type RowContext, type RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';
import { BUS_EVENT } from './bus-memory.js';

/** Prefetch per consumer, ours (`concurrency`) and raw (`channel.prefetch`). */
export const RABBIT_PREFETCH = 50;
/** The queue type ours declares by default; raw declares the same. */
export const RABBIT_QUEUE_TYPE = 'quorum';

/** Deletes exchanges and queues by name on a fresh connection (never anything else). */
export async function deleteRabbit(names: { exchanges: string[]; queues: string[] }): Promise<void> {
  const conn = await withTimeout(connect(AMQP_URL), 10_000, 'amqp connect for cleanup');
  try {
    const ch = await conn.createChannel();
    for (const q of names.queues) await ch.deleteQueue(q);
    for (const e of names.exchanges) await ch.deleteExchange(e);
    await ch.close();
  } finally {
    await conn.close();
  }
}

async function rawAmqp(ctx: RowContext, size: number, groups: number): Promise<PhaseResult> {
  const exchange = uniqueName('bench.bus');
  const queues = Array.from({ length: groups }, (_, g) => `${exchange}.group${g}`);
  let conn: ChannelModel | undefined;
  try {
    // One connection, a confirm channel to publish and a channel per consumer: as ours does.
    conn = await withTimeout(connect(AMQP_URL), 10_000, 'amqp connect');
    const pub = await conn.createConfirmChannel();
    await pub.assertExchange(exchange, 'topic', { durable: true });
    for (const queue of queues) {
      await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': RABBIT_QUEUE_TYPE, 'x-delivery-limit': 20 } });
      await pub.bindQueue(queue, exchange, BUS_EVENT);
      const ch = await conn.createChannel();
      await ch.prefetch(RABBIT_PREFETCH);
      const handler = async (payload: unknown): Promise<void> => {
        ctx.rec.hit(stampOf(payload));
      };
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        handler(JSON.parse(msg.content.toString())).then(
          () => ch.ack(msg),
          (error: unknown) => ctx.rec.fail(error),
        );
      });
    }
    let drained: Promise<void> | undefined;
    return await ctx.measure({
      fanout: groups,
      complete: 'delivery',
      send: async (stamp, i) => {
        if (drained) await drained;
        const content = Buffer.from(JSON.stringify(makePayload(size, stamp, i)));
        await new Promise<void>((resolve, reject) => {
          const flowing = pub.publish(exchange, BUS_EVENT, content, { persistent: true, contentType: 'application/json' }, (error) =>
            error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
          );
          if (!flowing && !drained) {
            drained = new Promise<void>((r) => pub.once('drain', () => r())).then(() => {
              drained = undefined;
            });
          }
        });
      },
    });
  } finally {
    await conn?.close().catch(() => undefined);
    await deleteRabbit({ exchanges: [exchange], queues });
  }
}

export type BusRabbitRunner = (ctx: RowContext, size: number, groups: number) => Promise<PhaseResult>;

export function busRabbitRows(impl: 'ours' | 'raw', run: BusRabbitRunner): RowDef[] {
  const cells = [
    { size: 100, groups: 1 },
    { size: 10_240, groups: 1 },
    { size: 100, groups: 10 },
  ];
  return cells.map(({ size, groups }) => {
    const slug = groups === 1 ? 'emit' : `groups-${groups}`;
    return {
      id: `bus/rabbitmq/${impl}/${slug}/${sizeLabel(size)}`,
      tier: 'bus',
      transport: 'rabbitmq',
      impl,
      scenario: groups === 1 ? `emit (confirmed) -> handler, prefetch ${RABBIT_PREFETCH}` : `scaling: ${groups} groups`,
      payloadBytes: size,
      pair: `bus/rabbitmq/${slug}/${size}`,
      broker: 'rabbitmq',
      fanout: groups,
      inflight: size > 1_000 ? 200 : 1_000,
      target: impl === 'ours' ? 0.9 : undefined,
      run: (ctx) => run(ctx, size, groups),
    } satisfies RowDef;
  });
}

export const rawBusRabbitRows = busRabbitRows('raw', rawAmqp);
