/**
 * PubSub in memory: `pubsub.broadcast` -> subscribers, beside raw eventemitter3 `emit` -> listeners.
 * Raw passes the payload object by reference; the handler reads the stamp in both.
 */
import { EventEmitter } from 'eventemitter3';
import { makePayload, sizeLabel, stampOf } from '../payload.js';
import type { RowContext, RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';

const CHANNEL = 'user:42:notifications';

async function rawEmit(ctx: RowContext, size: number, subscribers: number): Promise<PhaseResult> {
  const emitter = new EventEmitter();
  for (let s = 0; s < subscribers; s += 1) emitter.on(CHANNEL, (message: unknown) => ctx.rec.hit(stampOf(message)));
  try {
    return await ctx.measure({
      fanout: subscribers,
      complete: 'delivery',
      send: (stamp, i) => {
        emitter.emit(CHANNEL, makePayload(size, stamp, i));
      },
    });
  } finally {
    emitter.removeAllListeners();
  }
}

export type PubSubMemoryRunner = (ctx: RowContext, size: number, subscribers: number) => Promise<PhaseResult>;

export function pubsubMemoryRows(impl: 'ours' | 'raw', run: PubSubMemoryRunner): RowDef[] {
  const cells: Array<{ size: number; subscribers: number }> = [
    { size: 100, subscribers: 1 },
    { size: 10_240, subscribers: 1 },
    { size: 100, subscribers: 10 },
    { size: 100, subscribers: 100 },
  ];
  return cells.map(({ size, subscribers }) => {
    const scenario = subscribers === 1 ? 'broadcast -> 1 subscriber' : `scaling: ${subscribers} subscribers`;
    const slug = subscribers === 1 ? 'broadcast' : `subscribers-${subscribers}`;
    return {
      id: `pubsub/memory/${impl}/${slug}/${sizeLabel(size)}`,
      tier: 'pubsub',
      transport: 'memory',
      impl,
      scenario,
      payloadBytes: size,
      pair: `pubsub/memory/${slug}/${size}`,
      fanout: subscribers,
      target: impl === 'ours' ? 0.5 : undefined,
      run: (ctx) => run(ctx, size, subscribers),
    } satisfies RowDef;
  });
}

export const rawPubSubMemoryRows = pubsubMemoryRows('raw', rawEmit);
