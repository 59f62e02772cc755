/**
 * Turns results into the ours/raw ratios and a Markdown table (printed on stdout and pasted into
 * BENCHMARKS.md as is).
 */
import { sizeLabel } from './payload.js';
import type { RowResult } from './run-row.js';
import type { PairedSummary } from './stats.js';

/**
 * Sets `ratio` (and `cpuRatio`) on every ours row whose raw counterpart (same pair) succeeded, and
 * `lead` (ours/peer) on every peer row whose ours row succeeded.
 */
export function attachRatios(results: RowResult[]): void {
  const raw = new Map<string, RowResult>();
  const ours = new Map<string, RowResult>();
  for (const r of results) if (r.impl === 'raw' && r.status === 'ok') raw.set(r.pair, r);
  for (const r of results) if (r.impl === 'ours' && r.status === 'ok') ours.set(r.pair, r);
  for (const r of results) {
    const mine = ours.get(r.pair);
    if (r.impl === 'peer' && r.status === 'ok' && mine && r.perSecond > 0) r.lead = mine.perSecond / r.perSecond;
  }
  for (const r of results) {
    const base = raw.get(r.pair);
    if (r.impl !== 'ours' || r.status !== 'ok' || !base || base.perSecond <= 0) continue;
    r.ratio = r.perSecond / base.perSecond;
    // CPU per message is steadier than msg/s when other work shares the machine.
    if (r.cpuUsPerMsg && base.cpuUsPerMsg && Number.isFinite(r.cpuUsPerMsg)) r.cpuRatio = base.cpuUsPerMsg / r.cpuUsPerMsg;
  }
}

function num(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (digits === 0) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (value < 0.1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  return value.toFixed(0);
}

function verdict(r: RowResult): string {
  if (r.impl === 'raw') return '';
  if (r.impl === 'peer') return r.lead === undefined ? '-' : `ours ${r.lead.toFixed(2)}x ${r.lead >= 1 ? 'ahead' : 'BEHIND'}`;
  if (r.ratio === undefined) return r.target === undefined ? 'n/a' : '-';
  const ratio = r.ratio.toFixed(2);
  if (r.target === undefined) return ratio;
  return `${ratio} ${r.ratio >= r.target ? 'meets' : 'MISSES'} >=${r.target}`;
}

export function table(results: RowResult[]): string {
  const head = ['tier', 'transport', 'scenario', 'size', 'impl', 'msg/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'node CPU', 'CPU µs/msg', 'broker CPU', 'ours/raw (peer: ours/peer)', 'CPU raw/ours', 'status'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i >= 5 && i <= 11 ? '---:' : i === 13 ? '---:' : '---')).join('|')}|`];
  for (const r of results) {
    const latencyNote = r.latencyIs === 'send->ack' ? ' (ack)' : '';
    lines.push(
      `| ${[
        r.tier,
        r.transport,
        r.scenario,
        sizeLabel(r.payloadBytes),
        r.impl === 'peer' ? `peer: ${r.peer ?? '?'}` : r.impl,
        num(r.perSecond),
        ms(r.latencyMs?.p50) + latencyNote,
        ms(r.latencyMs?.p99) + latencyNote,
        num(r.peakRssMB),
        num(r.cpuCores, 2),
        r.cpuUsPerMsg === undefined || !Number.isFinite(r.cpuUsPerMsg) ? '-' : r.cpuUsPerMsg < 10 ? r.cpuUsPerMsg.toFixed(2) : r.cpuUsPerMsg.toFixed(0),
        num(r.brokerCpuCores, 2),
        verdict(r),
        num(r.cpuRatio, 2),
        r.status === 'ok' ? 'ok' : `FAILED: ${(r.error ?? '').replaceAll('|', '/').slice(0, 160)}`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** A change in percent with its sign: `+1.2 %`, `-0.4 %`. */
function pct(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`;
}

/**
 * A table of paired runs, one line per row: CPU µs per message of modes `a` and `b` (lowest and
 * median), the change of the lowest and of the medians, and the median of the paired changes, the
 * figure to quote, with its 95 % interval. Used by `--otel ab` and by pairs.ts.
 */
export function pairsTable([a, b]: readonly [string, string], rows: ReadonlyArray<{ id: string; summary: PairedSummary | undefined }>): string {
  const head = ['row', 'pairs', `${a}: lowest`, `${a}: median`, `${b}: lowest`, `${b}: median`, 'lowest', 'median', 'paired median', '95 % interval'];
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  const us = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
  const change = (x: number, y: number): string => pct((x / y - 1) * 100);
  for (const { id, summary: s } of rows) {
    if (!s) {
      lines.push(`| \`${id}\` | 0 | ${Array(8).fill('-').join(' | ')} |`);
      continue;
    }
    lines.push(
      `| \`${id}\` | ${s.pairs} | ${us(s.a.min)} | ${us(s.a.median)} | ${us(s.b.min)} | ${us(s.b.median)} | ${change(s.b.min, s.a.min)} | ${change(s.b.median, s.a.median)} | ${pct(s.pairedMedianPct)} | ${pct(s.pairedInterval[0])} to ${pct(s.pairedInterval[1])} |`,
    );
  }
  return lines.join('\n');
}
