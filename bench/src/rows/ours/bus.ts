/** Our bus tier in the memory and RabbitMQ rows (raw baselines beside the row shapes). */
import { createBus, type Bus } from '@events/bus';
import { memoryBus } from '@events/bus/memory';
import { deleteRabbitMqBusTopology, rabbitmqBus } from '@events/bus/rabbitmq';
import { withTimeout } from '@events/core';
import { benchTracing } from '../../otel.js';
import { makePayload, stampOf, type BenchPayload } from '../../payload.js';
import { AMQP_URL } from '../../resources.js';
import { uniqueName, type RowContext } from '../../row.js';
import type { PhaseResult } from '../../driver.js';
import { BUS_CONCURRENCY, BUS_EVENT, busMemoryRows } from '../bus-memory.js';
import { busRabbitRows, RABBIT_PREFETCH, RABBIT_QUEUE_TYPE } from '../bus-rabbitmq.js';

type Events = { [BUS_EVENT]: BenchPayload };

async function subscribeGroups(ctx: RowContext, bus: Bus<Events>, groups: number, concurrency: number): Promise<void> {
  for (let g = 0; g < groups; g += 1) {
    await bus.on(
      BUS_EVENT,
      async (envelope) => {
        ctx.rec.hit(stampOf(envelope.payload));
      },
      { group: `group${g}`, concurrency, retry: false },
    );
  }
}

/** `zeroCopy` measures production settings: no freezing (that is for development). */
async function oursMemory(ctx: RowContext, size: number, groups: number, zeroCopy: boolean): Promise<PhaseResult> {
  const bus = createBus<Events>({ adapter: memoryBus({ zeroCopy, freeze: false }), onError: (event) => ctx.rec.fail(event.error), ...benchTracing() });
  try {
    await subscribeGroups(ctx, bus, groups, BUS_CONCURRENCY);
    return await ctx.measure({
      fanout: groups,
      complete: 'delivery',
      send: (stamp, i) => bus.emit(BUS_EVENT, makePayload(size, stamp, i)),
    });
  } finally {
    await bus.close({ force: true });
  }
}

async function oursRabbit(ctx: RowContext, size: number, groups: number): Promise<PhaseResult> {
  const exchange = uniqueName('bench.bus');
  const bus = createBus<Events>({
    adapter: rabbitmqBus({ url: AMQP_URL, exchange, queueType: RABBIT_QUEUE_TYPE }),
    onError: (event) => ctx.rec.fail(event.error),
    ...benchTracing(),
  });
  try {
    await withTimeout(bus.ready(), 15_000, 'bus rabbitmq ready');
    await subscribeGroups(ctx, bus, groups, RABBIT_PREFETCH);
    return await ctx.measure({
      fanout: groups,
      complete: 'delivery',
      send: (stamp, i) => bus.emit(BUS_EVENT, makePayload(size, stamp, i)),
    });
  } finally {
    await bus.close({ timeoutMs: 5_000 }).catch(() => undefined);
    // The bus knows its own queue names: no second copy of the naming scheme here.
    const subscriptions = Array.from({ length: groups }, (_, g) => ({ group: `group${g}`, pattern: BUS_EVENT }));
    await deleteRabbitMqBusTopology({ url: AMQP_URL, exchange, subscriptions });
  }
}

export const oursBusMemoryRows = [
  ...busMemoryRows('ours', (ctx, size, groups) => oursMemory(ctx, size, groups, true), false),
  ...busMemoryRows('ours', (ctx, size, groups) => oursMemory(ctx, size, groups, false), true),
];
export const oursBusRabbitRows = busRabbitRows('ours', oursRabbit);
