/**
 * Scale rows: how a websocket server's cost grows with its clients (issue 14). The server runs in
 * a process of its own, the N clients in two farm processes, all on this machine's cores. Rows:
 * - `clients-N`: N clients connect, then one ~100 B broadcast to all at 4/s for 60 s, our gateway
 *   (memory PubSub) and Socket.IO 4 (peer), N = 1,000 / 5,000 / 10,000;
 * - `max-rate-10000`: rising offered rates (10 s each) until one is not sustained; the row reports
 *   the highest sustained one (ours must deliver >= 1.2x Socket.IO's msg/s there);
 * - `websocket-2gw`: two gateway processes over the Redis PubSub, 5,000 clients each.
 * Quick and smoke modes run 1/10 and 1/100 of the clients for a few seconds. msg/s, latency and
 * CPU µs/msg in the table are the reported step's; the rest (connect time, event-loop delay, heap
 * after GC, RSS, every step) is printed and kept in bench/results/scale*.json, drawn in scale*.svg.
 */
import type { PhaseResult } from '../driver.js';
import { uniqueName, type Mode, type RowContext, type RowDef } from '../row.js';
import { recordScale } from './scale-chart.js';
import { runScale, sustained, type ScaleStep, type StepResult } from './scale-run.js';
import type { ScaleServerKind } from './scale-server-child.js';

const SIZE = 100;
const RATE = 4;
const FIXED_MS: Record<Mode, number> = { full: 60_000, quick: 5_000, smoke: 1_500 };
const RAMP: Record<Mode, ScaleStep[]> = {
  full: [4, 8, 12, 16, 24, 32, 48, 64].map((rate) => ({ rate, durationMs: 10_000 })),
  quick: [4, 8, 16, 32].map((rate) => ({ rate, durationMs: 2_000 })),
  smoke: [4, 16].map((rate) => ({ rate, durationMs: 1_000 })),
};
const SHARE: Record<Mode, number> = { full: 1, quick: 0.1, smoke: 0.01 };

interface Variant {
  readonly label: 'ours' | 'socket.io' | 'ours, 2 gateways';
  readonly kind: ScaleServerKind;
  readonly servers: number;
}
const OURS: Variant = { label: 'ours', kind: 'ours', servers: 1 };
const SOCKET_IO: Variant = { label: 'socket.io', kind: 'socket.io', servers: 1 };
const TWO_GATEWAYS: Variant = { label: 'ours, 2 gateways', kind: 'ours-redis', servers: 2 };

const msLabel = (v: number): string => (v >= 10 ? v.toFixed(0) : v.toFixed(1));

function line(id: string, clients: number, connectMs: number, step: StepResult, heap: { start: number; end: number }, rss: { empty: number; start: number; end: number }): string {
  const l = step.latencyMs;
  return (
    `scale ${id}: N=${clients}, connect ${(connectMs / 1000).toFixed(1)} s, ${step.rate}/s offered, delivered ${step.delivered}/${step.expected} ` +
    `(${Math.round(step.perSecond)} msg/s), latency p50/p99/max ${msLabel(l.p50)}/${msLabel(l.p99)}/${msLabel(l.max)} ms, ` +
    `loop delay p99 ${msLabel(step.loopDelayMs.p99)} ms (max ${msLabel(step.loopDelayMs.max)}), heap ${heap.start.toFixed(0)} -> ${heap.end.toFixed(0)} MB, ` +
    `RSS ${rss.empty.toFixed(0)} / ${rss.start.toFixed(0)} -> ${rss.end.toFixed(0)} MB, ${step.cpuUsPerMsg.toFixed(1)} CPU µs/msg`
  );
}

async function run(ctx: RowContext, row: { id: string; variant: Variant; clients: number; kind: 'clients' | 'max-rate' }): Promise<PhaseResult> {
  const clients = Math.max(10, Math.round(row.clients * SHARE[ctx.mode]));
  const rising = row.kind === 'max-rate';
  const outcome = await runScale({
    kind: row.variant.kind,
    servers: row.variant.servers,
    clients,
    size: SIZE,
    namespace: uniqueName('scale'),
    steps: rising ? RAMP[ctx.mode] : [{ rate: RATE, durationMs: FIXED_MS[ctx.mode] }],
    untilUnsustained: rising,
    onError: (error) => ctx.rec.fail(error),
    onProgress: (completed) => ctx.rec.setCompleted(completed),
  });
  // A server error (reported through onError) fails the row rather than leaving a figure.
  if (ctx.rec.error !== undefined) throw ctx.rec.error;
  const kept = outcome.steps.filter(sustained);
  const chosen = rising ? (kept.at(-1) ?? outcome.steps[0]!) : outcome.steps[0]!;
  for (const step of outcome.steps) console.error(line(row.id, clients, outcome.connectMs, step, outcome.heapMB, outcome.rssMB));
  if (rising && kept.length === 0) console.error(`scale ${row.id}: no rate sustained; the row shows the first step (${chosen.rate}/s)`);
  await recordScale(ctx.mode, {
    id: row.id,
    label: row.variant.label,
    kind: row.kind,
    nominalClients: row.clients,
    outcome,
    chosen,
    ...(rising ? { sustained: kept.length > 0 } : {}),
    finishedAt: new Date().toISOString(),
  });
  return {
    sent: chosen.sent,
    expected: chosen.expected,
    completed: chosen.delivered,
    elapsedMs: chosen.wallMs,
    perSecond: chosen.perSecond,
    latencyMs: chosen.latencyMs,
    cpuCores: chosen.cpuCores,
    cpuUsPerMsg: chosen.cpuUsPerMsg,
    wallMs: chosen.wallMs,
    stalled: false,
  };
}

function scaleRow(variant: Variant, clients: number, kind: 'clients' | 'max-rate'): RowDef {
  const transport = variant.servers > 1 ? 'websocket-2gw' : 'websocket';
  const scenario = kind === 'clients' ? `connect, then broadcast ${RATE}/s to N=${clients} clients` : `highest sustained broadcast rate to N=${clients} clients`;
  const cell = `${kind}-${clients}`;
  const impl = variant.kind === 'socket.io' ? 'peer' : 'ours';
  // Budget for the driver's hard limit: connecting (~4 ms a client here) plus every step plus drains.
  const steps = (mode: Mode): number => (kind === 'clients' ? FIXED_MS[mode] : RAMP[mode].reduce((n, s) => n + s.durationMs + 4_000, 0));
  const budget = (mode: Mode): number => steps(mode) + 4 * clients * SHARE[mode] + 20_000;
  return {
    id: `scale/${transport}/${variant.kind === 'socket.io' ? 'socket.io' : 'ours'}/${cell}`,
    tier: 'pubsub',
    transport: variant.servers > 1 ? 'websocket, 2 gateways over Redis' : 'websocket',
    impl,
    ...(impl === 'peer' ? { peer: 'socket.io' } : {}),
    scenario,
    payloadBytes: SIZE,
    pair: `scale/${transport}/${cell}`,
    ...(variant.servers > 1 ? { broker: 'redis' as const } : {}),
    fanout: clients,
    maxMs: { full: budget('full'), quick: budget('quick'), smoke: budget('smoke') },
    run: (ctx) => run(ctx, { id: `${variant.label} ${cell}`, variant, clients, kind }),
  };
}

export const scaleWsRows: RowDef[] = [
  ...[1_000, 5_000, 10_000].flatMap((n) => [scaleRow(OURS, n, 'clients'), scaleRow(SOCKET_IO, n, 'clients')]),
  scaleRow(OURS, 10_000, 'max-rate'),
  scaleRow(SOCKET_IO, 10_000, 'max-rate'),
  scaleRow(TWO_GATEWAYS, 10_000, 'clients'),
  scaleRow(TWO_GATEWAYS, 10_000, 'max-rate'),
];
