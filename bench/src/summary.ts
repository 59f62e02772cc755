/**
 * The summary tables of BENCHMARKS.md from a results file: every ours row with a target (met or
 * missed, msg/s and CPU ratios, the spread over repeats), and every peer row against the ours row
 * it faces.
 *
 *   npx tsx bench/src/summary.ts [bench/results/latest.json] [--table]   (--table: every row too)
 */
import { readFileSync } from 'node:fs';
import { attachRatios, table } from './report.js';
import { sizeLabel } from './payload.js';
import type { RowResult } from './run-row.js';

interface ResultsFile {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly mode: string;
  readonly repeat: number;
  readonly rows: RowResult[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? 'bench/results/latest.json';
const results = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
const rows = results.rows;
attachRatios(rows);

const fmt = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const rate = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const label = (r: RowResult): string => `${r.tier} ${r.transport}: ${r.scenario}, ${sizeLabel(r.payloadBytes)}`;
/** The spread of msg/s over the repeats of a row, when it ran more than once. */
const spread = (r: RowResult): string => {
  const runs = (r as RowResult & { repeats?: number[] }).repeats;
  return runs && runs.length > 1 ? `${rate(Math.min(...runs))}-${rate(Math.max(...runs))}` : rate(r.perSecond);
};

const byPair = new Map<string, RowResult[]>();
for (const r of rows) byPair.set(r.pair, [...(byPair.get(r.pair) ?? []), r]);

const targets = rows.filter((r) => r.impl === 'ours' && r.target !== undefined);
const met = targets.filter((r) => r.ratio !== undefined && r.ratio >= r.target!);
const out: string[] = [];
out.push(`Run of ${results.startedAt}, mode ${results.mode}, repeat ${results.repeat}, ${rows.length} rows, ${Math.round(results.durationMs / 1000)} s.`);
out.push('', `### Targets: ${met.length} of ${targets.length} met`, '');
out.push('| row | target | raw msg/s | ours msg/s | ours/raw | CPU raw/ours | verdict |', '|---|---:|---:|---:|---:|---:|---|');
for (const r of targets) {
  const raw = byPair.get(r.pair)?.find((x) => x.impl === 'raw');
  const verdict = r.ratio === undefined ? 'no ratio' : r.ratio >= r.target! ? 'meets' : 'MISSES';
  out.push(`| ${label(r)} | ${r.target} | ${spread(raw ?? r)} | ${spread(r)} | ${fmt(r.ratio)} | ${fmt(r.cpuRatio)} | ${verdict} |`);
}

const peers = rows.filter((r) => r.impl === 'peer');
const ahead = peers.filter((r) => r.lead !== undefined && r.lead >= 1);
out.push('', `### Peers: ours ahead in ${ahead.length} of ${peers.length}`, '');
out.push('| row | peer | peer msg/s | ours msg/s | ours/peer | peer p99 ms | ours p99 ms | peer CPU µs/msg | ours CPU µs/msg |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of peers) {
  const ours = byPair.get(r.pair)?.find((x) => x.impl === 'ours');
  out.push(
    `| ${label(r)} | ${r.peer ?? '?'} | ${spread(r)} | ${ours ? spread(ours) : '-'} | ${fmt(r.lead)}${r.lead !== undefined && r.lead < 1 ? ' BEHIND' : ''} | ${fmt(r.latencyMs?.p99, 1)} | ${fmt(ours?.latencyMs?.p99, 1)} | ${fmt(r.cpuUsPerMsg, 1)} | ${fmt(ours?.cpuUsPerMsg, 1)} |`,
  );
}

const failed = rows.filter((r) => r.status !== 'ok');
if (failed.length > 0) out.push('', `Failed rows: ${failed.map((r) => r.id).join(', ')}`);
if (args.includes('--table')) out.push('', table(rows));
console.log(out.join('\n'));
