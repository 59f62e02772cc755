/**
 * Child entry: runs exactly one row in a fresh process, so its peak RSS (getrusage maxRSS) belongs
 * to that row alone, and reports the result to the parent over IPC.
 */
import { installOtel, isOtelMode } from './otel.js';
import { findRow } from './rows/index.js';
import { failedResult, runRow, type RowResult } from './run-row.js';
import type { Mode } from './row.js';
import { runAbPairs } from './tracing-ab.js';

const [id, mode, otel = 'off', pairs = '1'] = process.argv.slice(2) as [string, Mode, string?, string?];
const row = findRow(id);

async function main(): Promise<RowResult> {
  if (!row) throw new Error(`bench: no row ${id}`);
  if (!isOtelMode(otel)) throw new Error(`bench: --otel ${otel} is not a mode`);
  // Before the row makes its platform: a meter taken earlier would stay the no-op.
  await installOtel(otel === 'ab' ? 'drop' : otel);
  // The row starts from a collected heap (main.ts runs children with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  return otel === 'ab' ? runAbPairs(row, mode, Number(pairs)) : runRow(row, mode, true);
}

main().then(
  (result) => process.send?.(result, () => process.exit(0)),
  (error: unknown) => {
    const result = row ? failedResult(row, error, 'child-maxrss') : undefined;
    process.send?.(result ?? { error: String(error) }, () => process.exit(1));
  },
);
