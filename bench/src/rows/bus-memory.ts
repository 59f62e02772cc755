/**
 * Bus in memory: `bus.emit` -> async handlers of G consumer groups, beside raw eventemitter3 with
 * one p-queue per group (the same concurrency) running the async handler. Two baselines: bare
 * (handlers get the emitter's object) faces our zero-copy mode; "+ JSON" (each group's handler gets
 * a JSON round trip of it, as a broker would hand it over) faces our default mode, which copies.
 */
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { makePayload, sizeLabel, stampOf, type BenchPayload } from '../payload.js';
import type { RowContext, RowDef } from '../row.js';
import type { PhaseResult } from '../driver.js';

export const BUS_EVENT = 'user.signedUp';
/** Handler invocations in flight per group, ours and raw (bus `concurrency`, p-queue `concurrency`). */
export const BUS_CONCURRENCY = 8;

async function rawEmitter(ctx: RowContext, size: number, groups: number, json = false): Promise<PhaseResult> {
  const emitter = new EventEmitter();
  const queues: PQueue[] = [];
  for (let g = 0; g < groups; g += 1) {
    const queue = new PQueue({ concurrency: BUS_CONCURRENCY });
    queues.push(queue);
    const handler = async (payload: BenchPayload): Promise<void> => {
      ctx.rec.hit(stampOf(payload));
    };
    emitter.on(BUS_EVENT, (payload: BenchPayload | string) => {
      const own = typeof payload === 'string' ? (JSON.parse(payload) as BenchPayload) : payload;
      queue.add(() => handler(own)).catch((error: unknown) => ctx.rec.fail(error));
    });
  }
  try {
    return await ctx.measure({
      fanout: groups,
      complete: 'delivery',
      send: (stamp, i) => {
        // Encoded once per event, decoded per group (a broker's copy per queue).
        const payload = makePayload(size, stamp, i);
        emitter.emit(BUS_EVENT, json ? JSON.stringify(payload) : payload);
      },
    });
  } finally {
    emitter.removeAllListeners();
    for (const q of queues) q.clear();
  }
}

export type BusMemoryRunner = (ctx: RowContext, size: number, groups: number) => Promise<PhaseResult>;

/** `copy`: the row copies each message as a broker would (raw + JSON, ours by default) or not (bare raw, ours zero-copy). */
export function busMemoryRows(impl: 'ours' | 'raw', run: BusMemoryRunner, copy: boolean): RowDef[] {
  const cells = [
    { size: 100, groups: 1 },
    { size: 10_240, groups: 1 },
    { size: 100, groups: 10 },
    { size: 100, groups: 100 },
  ];
  return cells.map(({ size, groups }) => {
    const slug = groups === 1 ? 'emit' : `groups-${groups}`;
    const variant = impl === 'ours' ? (copy ? 'ours' : 'ours-zero-copy') : copy ? 'raw+json' : 'raw';
    const what = impl === 'ours' ? (copy ? 'default: a copy per group' : 'zeroCopy: the sender\'s object') : copy ? 'eventemitter3 + JSON round trip + p-queue' : 'eventemitter3 + p-queue';
    return {
      id: `bus/memory/${variant}/${slug}/${sizeLabel(size)}`,
      tier: 'bus',
      transport: 'memory',
      impl,
      scenario: `${groups === 1 ? `emit -> async handler (concurrency ${BUS_CONCURRENCY})` : `scaling: ${groups} groups`}; ${what}`,
      payloadBytes: size,
      pair: `bus/memory/${slug}/${size}${copy ? '/copy' : ''}`,
      fanout: groups,
      target: impl === 'ours' ? (copy ? 0.8 : 0.5) : undefined,
      run: (ctx) => run(ctx, size, groups),
    } satisfies RowDef;
  });
}

export const rawBusMemoryRows = [
  ...busMemoryRows('raw', (ctx, size, groups) => rawEmitter(ctx, size, groups, false), false),
  ...busMemoryRows('raw', (ctx, size, groups) => rawEmitter(ctx, size, groups, true), true),
];
