/**
 * PubSub in memory: `pubsub.broadcast` -> subscribers, beside raw eventemitter3 `emit` -> listeners.
 * Two baselines, as for the bus: bare (listeners get the emitter's object) faces our zero-copy
 * mode; "+ JSON round trip" (the listeners of one emit share one `JSON.parse(JSON.stringify(...))`
 * of it, as the handlers of one node share the copy a broker hands over) faces our default mode,
 * which copies. The handler reads the stamp in every row.
 */
import { EventEmitter } from 'eventemitter3';
import { makePayload, sizeLabel, stampOf } from '../payload.js';
import type { RowContext, RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';

export const PUBSUB_MEMORY_CHANNEL = 'user:42:notifications';

async function rawEmit(ctx: RowContext, size: number, subscribers: number, json: boolean): Promise<PhaseResult> {
  const emitter = new EventEmitter();
  for (let s = 0; s < subscribers; s += 1) emitter.on(PUBSUB_MEMORY_CHANNEL, (message: unknown) => ctx.rec.hit(stampOf(message)));
  try {
    return await ctx.measure({
      fanout: subscribers,
      complete: 'delivery',
      send: (stamp, i) => {
        const payload = makePayload(size, stamp, i);
        emitter.emit(PUBSUB_MEMORY_CHANNEL, json ? JSON.parse(JSON.stringify(payload)) : payload);
      },
    });
  } finally {
    emitter.removeAllListeners();
  }
}

export type PubSubMemoryRunner = (ctx: RowContext, size: number, subscribers: number) => Promise<PhaseResult>;

/** `copy`: the row copies each message as a broker would (raw + JSON, ours by default) or not (bare raw, ours zero-copy). */
export function pubsubMemoryRows(impl: 'ours' | 'raw', run: PubSubMemoryRunner, copy: boolean): RowDef[] {
  const cells: Array<{ size: number; subscribers: number }> = [
    { size: 100, subscribers: 1 },
    { size: 10_240, subscribers: 1 },
    { size: 100, subscribers: 10 },
    { size: 100, subscribers: 100 },
  ];
  return cells.map(({ size, subscribers }) => {
    const slug = subscribers === 1 ? 'broadcast' : `subscribers-${subscribers}`;
    const variant = impl === 'ours' ? (copy ? 'ours' : 'ours-zero-copy') : copy ? 'raw+json' : 'raw';
    const what = impl === 'ours' ? (copy ? 'default: one copy per node' : "zeroCopy: the sender's object") : copy ? 'eventemitter3 + JSON round trip' : 'eventemitter3';
    return {
      id: `pubsub/memory/${variant}/${slug}/${sizeLabel(size)}`,
      tier: 'pubsub',
      transport: 'memory',
      impl,
      scenario: `${subscribers === 1 ? 'broadcast -> 1 subscriber' : `scaling: ${subscribers} subscribers`}; ${what}`,
      payloadBytes: size,
      pair: `pubsub/memory/${slug}/${size}${copy ? '/copy' : ''}`,
      fanout: subscribers,
      target: impl === 'ours' ? (copy ? 0.8 : 0.5) : undefined,
      run: (ctx) => run(ctx, size, subscribers),
    } satisfies RowDef;
  });
}

export const rawPubSubMemoryRows = [
  ...pubsubMemoryRows('raw', (ctx, size, subscribers) => rawEmit(ctx, size, subscribers, false), false),
  ...pubsubMemoryRows('raw', (ctx, size, subscribers) => rawEmit(ctx, size, subscribers, true), true),
];
