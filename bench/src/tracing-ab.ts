/**
 * `--otel ab`: what our tiers' default tracing mode (`join`) costs beside an SDK that samples
 * nothing, measured in one process. The SDK of `--otel drop` is installed once; the row then runs
 * in pairs, once with our tiers built with `tracing: 'off'` and once with the default, the order
 * turning every pair (off join, join off, ...), so a machine whose speed drifts over minutes
 * weighs on both alike. The two runs of a pair share the process, its loaded code and its heap:
 * what differs is only the question `join` asks per message. A raw row runs the same pairs and
 * reads no option: its difference is the method's own noise.
 *
 * Across processes (`--otel off` against `--otel drop`) this 2-core machine's drift between runs
 * was larger than the effect (docs/tracing.md "Cost"); within a pair it weighs on both runs, and
 * the raw rows show what is left of it.
 */
import { pairsTable } from './report.js';
import { type PairedSummary, summarizePairs } from './stats.js';
import { runRow, type RowResult } from './run-row.js';
import type { Mode, RowDef } from './row.js';

export type AbTracing = 'off' | 'join';

/** One run of a pair. */
export interface AbSample {
  readonly tracing: AbTracing;
  readonly cpuUsPerMsg: number;
  readonly perSecond: number;
}

/** Sets what the rows read through benchTracing() as they build our tiers. */
function setTracing(tracing: AbTracing): void {
  if (tracing === 'off') process.env.BENCH_TRACING = 'off';
  else delete process.env.BENCH_TRACING;
}

/**
 * Runs `row` in `pairs` pairs in this process (child.ts, with the `drop` SDK installed). Resolves
 * to the best `join` run with every run in `ab`; to the first failed run if one failed.
 */
export async function runAbPairs(row: RowDef, mode: Mode, pairs: number): Promise<RowResult> {
  const samples: AbSample[] = [];
  let best: RowResult | undefined;
  for (let pair = 0; pair < pairs; pair += 1) {
    const order: AbTracing[] = pair % 2 === 0 ? ['off', 'join'] : ['join', 'off'];
    for (const tracing of order) {
      setTracing(tracing);
      (globalThis as { gc?: () => void }).gc?.();
      const result = await runRow(row, mode, true);
      if (result.status !== 'ok' || result.cpuUsPerMsg === undefined) return result;
      samples.push({ tracing, cpuUsPerMsg: result.cpuUsPerMsg, perSecond: result.perSecond });
      if (tracing === 'join' && (best === undefined || result.perSecond > best.perSecond)) best = result;
    }
  }
  setTracing('join');
  return { ...best!, ab: samples };
}

/** The pairs of `samples` (in the order they ran), `off` as a and `join` as b; undefined without a whole pair. */
export function summarizeAb(samples: readonly AbSample[]): PairedSummary | undefined {
  const of = (tracing: AbTracing): number[] => samples.filter((s) => s.tracing === tracing).map((s) => s.cpuUsPerMsg);
  const off = of('off');
  const join = of('join');
  return summarizePairs(Array.from({ length: Math.min(off.length, join.length) }, (_, i) => [off[i]!, join[i]!] as const));
}

/** The pairs table of every row run with `--otel ab`: our tiers' tracing `off` against `join`. */
export function abTable(results: readonly RowResult[]): string {
  return pairsTable(['off', 'join'], results.map((r) => ({ id: r.id, summary: r.ab ? summarizeAb(r.ab) : undefined })));
}
