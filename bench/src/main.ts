/**
 * `npm run bench [-- --quick | --smoke] [--only a,b] [--skip a,b] [--inline | --isolate]
 *   [--repeat N] [--profile] [--list] [--out file] [--otel off|load|drop|drop-off|drop-always|metrics|ab]
 *   [--semi-space MB]`
 *
 * Runs every row (each tier beside its raw baseline), prints a Markdown table and writes
 * bench/results/latest.json (quick and smoke runs: latest-quick.json, latest-smoke.json). A full
 * run puts each row in its own child process so its peak RSS is its own; quick and smoke runs go
 * inline (one process, RSS sampled and shared) unless `--isolate`. `--profile` writes a V8 CPU
 * profile per row (see profile-top.ts). `--otel` runs the rows under an OpenTelemetry SDK that
 * drops everything, or that counts metrics (see otel.ts; default `off`, no SDK).
 *
 * A row's child process starts its row from a collected heap (a full GC after the SDK, if any, is
 * installed), so what the process loaded before does not carry into the row as garbage.
 * `--semi-space MB` also fixes V8's young generation at that size (min = max) in the children: V8
 * sizes it from the survival it has seen, and loading a few MB of modules (the OpenTelemetry
 * SDK's, with nothing registered) was enough to move a memory row by 5 % through that sizing alone
 * (docs/tracing.md "Cost"). Comparisons between `--otel` modes pin it.
 * `--otel ab --repeat N` runs each row's child once, and in it N pairs of runs with our tiers'
 * tracing `off` and `join` beside an SDK that samples nothing (tracing-ab.ts), and prints what
 * the pairs say under the table.
 * Exits 1 when any row failed; it never judges speed.
 */
import { fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installOtel, isOtelMode, OTEL_MODES, type OtelMode } from './otel.js';
import { attachRatios, table } from './report.js';
import { rows } from './rows/index.js';
import { failedResult, runRow, type RowResult } from './run-row.js';
import { settingsFor, type Mode, type RowDef } from './row.js';
import { abTable } from './tracing-ab.js';
import { sizeLabel } from './payload.js';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    skip: { type: 'string', multiple: true },
    inline: { type: 'boolean' },
    isolate: { type: 'boolean' },
    profile: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string' },
    otel: { type: 'string', default: 'off' },
    'semi-space': { type: 'string' },
  },
  allowPositionals: false,
});

const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
const terms = (list: string[] | undefined): string[] => (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
const only = terms(values.only);
const skip = terms(values.skip);
const selected = rows.filter((r) => (only.length === 0 || only.some((t) => r.id.includes(t))) && !skip.some((t) => r.id.includes(t)));

if (!isOtelMode(values.otel)) {
  console.error(`bench: --otel ${values.otel} is not a mode; valid values: ${OTEL_MODES.join(', ')}`);
  process.exit(2);
}
const otel: OtelMode = values.otel;
const semiSpace = values['semi-space'] === undefined ? undefined : Number(values['semi-space']);
if (semiSpace !== undefined && !(Number.isInteger(semiSpace) && semiSpace >= 1 && semiSpace <= 1024)) {
  console.error(`bench: --semi-space ${values['semi-space']} is not a size in MB (1 to 1024)`);
  process.exit(2);
}

if (values.list) {
  for (const r of rows) console.log(r.id);
  process.exit(0);
}
if (selected.length === 0) {
  console.error(`bench: no row matches --only ${only.join(',')}`);
  process.exit(2);
}

// Full runs isolate each row (peak RSS is then the row's own); quick and smoke runs share one
// process to stay under a minute, unless told otherwise.
const repeat = Math.max(1, Math.floor(Number(values.repeat)) || 1);
// Under `--otel ab` the repeats are the pairs a row's child runs; the rows run in one round.
const ab = otel === 'ab';
const pairs = ab ? repeat : 1;
const rounds = ab ? 1 : repeat;
const isolate = values.profile || semiSpace !== undefined || ab || (values.isolate ?? (values.inline === undefined ? mode === 'full' : !values.inline));
const profileDir = join(benchDir, 'results', 'profiles');

function runIsolated(row: RowDef): Promise<RowResult> {
  const settings = settingsFor(row, mode);
  const hardMs = (settings.warmupMs + settings.maxMs + 3 * settings.stallMs + 45_000) * (ab ? 2 * pairs : 1);
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  if (semiSpace !== undefined) execArgv.push(`--min-semi-space-size=${semiSpace}`, `--max-semi-space-size=${semiSpace}`);
  // One directory per row: the loader thread writes a profile of its own next to the main one.
  if (values.profile) execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(profileDir, row.id.replaceAll('/', '_'))}`);
  return new Promise((resolve) => {
    let result: RowResult | undefined;
    const child = fork(join(here, 'child.ts'), [row.id, mode, otel, String(pairs)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => {
      result ??= failedResult(row, new Error(`child did not finish within ${hardMs} ms; killed`), 'child-maxrss');
      child.kill('SIGKILL');
    }, hardMs);
    child.on('message', (message) => {
      const m = message as Partial<RowResult>;
      result = m.id === row.id ? (m as RowResult) : failedResult(row, new Error(String((m as { error?: unknown }).error)), 'child-maxrss');
    });
    child.on('error', (error) => {
      result ??= failedResult(row, error, 'child-maxrss');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(result ?? failedResult(row, new Error(`child exited (code ${code}, signal ${signal}) without a result`), 'child-maxrss'));
    });
  });
}

function progressLine(r: RowResult, index: number, round: number): string {
  const p = r.latencyMs;
  const body = r.status === 'ok'
    ? `${Math.round(r.perSecond).toLocaleString('en-US')}/s p50 ${p?.p50.toFixed(3)} ms p99 ${p?.p99.toFixed(3)} ms rss ${r.peakRssMB?.toFixed(0)} MB`
    : `FAILED ${r.error}`;
  const of = rounds > 1 ? ` round ${round}/${rounds}` : '';
  return `[${index + 1}/${selected.length}${of}] ${r.id} (${sizeLabel(r.payloadBytes)}, ${((r.rowWallMs ?? 0) / 1000).toFixed(1)} s): ${body}`;
}

/**
 * With --repeat N every row runs N times, in rounds (all rows, then all rows again), so a burst of
 * load elsewhere hits ours and raw alike; each row keeps its best run (highest msg/s). A row that
 * failed in any round is reported failed.
 */
function best(runs: RowResult[]): RowResult {
  const failed = runs.find((r) => r.status !== 'ok');
  const chosen = failed ?? runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  return runs.length > 1 ? { ...chosen, repeats: runs.map((r) => Math.round(r.perSecond)) } : chosen;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const repeats = ab ? ` x ${pairs} pairs (tracing off, join) in one process` : rounds > 1 ? ` x ${rounds} rounds` : '';
  console.error(`bench: ${selected.length} rows${repeats}, mode ${mode}, ${isolate ? 'one child process per row' : 'inline'}, otel ${otel}${semiSpace !== undefined ? `, young generation fixed at ${semiSpace} MB semi-spaces` : ''}${values.profile ? `, CPU profiles in ${profileDir}` : ''}`);
  // Inline rows share this process: its SDK (a child installs its own, see child.ts).
  if (!isolate) await installOtel(otel);
  if (values.profile) await mkdir(profileDir, { recursive: true });
  const runs = new Map<string, RowResult[]>();
  for (let round = 1; round <= rounds; round += 1) {
    for (const [index, row] of selected.entries()) {
      const rowStart = Date.now();
      const result = isolate ? await runIsolated(row) : await runRow(row, mode, false);
      result.rowWallMs = Date.now() - rowStart;
      runs.set(row.id, [...(runs.get(row.id) ?? []), result]);
      console.error(progressLine(result, index, round));
    }
  }
  const results = selected.map((row) => best(runs.get(row.id)!));
  attachRatios(results);
  console.log('');
  console.log(table(results));
  if (ab) console.log(`\n${abTable(results)}`);
  const failed = results.filter((r) => r.status !== 'ok');
  // Quick and smoke runs write beside the full run's file, so a check never overwrites the numbers.
  const out = values.out ?? join(benchDir, 'results', mode === 'full' ? 'latest.json' : `latest-${mode}.json`);
  await mkdir(dirname(out), { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    mode,
    isolation: isolate ? 'child process per row' : 'inline',
    otel,
    ...(semiSpace !== undefined ? { semiSpaceMb: semiSpace } : {}),
    repeat,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg() },
    rows: results,
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${results.length - failed.length}/${results.length} rows ok in ${(report.durationMs / 1000).toFixed(1)} s; results in ${out}`);
  if (failed.length) console.error(`bench: ${failed.length} row(s) failed: ${failed.map((r) => r.id).join(', ')}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
