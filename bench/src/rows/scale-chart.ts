/**
 * Keeps the scale rows' detailed figures (connect time, event-loop delay, heap, RSS, every rate
 * step) in bench/results/scale[-mode].json, one entry per row id (the newest run of each), and
 * draws bench/results/scale.svg from a full run's: delivery p99 and delivered msg/s against N,
 * ours against Socket.IO, plus the highest sustained rates. Hand-written SVG, no dependency.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mode } from '../row.js';
import type { ScaleOutcome, StepResult } from './scale-run.js';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'results');

export interface ScaleRecord {
  id: string;
  /** `ours`, `socket.io`, `ours, 2 gateways`. */
  label: string;
  kind: 'clients' | 'max-rate';
  /** N as the row names it (full mode); `outcome.clients` is what this mode ran. */
  nominalClients: number;
  outcome: ScaleOutcome;
  /** The step the row reports: the fixed-rate step, or the highest sustained rate (else the first step). */
  chosen: StepResult;
  /** max-rate rows: whether `chosen` was sustained (false: not even the first rate was). */
  sustained?: boolean;
  finishedAt: string;
}

const fileOf = (mode: Mode, ext: string): string => join(resultsDir, mode === 'full' ? `scale.${ext}` : `scale-${mode}.${ext}`);

export async function recordScale(mode: Mode, record: ScaleRecord): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  let records: ScaleRecord[] = [];
  try {
    records = JSON.parse(await readFile(fileOf(mode, 'json'), 'utf8')) as ScaleRecord[];
  } catch {
    // first scale row of this mode
  }
  records = [...records.filter((r) => r.id !== record.id), record].sort((a, b) => a.id.localeCompare(b.id));
  await writeFile(fileOf(mode, 'json'), `${JSON.stringify(records, null, 2)}\n`);
  // Drawn in every mode (so a smoke run proves the chart too), kept only from a full run.
  const svg = chart(records, mode);
  if (mode === 'full') await writeFile(fileOf(mode, 'svg'), svg);
}

const COLORS: Record<string, string> = { ours: '#1f6feb', 'socket.io': '#d1242f', 'ours, 2 gateways': '#1a7f37' };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 0 : 1));

/** One panel: a line per label over N (log-spaced points placed evenly by rank). */
function panel(records: ScaleRecord[], x0: number, title: string, value: (r: ScaleRecord) => number): string {
  const w = 360;
  const h = 220;
  const top = 50;
  const ns = [...new Set(records.map((r) => r.nominalClients))].sort((a, b) => a - b);
  const max = Math.max(1, ...records.map(value).filter(Number.isFinite));
  const px = (n: number): number => x0 + 50 + (ns.length === 1 ? w / 2 : (ns.indexOf(n) * (w - 40)) / (ns.length - 1));
  const py = (v: number): number => top + h - (v / max) * h;
  const parts = [`<text x="${x0 + 50}" y="${top - 15}" font-size="13" font-weight="bold">${esc(title)}</text>`];
  parts.push(`<line x1="${x0 + 50}" y1="${top + h}" x2="${x0 + 50 + w}" y2="${top + h}" stroke="#888"/>`, `<line x1="${x0 + 50}" y1="${top}" x2="${x0 + 50}" y2="${top + h}" stroke="#888"/>`);
  for (const k of [0, 0.5, 1]) parts.push(`<text x="${x0 + 45}" y="${py(max * k) + 4}" font-size="10" text-anchor="end">${fmt(max * k)}</text>`);
  for (const n of ns) parts.push(`<text x="${px(n)}" y="${top + h + 15}" font-size="10" text-anchor="middle">N=${n.toLocaleString('en-US')}</text>`);
  for (const label of [...new Set(records.map((r) => r.label))]) {
    const points = records.filter((r) => r.label === label && Number.isFinite(value(r))).sort((a, b) => a.nominalClients - b.nominalClients);
    const color = COLORS[label] ?? '#666';
    if (points.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((r) => `${px(r.nominalClients)},${py(value(r))}`).join(' ')}"/>`);
    for (const r of points) parts.push(`<circle cx="${px(r.nominalClients)}" cy="${py(value(r))}" r="3" fill="${color}"><title>${esc(label)}: ${fmt(value(r))}</title></circle>`);
  }
  return parts.join('\n');
}

export function chart(records: ScaleRecord[], mode: Mode): string {
  const fixed = records.filter((r) => r.kind === 'clients');
  const maxRate = records.filter((r) => r.kind === 'max-rate');
  const labels = [...new Set(records.map((r) => r.label))];
  const legend = labels.map((l, i) => `<rect x="${50 + i * 170}" y="300" width="12" height="12" fill="${COLORS[l] ?? '#666'}"/><text x="${66 + i * 170}" y="310" font-size="12">${esc(l)}</text>`);
  const rateLines = maxRate.map((r, i) => {
    const c = r.chosen;
    const what = r.sustained === false ? `none sustained; at ${c.rate}/s offered` : `highest sustained ${c.rate}/s offered`;
    return `<text x="50" y="${345 + i * 16}" font-size="12">${esc(r.label)}, N=${r.outcome.clients.toLocaleString('en-US')}: ${what}, ${fmt(c.perSecond)} msg/s delivered, p99 ${fmt(c.latencyMs.p99)} ms, loop delay p99 ${fmt(c.loopDelayMs.p99)} ms</text>`;
  });
  const height = 360 + maxRate.length * 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="50" y="18" font-size="14">Websocket scale rows (${mode} mode; broadcast at a fixed offered rate to N clients)</text>`,
    panel(fixed, 0, 'delivery latency p99 (ms) vs N', (r) => r.chosen.latencyMs.p99),
    panel(fixed, 430, 'delivered msg/s vs N', (r) => r.chosen.perSecond),
    ...legend,
    `<text x="50" y="330" font-size="12" font-weight="bold">Highest sustained rate (every client gets every message, p99 under 1 s)</text>`,
    ...rateLines,
    '</svg>',
    '',
  ].join('\n');
}
