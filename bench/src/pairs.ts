/**
 * `npx tsx bench/src/pairs.ts <prefix> <a> <b>`: compares two `--otel` modes (or any two runs)
 * from results files written in alternation, `<prefix>-<a>-<i>.json` then `<prefix>-<b>-<i>.json`
 * for i = 1, 2, ... (the loop in docs/tracing.md "Cost"). Per row: CPU µs per message of each
 * mode (lowest and median), the change of the lowest and of the medians, and the median of the
 * changes within each pair (runs next to each other in time, so a drifting machine weighs on both)
 * with its 95 % interval (bootstrap).
 */
import { existsSync, readFileSync } from 'node:fs';
import { pairsTable } from './report.js';
import { summarizePairs } from './stats.js';
import type { RowResult } from './run-row.js';

const [prefix, a, b] = process.argv.slice(2);
if (!prefix || !a || !b) {
  console.error('usage: pairs <prefix> <mode a> <mode b>   (reads <prefix>-<mode>-<i>.json, i = 1, 2, ...)');
  process.exit(2);
}

/** CPU µs per message of every ok row of one results file, by row id. */
function cpuOf(file: string): Map<string, number> {
  const report = JSON.parse(readFileSync(file, 'utf8')) as { rows: RowResult[] };
  return new Map(report.rows.filter((r) => r.status === 'ok' && r.cpuUsPerMsg !== undefined).map((r) => [r.id, r.cpuUsPerMsg!]));
}

const runs: Array<{ a: Map<string, number>; b: Map<string, number> }> = [];
for (let i = 1; existsSync(`${prefix}-${a}-${i}.json`) && existsSync(`${prefix}-${b}-${i}.json`); i += 1) {
  runs.push({ a: cpuOf(`${prefix}-${a}-${i}.json`), b: cpuOf(`${prefix}-${b}-${i}.json`) });
}
if (runs.length === 0) {
  console.error(`pairs: no ${prefix}-${a}-1.json with its ${prefix}-${b}-1.json`);
  process.exit(1);
}

const rows = [...runs[0]!.a.keys()].map((id) => ({
  id,
  summary: summarizePairs(runs.filter((r) => r.a.has(id) && r.b.has(id)).map((r) => [r.a.get(id)!, r.b.get(id)!] as const)),
}));
console.log(pairsTable([a, b], rows));
