/**
 * What a benchmark row is. Every row is one (tier, transport, implementation, scenario, payload)
 * cell; an "ours" row and a "raw" row with the same `pair` are driven with the same settings and
 * compared as ours/raw.
 */
import { randomBytes } from 'node:crypto';
import type { DriveSettings, DriveSpec, PhaseResult, Recorder } from './driver.js';
import type { Broker } from './resources.js';

export type Mode = 'full' | 'quick' | 'smoke';

export interface RowContext {
  readonly mode: Mode;
  readonly drive: DriveSettings;
  readonly rec: Recorder;
  /** Warm-up then measured phase of `spec` with this row's settings, broker CPU sampled. */
  measure(spec: DriveSpec): Promise<PhaseResult>;
}

export interface RowDef {
  /** Unique, stable id used by `--only` and in latest.json: `tier/transport/impl/scenario/size`. */
  readonly id: string;
  readonly tier: 'pubsub' | 'bus' | 'queue';
  readonly transport: string;
  /** ours, the raw library it is built on, or a peer a user might pick instead (named in `peer`). */
  readonly impl: 'ours' | 'raw' | 'peer';
  /** The peer's name (`pg-boss`, `socket.io`...) when impl is `peer`; it faces the ours row of the same pair. */
  readonly peer?: string;
  /** Human label of what is measured: `publish -> 1 subscriber`, `fan-out N=100`, `add`... */
  readonly scenario: string;
  readonly payloadBytes: number;
  /** Rows sharing a pair key are compared; the key is the same for ours and raw. */
  readonly pair: string;
  /** The broker whose CPU is sampled during the measured phase. */
  readonly broker?: Broker;
  /** Completions per message (subscribers, clients, groups); scales the message budget. */
  readonly fanout: number;
  /** Target ratio ours/raw from issue 7, when one was set. */
  readonly target?: number;
  /** Most completions in flight; the message window is this divided by fanout. Default 1000 (200 for payloads over 1 KB). */
  readonly inflight?: number;
  /** Cap on messages per phase whatever the mode (rows whose messages pile up in a broker). */
  readonly maxMessages?: number;
  /** Longest measured phase per mode, for rows that set their own pace (the scale rows); it stretches the row's hard limit too. */
  readonly maxMs?: Partial<Record<Mode, number>>;
  /** What the latency column means when it is not send -> handler. */
  readonly latencyIs?: 'send->handler' | 'send->ack';
  run(ctx: RowContext): Promise<PhaseResult>;
}

/** A fresh name per row, so rows never see each other's keys, exchanges or queues. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The drive settings a mode gives a row. */
export function settingsFor(row: Pick<RowDef, 'fanout' | 'inflight' | 'payloadBytes' | 'maxMessages' | 'maxMs'>, mode: Mode): DriveSettings {
  const budget = { full: 3_000_000, quick: 400_000, smoke: 200 }[mode];
  // BENCH_MAX_MS stretches the measured phase, e.g. so a --profile run is mostly steady state.
  const maxMs = row.maxMs?.[mode] ?? (Number(process.env.BENCH_MAX_MS) || { full: 2_500, quick: 200, smoke: 60 }[mode]);
  const messages = Math.min(row.maxMessages ?? Number.POSITIVE_INFINITY, Math.max(4, Math.floor(budget / row.fanout)));
  return {
    messages,
    warmup: mode === 'smoke' ? Math.min(20, messages) : Math.max(4, Math.floor(messages / 5)),
    warmupMs: Math.round(maxMs / 3),
    window: Math.max(2, Math.ceil((row.inflight ?? (row.payloadBytes > 1_000 ? 200 : 1_000)) / row.fanout)),
    maxMs,
    stallMs: mode === 'full' ? 8_000 : 4_000,
  };
}
