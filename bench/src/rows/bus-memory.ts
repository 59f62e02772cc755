/**
 * Bus in memory: `bus.emit` -> async handlers of G consumer groups, beside raw eventemitter3 with
 * one p-queue per group (the same concurrency) running the async handler.
 */
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { makePayload, sizeLabel, stampOf, type BenchPayload } from '../payload.js';
import type { RowContext, RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';

export const BUS_EVENT = 'user.signedUp';
/** Handler invocations in flight per group, ours and raw (bus `concurrency`, p-queue `concurrency`). */
export const BUS_CONCURRENCY = 8;

async function rawEmitter(ctx: RowContext, size: number, groups: number): Promise<PhaseResult> {
  const emitter = new EventEmitter();
  const queues: PQueue[] = [];
  for (let g = 0; g < groups; g += 1) {
    const queue = new PQueue({ concurrency: BUS_CONCURRENCY });
    queues.push(queue);
    const handler = async (payload: BenchPayload): Promise<void> => {
      ctx.rec.hit(stampOf(payload));
    };
    emitter.on(BUS_EVENT, (payload: BenchPayload) => {
      queue.add(() => handler(payload)).catch((error: unknown) => ctx.rec.fail(error));
    });
  }
  try {
    return await ctx.measure({
      fanout: groups,
      complete: 'delivery',
      send: (stamp, i) => {
        emitter.emit(BUS_EVENT, makePayload(size, stamp, i));
      },
    });
  } finally {
    emitter.removeAllListeners();
    for (const q of queues) q.clear();
  }
}

export type BusMemoryRunner = (ctx: RowContext, size: number, groups: number) => Promise<PhaseResult>;

export function busMemoryRows(impl: 'ours' | 'raw', run: BusMemoryRunner): RowDef[] {
  const cells = [
    { size: 100, groups: 1 },
    { size: 10_240, groups: 1 },
    { size: 100, groups: 10 },
    { size: 100, groups: 100 },
  ];
  return cells.map(({ size, groups }) => {
    const slug = groups === 1 ? 'emit' : `groups-${groups}`;
    return {
      id: `bus/memory/${impl}/${slug}/${sizeLabel(size)}`,
      tier: 'bus',
      transport: 'memory',
      impl,
      scenario: groups === 1 ? `emit -> async handler (concurrency ${BUS_CONCURRENCY})` : `scaling: ${groups} groups`,
      payloadBytes: size,
      pair: `bus/memory/${slug}/${size}`,
      fanout: groups,
      target: impl === 'ours' ? 0.5 : undefined,
      run: (ctx) => run(ctx, size, groups),
    } satisfies RowDef;
  });
}

export const rawBusMemoryRows = busMemoryRows('raw', rawEmitter);
