// Journeys: one message's path across the tiers, from what the platform recorded (no tracing
// backend). Search by email (the application's keys), correlation id, event or job id; a journey is
// a causal tree: each message (an event, a job, a broadcast) with its steps (emit, each group's
// handle, enqueue, each attempt with its outcome and error, replay), under the message that caused
// it. A dead-lettered job has a Replay button (the dead-letter replay endpoint). Routes:
//   #journeys/<query>   the search (empty: the most recent journeys)    #journey/<correlation id>
// Every value from the server is inserted as text (dom.js), never as HTML.
import { $, api, h, plural, replaceRows, say, short, time } from './dom.js';

const MAX_QUERY = 256;
const REFRESH_MS = 1500;
const view = { id: undefined, key: '' };
const status = (text, kind) => say($('journey-status'), text, kind);

const ms = (n) => (n === undefined || n === null ? '' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`);
const journeyLink = (id) => h('a', { href: `#journey/${encodeURIComponent(id)}`, class: 'mono', title: id }, id.length > 40 ? `…${id.slice(-38)}` : id);

function renderResults(journeys, query) {
  const rows = journeys.map((j) =>
    h(
      'tr',
      { 'data-id': j.correlationId },
      h('td', { class: 'mono' }, journeyLink(j.correlationId)),
      h('td', {}, time(j.startedAt)),
      h('td', { class: 'num' }, ms(j.durationMs)),
      h('td', { title: j.names.join(', ') }, j.names.join(' → ')),
      h('td', { class: 'num' }, j.steps),
      h('td', { class: `num${j.retries ? ' n-active' : ''}` }, j.retries),
      h('td', { class: `num${j.deadLetters || j.errors ? ' n-failed' : ''}` }, j.deadLetters + j.errors),
    ),
  );
  replaceRows($('journey-rows'), rows, query ? 'no journey matches (exact email, correlation, event or job id)' : 'no journeys recorded yet', 7);
}

function stepRow(step) {
  const what = step.kind === 'handle' ? `handle · ${step.group ?? ''}` : step.kind === 'attempt' ? `attempt ${step.attempt ?? ''}` : step.kind;
  return h(
    'li',
    { class: 'step', 'data-kind': step.kind, 'data-outcome': step.outcome },
    h('span', { class: 'at mono' }, `+${ms(step.offsetMs)}`),
    ' ',
    h('span', { class: 'kind' }, what),
    ' ',
    h('span', { class: `outcome o-${step.outcome}` }, step.outcome === 'dead_letter' ? 'dead letter' : step.outcome),
    step.durationMs !== undefined ? h('span', { class: 'muted' }, ` ${ms(step.durationMs)}`) : '',
    step.error ? h('div', { class: 'step-error' }, step.error) : '',
  );
}

function nodeItem(node) {
  // A dead letter already replayed shows its replay (a child with a replay step) instead of the button.
  const replayed = node.children.some((c) => c.steps.some((s) => s.kind === 'replay'));
  const replayButton =
    node.deadLetter && node.tier === 'queue' && node.jobId
      ? replayed
        ? h('span', { class: 'muted' }, 'replayed below')
        : h('button', { type: 'button', class: 'replay', onclick: () => replay(node.jobId) }, 'Replay')
      : '';
  return h(
    'li',
    { class: `node t-${node.tier}`, 'data-envelope': node.envelopeId },
    h(
      'div',
      { class: 'node-head' },
      h('span', { class: `badge tier-${node.tier}` }, node.tier),
      ' ',
      h('strong', {}, node.name),
      ' ',
      h('code', { title: node.envelopeId }, short(node.envelopeId)),
      node.jobId ? h('span', { class: 'muted' }, ' job ', h('code', { title: node.jobId }, node.jobId.length > 24 ? short(node.jobId) : node.jobId)) : '',
      h('span', { class: 'muted' }, ` ${node.system} · +${ms(node.offsetMs)} · ${ms(node.durationMs)}`),
      node.deadLetter ? h('span', { class: 'badge s-dead' }, 'dead letter') : '',
      ' ',
      replayButton,
    ),
    h('ol', { class: 'steps' }, ...node.steps.map(stepRow)),
    node.children.length ? h('ol', { class: 'tree' }, ...node.children.map(nodeItem)) : '',
  );
}

function renderJourney(journey) {
  $('journey-title').textContent = journey.correlationId;
  $('journey-facts').textContent =
    `${time(journey.startedAt)} · ${ms(journey.durationMs)} · ${plural(journey.steps, 'step')}` +
    (journey.retries ? ` · ${plural(journey.retries, 'retry')}`.replace('retrys', 'retries') : '') +
    (journey.deadLetters ? ` · ${plural(journey.deadLetters, 'dead letter')}` : '') +
    (journey.truncated ? ' · oldest steps no longer kept' : '');
  $('journey-roots').replaceChildren(...journey.roots.map(nodeItem));
  $('journey-tree').hidden = false;
}

async function search(query) {
  const q = query.slice(0, MAX_QUERY);
  $('journey-q').value = q;
  try {
    const { journeys, mode } = await api(`journeys?${new URLSearchParams({ q })}`);
    if (mode === 'off') return status('journeys are off (EVENTS_JOURNEY=off)', 'bad');
    renderResults(journeys, q);
    status(q ? `${plural(journeys.length, 'journey')} found` : 'most recent journeys');
    // One match: open it at once.
    if (q && journeys.length === 1 && view.id !== journeys[0].correlationId) await show(journeys[0].correlationId);
  } catch (error) {
    status(`search failed: ${error.message}`, 'bad');
  }
}

async function show(id, quiet = false) {
  view.id = id;
  try {
    const journey = await api(`journeys/${encodeURIComponent(id)}`);
    if (view.id !== id) return;
    const key = JSON.stringify(journey);
    if (key === view.key) return;
    view.key = key;
    renderJourney(journey);
  } catch (error) {
    if (!quiet) status(`journey ${short(id)}: ${error.message}`, 'bad');
  }
}

async function replay(jobId) {
  try {
    const result = await api('dead-letters/replay', { ids: [jobId] });
    status(result.replayed.length ? `replayed job ${jobId} as a new job` : `job ${jobId} is no longer a dead letter`, result.replayed.length ? 'ok' : 'bad');
    if (view.id) await show(view.id, true);
  } catch (error) {
    status(`replay failed: ${error.message}`, 'bad');
  }
}

async function route() {
  const [kind, ...rest] = location.hash.slice(1).split('/');
  let parts;
  try {
    parts = rest.map((p) => decodeURIComponent(p));
  } catch {
    return status('the address holds an invalid percent-encoding', 'bad');
  }
  if (kind === 'journeys') await search(parts.join('/'));
  else if (kind === 'journey' && parts.length > 0) {
    $('journey-section').scrollIntoView();
    await show(parts.join('/'));
  }
}

export function startJourneys() {
  $('journey-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('journey-q').value.trim().slice(0, MAX_QUERY);
    const next = `#journeys/${encodeURIComponent(q)}`;
    if (location.hash === next) void search(q);
    else location.hash = next;
  });
  $('journey-close').addEventListener('click', () => {
    view.id = undefined;
    view.key = '';
    $('journey-tree').hidden = true;
  });
  addEventListener('hashchange', () => void route());
  const [kind] = location.hash.slice(1).split('/');
  void (kind === 'journeys' || kind === 'journey' ? route() : search(''));
  // An open journey grows while its messages are handled (retries, the broadcast): keep it fresh.
  setInterval(() => view.id && !$('journey-tree').hidden && void show(view.id, true), REFRESH_MS);
}
