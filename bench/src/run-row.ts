/**
 * Runs one row and turns its phase result into a RowResult with resources attached. Used both in
 * the isolated child (child.ts) and inline (main.ts --inline).
 */
import { withTimeout } from '@events/core';
import { drive as driveLoad, Recorder, type DriveSpec, type PhaseResult } from './driver.js';
import { brokerCpuProbe, processPeakRss, sampleRss } from './resources.js';
import { settingsFor, type Mode, type RowDef } from './row.js';
import type { LatencySummary } from './stats.js';
import type { AbSample } from './tracing-ab.js';

export interface RowResult {
  id: string;
  tier: RowDef['tier'];
  transport: string;
  impl: RowDef['impl'];
  peer?: string;
  scenario: string;
  payloadBytes: number;
  pair: string;
  fanout: number;
  target?: number;
  latencyIs: 'send->handler' | 'send->ack';
  status: 'ok' | 'failed';
  error?: string;
  sent: number;
  expected: number;
  completed: number;
  elapsedMs: number;
  perSecond: number;
  latencyMs?: LatencySummary;
  /** CPU of the bench process during the measured phase, in cores (1 = one full core). */
  cpuCores?: number;
  /** CPU time of the bench process per completion, in microseconds (sender and receiver both). */
  cpuUsPerMsg?: number;
  /** CPU of the broker during the measured phase, in cores. */
  brokerCpuCores?: number;
  peakRssMB?: number;
  /** RSS when the row started (after modules loaded), so the row's own growth is visible. */
  startRssMB?: number;
  rssMethod: 'child-maxrss' | 'sampled-shared-process';
  /** `--otel ab`: every run of the row's pairs, in the order they ran (tracing-ab.ts). */
  ab?: AbSample[];
  /** msg/s of every round when run with --repeat (the row shows the best). */
  repeats?: number[];
  /** Wall time of the whole row: process start (isolated), setup, warm-up, measure, teardown. */
  rowWallMs?: number;
  /** ours.perSecond / raw.perSecond of the same pair (filled in by main). */
  ratio?: number;
  /** On a peer row: ours.perSecond / peer.perSecond of the same pair (> 1: ours is ahead). */
  lead?: number;
  /** raw.cpuUsPerMsg / ours.cpuUsPerMsg: the same comparison by CPU cost (1 = as cheap as raw). */
  cpuRatio?: number;
}

const MB = 1024 * 1024;

export function describe(row: RowDef): Omit<RowResult, 'status' | 'sent' | 'expected' | 'completed' | 'elapsedMs' | 'perSecond' | 'rssMethod'> {
  const base = {
    id: row.id,
    tier: row.tier,
    transport: row.transport,
    impl: row.impl,
    scenario: row.scenario,
    payloadBytes: row.payloadBytes,
    pair: row.pair,
    fanout: row.fanout,
    latencyIs: row.latencyIs ?? 'send->handler',
    ...(row.peer === undefined ? {} : { peer: row.peer }),
  };
  return row.target === undefined ? base : { ...base, target: row.target };
}

export function failedResult(row: RowDef, error: unknown, rssMethod: RowResult['rssMethod']): RowResult {
  return {
    ...describe(row),
    status: 'failed',
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    sent: 0,
    expected: 0,
    completed: 0,
    elapsedMs: 0,
    perSecond: 0,
    rssMethod,
  };
}

export async function runRow(row: RowDef, mode: Mode, isolated: boolean): Promise<RowResult> {
  const rssMethod = isolated ? 'child-maxrss' : 'sampled-shared-process';
  const startRss = process.memoryUsage.rss();
  // An isolated row has the kernel's exact peak (getrusage); sampling would only add work.
  const sampler = isolated ? { stop: () => 0 } : sampleRss();
  const drive = settingsFor(row, mode);
  const rec = new Recorder();
  // A row that hangs in setup or teardown must still end: the whole row has a hard limit.
  const hardMs = drive.warmupMs + drive.maxMs + 3 * drive.stallMs + 30_000;
  try {
    const measure = async (spec: DriveSpec): Promise<PhaseResult> => {
      let probe: (() => Promise<number | undefined>) | undefined;
      const result = await driveLoad(
        rec,
        {
          ...spec,
          beforePhase: async (measured) => {
            await spec.beforePhase?.(measured);
            if (measured && row.broker) probe = await brokerCpuProbe(row.broker);
          },
        },
        drive,
      );
      const seconds = probe ? await probe() : undefined;
      return seconds === undefined ? result : { ...result, brokerCpuCores: seconds / (result.wallMs / 1000) };
    };
    const result = await withTimeout(row.run({ mode, drive, rec, measure }), hardMs, `bench row ${row.id}`);
    const peak = Math.max(sampler.stop(), isolated ? processPeakRss() : 0);
    const out: RowResult = {
      ...describe(row),
      status: 'ok',
      sent: result.sent,
      expected: result.expected,
      completed: result.completed,
      elapsedMs: result.elapsedMs,
      perSecond: result.perSecond,
      latencyMs: result.latencyMs,
      cpuCores: result.cpuCores,
      cpuUsPerMsg: result.cpuUsPerMsg,
      peakRssMB: peak / MB,
      startRssMB: startRss / MB,
      rssMethod,
    };
    if (result.brokerCpuCores !== undefined) out.brokerCpuCores = result.brokerCpuCores;
    if (result.stalled) {
      out.status = 'failed';
      out.error = `stalled: ${result.completed} of ${result.expected} completions`;
    }
    return out;
  } catch (error) {
    sampler.stop();
    return failedResult(row, error, rssMethod);
  }
}
