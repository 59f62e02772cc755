// Rates as SVG drawn here (no library, no CDN: the page works offline under its CSP): per job
// name, jobs enqueued, completed and failed per second, one point per minute over the last hour.
import { $, api, h, svg } from './dom.js';

const W = 560;
const H = 150;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };
const LINES = [
  { key: 'enqueued', color: '#2f5d8a', label: 'enqueued' },
  { key: 'completed', color: '#1f7a4d', label: 'completed' },
  { key: 'failed', color: '#b3261e', label: 'failed' },
];
const REFRESH_MS = 5000;

/** A round ceiling for the y axis: 1, 2 or 5 times a power of ten. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= value) ?? 10 * p;
}

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

function chart(series) {
  const points = series.points;
  const max = niceMax(Math.max(...points.flatMap((p) => LINES.map((l) => p[l.key]))));
  const x = (i) => PAD.left + (i * (W - PAD.left - PAD.right)) / Math.max(1, points.length - 1);
  const y = (v) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const grid = [0, 0.5, 1].map((f) =>
    svg('g', {}, svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), stroke: '#e2e5ec' }), svg('text', { x: PAD.left - 4, y: y(max * f) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#6b7385' }, fmt(max * f))),
  );
  const axis = [
    svg('text', { x: PAD.left, y: H - 6, 'font-size': 10, fill: '#6b7385' }, `-${points.length} min`),
    svg('text', { x: W - PAD.right, y: H - 6, 'font-size': 10, fill: '#6b7385', 'text-anchor': 'end' }, 'now'),
  ];
  const lines = LINES.map((l) =>
    svg('polyline', { class: `line-${l.key}`, fill: 'none', stroke: l.color, 'stroke-width': 1.6, 'stroke-linejoin': 'round', points: points.map((p, i) => `${x(i).toFixed(1)},${y(p[l.key]).toFixed(1)}`).join(' ') }),
  );
  const now = points.at(-1) ?? {};
  const legend = h('div', { class: 'legend' }, ...LINES.map((l) => h('span', { class: `key key-${l.key}` }, `${l.label} ${series.totals[l.key]} (now ${fmt(now[l.key] ?? 0)}/s)`)));
  return h(
    'figure',
    { class: 'chart', 'data-name': series.name },
    h('figcaption', {}, h('strong', {}, series.name), ' ', legend),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': `${series.name}: jobs per second over the last hour` }, ...grid, ...axis, ...lines),
  );
}

async function refresh() {
  try {
    const { series } = await api('admin/rates');
    const figures = series.map(chart);
    $('charts').replaceChildren(...(figures.length ? figures : [h('p', { class: 'muted' }, 'no job names known yet')]));
  } catch (error) {
    $('charts').replaceChildren(h('p', { class: 'status bad' }, `rates unavailable: ${error.message}`));
  }
}

export function startCharts() {
  void refresh();
  setInterval(refresh, REFRESH_MS);
}
